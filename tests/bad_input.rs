//! Bad input at the sign-in desk: each gets a clear 4xx (never a 500, never a sign-in), and
//! the server keeps working afterwards.

mod common;

use common::*;
use http::{Method, StatusCode};

/// The desk still signs people in after whatever came before.
async fn still_works(portal: &Portal) {
    let session = portal.session_for(MARIE, MARIE_PW).await;
    assert_eq!(portal.account_with(&session).await.status, StatusCode::OK);
}

/// Posts a raw sign-in body as an API client.
async fn post_raw(portal: &Portal, content_type: &str, body: impl Into<bytes::Bytes>) -> Reply {
    portal
        .post("/auth/login")
        .accept_json()
        .body(content_type, body)
        .send()
        .await
}

const FORM: &str = "application/x-www-form-urlencoded";

fn assert_refused(reply: &Reply, status: StatusCode, error: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
    assert_eq!(reply.json()["error"], error, "{what}");
    assert!(
        reply.json()["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: a message a person can read"
    );
    assert!(reply.set_cookie(COOKIE).is_none(), "{what}");
}

#[tokio::test]
async fn a_sign_in_with_a_missing_field_is_a_clear_400() {
    let portal = Portal::start().await;
    for (body, what) in [
        ("user_code=ACME-001", "no password"),
        ("password=Bonjour-Marie-2026", "no user code"),
        ("user_code=&password=Bonjour-Marie-2026", "empty user code"),
        (
            "user_code=+++&password=Bonjour-Marie-2026",
            "blank user code",
        ),
        ("user_code=ACME-001&password=", "empty password"),
        ("", "empty body"),
        ("&&&", "only separators"),
    ] {
        let reply = post_raw(&portal, FORM, body).await;
        assert_refused(&reply, StatusCode::BAD_REQUEST, "missing_field", what);
    }
    let reply = portal
        .post("/auth/login")
        .form(&[("user_code", MARIE)])
        .accept_html()
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("Entrez votre mot de passe."));
    still_works(&portal).await;
}

#[tokio::test]
async fn a_form_that_is_not_utf8_is_refused() {
    let portal = Portal::start().await;
    for body in [
        &b"user_code=%FF%FE&password=x"[..],
        &b"user_code=ACME-001&password=%C3%28"[..],
        &b"user_code=\xff\xfe&password=x"[..],
    ] {
        let reply = post_raw(&portal, FORM, body.to_vec()).await;
        assert_refused(
            &reply,
            StatusCode::BAD_REQUEST,
            "malformed_body",
            &String::from_utf8_lossy(body),
        );
    }
    still_works(&portal).await;
}

#[tokio::test]
async fn a_repeated_field_is_refused() {
    let portal = Portal::start().await;
    let reply = post_raw(
        &portal,
        FORM,
        "user_code=ACME-001&user_code=ACME-002&password=Bonjour-Marie-2026",
    )
    .await;
    assert_refused(
        &reply,
        StatusCode::BAD_REQUEST,
        "malformed_body",
        "two codes",
    );
    still_works(&portal).await;
}

#[tokio::test]
async fn a_megabyte_password_is_refused_by_the_body_limit() {
    let portal = Portal::start().await;
    let huge = "p".repeat(1024 * 1024);
    let reply = portal
        .post("/auth/login")
        .accept_json()
        .form(&[("user_code", MARIE), ("password", &huge)])
        .send()
        .await;
    assert_refused(
        &reply,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "1 MB",
    );
    still_works(&portal).await;
}

#[tokio::test]
async fn a_megabyte_body_is_refused_through_oneshot_too() {
    let portal = Portal::start().await;
    let huge = format!("user_code=ACME-001&password={}", "p".repeat(1024 * 1024));
    let reply = portal
        .post("/auth/login")
        .accept_json()
        .body(FORM, huge)
        .oneshot("192.0.2.1:1234")
        .await;
    assert_refused(
        &reply,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "1 MB",
    );
}

#[tokio::test]
async fn a_password_over_the_length_limit_in_a_small_body_is_a_400() {
    let portal = Portal::start().await;
    let long = "p".repeat(2000);
    let reply = portal
        .post("/auth/login")
        .accept_json()
        .form(&[("user_code", MARIE), ("password", &long)])
        .send()
        .await;
    assert_refused(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "2000-byte password",
    );
    still_works(&portal).await;
}

#[tokio::test]
async fn an_absurdly_long_user_code_is_refused() {
    let portal = Portal::start().await;
    let huge = "A".repeat(100 * 1024);
    let reply = portal
        .post("/auth/login")
        .accept_json()
        .form(&[("user_code", &huge), ("password", "x")])
        .send()
        .await;
    assert_refused(
        &reply,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "100 kB code",
    );

    for length in [65, 200, 2000] {
        let long = "A".repeat(length);
        let reply = portal
            .post("/auth/login")
            .accept_json()
            .form(&[("user_code", &long), ("password", "whatever-1")])
            .send()
            .await;
        assert_refused(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            &format!("{length}-char code"),
        );
    }
    // 64 characters is a possible code: an ordinary failure.
    let reply = portal.sign_in(&"A".repeat(64), "whatever-1").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    still_works(&portal).await;
}

#[tokio::test]
async fn control_and_invisible_characters_in_the_user_code_or_password_are_refused() {
    let portal = Portal::start().await;
    for user_code in [
        "ACME\u{0}-001",
        "ACME\n-001",
        "AC\u{200B}ME-001",
        "ACME-\u{202E}001",
    ] {
        let reply = portal
            .post("/auth/login")
            .accept_json()
            .form(&[("user_code", user_code), ("password", MARIE_PW)])
            .send()
            .await;
        assert_refused(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            &format!("{user_code:?}"),
        );
    }
    for password in [
        "Bonjour-Marie-2026\n",
        "Bonjour-Marie-2026\u{0}",
        "\tBonjour-Marie-2026",
        "Bonjour\u{7}Marie",
    ] {
        let reply = portal
            .post("/auth/login")
            .accept_json()
            .json(&serde_json::json!({ "user_code": MARIE, "password": password }))
            .send()
            .await;
        assert_refused(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            &format!("{password:?}"),
        );
    }
    still_works(&portal).await;
}

#[tokio::test]
async fn broken_json_is_a_clear_400() {
    let portal = Portal::start().await;
    for (body, error) in [
        (r#"{"user_code":"#, "malformed_body"),
        ("", "malformed_body"),
        ("[1,2]", "malformed_body"),
        (r#""ACME-001""#, "malformed_body"),
        (
            r#"{"user_code":"ACME-001","password":"x""#,
            "malformed_body",
        ),
        (r#"{"user_code":3,"password":"x"}"#, "invalid_field"),
        (
            r#"{"user_code":"ACME-001","password":["x"]}"#,
            "invalid_field",
        ),
        (r#"{"user_code":"ACME-001"}"#, "missing_field"),
    ] {
        let reply = post_raw(&portal, "application/json", body).await;
        assert_refused(&reply, StatusCode::BAD_REQUEST, error, body);
    }
    still_works(&portal).await;
}

#[tokio::test]
async fn a_next_to_anywhere_but_this_site_is_refused_and_nobody_is_signed_in() {
    let portal = Portal::start().await;
    let long = format!("/{}", "a".repeat(5000));
    for next in [
        "https://evil",
        "https://evil.example/account",
        "//evil",
        "/\\evil",
        "javascript:alert(1)",
        "/a\r\nSet-Cookie: x=1",
        long.as_str(),
    ] {
        let reply = portal
            .post("/auth/login")
            .accept_json()
            .form(&[("user_code", MARIE), ("password", MARIE_PW), ("next", next)])
            .send()
            .await;
        let what = format!("{:?}", &next[..next.len().min(40)]);
        assert_refused(&reply, StatusCode::BAD_REQUEST, "invalid_field", &what);
        assert!(reply.location().is_none(), "{what}");
    }
    let reply = portal
        .get(&format!("/auth/login?next={}", form_encode(&long)))
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    still_works(&portal).await;
}

#[tokio::test]
async fn an_unsupported_content_type_is_415() {
    let portal = Portal::start().await;
    let body = "user_code=ACME-001&password=Bonjour-Marie-2026";
    for content_type in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
    ] {
        let reply = post_raw(&portal, content_type, body).await;
        assert_refused(
            &reply,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            content_type,
        );
    }
    // Parameters and letter case of the media type are fine.
    let reply = portal
        .post("/auth/login")
        .body("Application/X-WWW-Form-Urlencoded; charset=UTF-8", body)
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_unknown_route_under_the_prefix_is_404() {
    let portal = Portal::start().await;
    for path in [
        "/auth/nope",
        "/auth/login/extra",
        "/auth/",
        "/auth/assets/secret.txt",
        "/auth/auth/login",
    ] {
        let reply = portal.get(path).accept_json().send().await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    still_works(&portal).await;
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_allowed_ones() {
    let portal = Portal::start().await;
    for (method, path) in [
        (Method::PUT, "/auth/login"),
        (Method::DELETE, "/auth/login"),
        (Method::PATCH, "/auth/login"),
        (Method::GET, "/auth/logout"),
    ] {
        let reply = portal.call(method.clone(), path).accept_json().send().await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let allow = reply.header("allow").unwrap_or_default();
        assert!(allow.contains("POST"), "{method} {path}: Allow: {allow}");
        assert!(
            !allow.contains(method.as_str()),
            "{method} {path}: Allow: {allow}"
        );
    }
    still_works(&portal).await;
}

#[tokio::test]
async fn malformed_session_cookies_are_treated_as_anonymous() {
    let portal = Portal::start().await;
    let too_long = "A".repeat(10_000);
    let values: Vec<Vec<u8>> = vec![
        b"guichet=".to_vec(),
        b"guichet=abc".to_vec(),
        format!("guichet={}", "!".repeat(43)).into_bytes(),
        format!("guichet={}", "A".repeat(44)).into_bytes(),
        format!("guichet={too_long}").into_bytes(),
        format!("guichet=\"{}\"", "A".repeat(42)).into_bytes(),
        b"guichet".to_vec(),
        b"guichet=\xc3\xa9t\xc3\xa9".to_vec(),
        b";;;=;guichet==;".to_vec(),
    ];
    for value in values {
        let what = String::from_utf8_lossy(&value)
            .chars()
            .take(60)
            .collect::<String>();
        let guarded = portal
            .get("/account")
            .accept_json()
            .header("cookie", &value)
            .send()
            .await;
        assert_eq!(guarded.status, StatusCode::UNAUTHORIZED, "{what}");
        let public = portal.get("/").header("cookie", &value).send().await;
        assert_eq!(public.status, StatusCode::OK, "{what}");
        assert_eq!(public.text(), "anonymous", "{what}");
    }
    still_works(&portal).await;
}

#[tokio::test]
async fn repeated_session_cookies_are_trusted_for_neither() {
    let portal = Portal::start().await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let luc = portal.session_for(LUC, LUC_PW).await;

    // One may have been planted by a sibling sub-domain: guichet cannot tell which.
    let in_one_header = portal
        .get("/account")
        .accept_json()
        .header("cookie", format!("guichet={luc}; other=1; guichet={marie}"))
        .send()
        .await;
    assert_eq!(in_one_header.status, StatusCode::UNAUTHORIZED);
    let in_two_headers = portal
        .get("/account")
        .accept_json()
        .header("cookie", format!("guichet={marie}"))
        .header("cookie", format!("guichet={}", forged_session_id()))
        .send()
        .await;
    assert_eq!(in_two_headers.status, StatusCode::UNAUTHORIZED);
    let public = portal
        .get("/")
        .header("cookie", format!("guichet={luc}; guichet={marie}"))
        .send()
        .await;
    assert_eq!(public.text(), "anonymous");

    // Each session alone is still Marie's and Luc's.
    assert_eq!(
        portal.account_with(&marie).await.json()["user_code"],
        "ACME-001"
    );
    assert_eq!(
        portal.account_with(&luc).await.json()["user_code"],
        "ACME-002"
    );
}
