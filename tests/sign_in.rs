//! The sign-in desk over real HTTP: the page, signing in with a form or JSON, user-code
//! normalisation, the failure answer that tells nothing, cross-site refusals, the cookie's
//! attributes, and the audit hook.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use guichet::audit::FailureReason;
use guichet::store::memory::AccountsFile;
use guichet::store::Directory;
use guichet::{Account, AuditEvent, Email, StoreError, UserCode};
use http::StatusCode;

// ---------------------------------------------------------------------------------------------
// The sign-in page

#[tokio::test]
async fn the_sign_in_page_is_in_french_by_default_with_the_faq_tips() {
    let portal = Portal::start().await;
    let page = portal.get("/auth/login").send().await;

    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(html.contains("<html lang=\"fr\""), "{html}");
    assert!(html.contains("Accès au site"));
    assert!(html.contains("Entrez votre code d&#39;utilisateur"));
    assert!(html.contains("Entrez votre mot de passe"));
    assert!(html.contains("name=\"user_code\""));
    assert!(html.contains("name=\"password\" type=\"password\""));
    // The FAQ's "my user code or password does not work" tips.
    for tip in [
        "La casse que vous utilisez doit être la bonne (majuscules et minuscules)",
        "Vérifiez que tous les symboles contenus dans votre mot de passe sont utilisés",
        "Utilisez les touches numériques situées à la droite de votre clavier",
        "avant ou après le mot de passe",
    ] {
        assert!(html.contains(tip), "missing tip {tip:?}");
    }
    assert!(html.contains("Vous avez perdu votre code d&#39;utilisateur?"));
}

#[tokio::test]
async fn english_speakers_get_the_page_in_english() {
    let portal = Portal::start().await;
    for accept_language in ["en", "en-CA,en;q=0.9,fr;q=0.8", "de, en;q=0.5"] {
        let page = portal
            .get("/auth/login")
            .header("accept-language", accept_language)
            .send()
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(html.contains("<html lang=\"en\""), "{accept_language}");
        assert!(html.contains("Enter your user code"));
        assert!(html.contains("Letter case matters in the password"));
        assert!(html.contains("Num Lock on"));
        assert!(html.contains("Do not type a space before or after the password"));
    }
    // French wins when preferred, and for languages the desk does not speak.
    for accept_language in ["fr-CA, en;q=0.5", "de", "*"] {
        let page = portal
            .get("/auth/login")
            .header("accept-language", accept_language)
            .send()
            .await;
        assert!(
            page.text().contains("<html lang=\"fr\""),
            "{accept_language}"
        );
    }
}

#[tokio::test]
async fn the_sign_in_page_keeps_a_same_site_next() {
    let portal = Portal::start().await;
    let page = portal
        .get("/auth/login?next=%2Fservices%2Forders%3Fpage%3D2")
        .send()
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text()
            .contains("<input type=\"hidden\" name=\"next\" value=\"/services/orders?page=2\">"),
        "{}",
        page.text()
    );
}

#[tokio::test]
async fn the_sign_in_page_cannot_be_framed_cached_or_leak_the_referrer() {
    let portal = Portal::start().await;
    let page = portal.get("/auth/login").send().await;
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    // The stylesheet and script the page links to are served by the desk itself.
    for asset in ["/auth/assets/guichet.css", "/auth/assets/guichet.js"] {
        assert_eq!(
            portal.get(asset).send().await.status,
            StatusCode::OK,
            "{asset}"
        );
    }
}

#[tokio::test]
async fn a_next_pointing_to_another_site_is_refused_on_the_sign_in_page() {
    let portal = Portal::start().await;
    for next in [
        "//evil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example%2F",
        "%2F%5Cevil.example",
    ] {
        let page = portal.get(&format!("/auth/login?next={next}")).send().await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{next}");
        assert!(!page.text().contains("evil.example"), "{next}");
    }
}

// ---------------------------------------------------------------------------------------------
// Signing in

#[tokio::test]
async fn signing_in_with_a_form_sends_the_browser_to_next_with_a_fresh_cookie() {
    let portal = Portal::start().await;
    let reply = portal
        .post("/auth/login")
        .form(&[
            ("user_code", MARIE),
            ("password", MARIE_PW),
            ("next", "/services/orders?page=2"),
        ])
        .send()
        .await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/services/orders?page=2"));
    let cookie = reply.set_cookie(COOKIE).expect("a session cookie");
    let (id, code) = cookie.value.split_once('.').expect("id.user_code");
    assert_eq!(id.len(), 43, "256 random bits in base64url");
    assert_eq!(code, "QUNNRS0wMDE", "the user code, base64url");
    assert!(cookie.has("HttpOnly"), "{cookie:?}");
    assert_eq!(cookie.attribute("SameSite"), Some("Lax"));
    assert_eq!(cookie.attribute("Path"), Some("/"));
    assert!(!cookie.has("Secure"), "turned off for plain http");
    assert!(!cookie.has("Domain"), "{cookie:?}");
    assert!(
        !cookie.has("Max-Age") && !cookie.has("Expires"),
        "a browser-session cookie: ending the session is the server's decision"
    );

    let account = portal.account_with(&cookie.value).await;
    assert_eq!(account.status, StatusCode::OK);
    let account = account.json();
    assert_eq!(account["user_code"], "ACME-001");
    assert_eq!(account["name"], "Marie Tremblay");
    assert_eq!(account["client"], "acme");
    assert_eq!(
        account["services"],
        serde_json::json!(["collection", "orders"])
    );
}

#[tokio::test]
async fn without_next_signing_in_lands_on_the_home_page_signed_in() {
    let portal = Portal::start().await;
    let reply = portal.sign_in(MARIE, MARIE_PW).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/"));
    let home = portal.get("/").session(&reply.session()).send().await;
    assert_eq!(home.text(), "bonjour ACME-001");
}

#[tokio::test]
async fn an_api_client_signs_in_with_json_and_gets_json_back() {
    let portal = Portal::start().await;
    let reply = portal
        .post("/auth/login")
        .accept_json()
        .json(&serde_json::json!({ "user_code": LUC, "password": LUC_PW }))
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["signed_in"], true);
    assert_eq!(body["must_set_password"], false);
    assert_eq!(body["next"], "/");
    let account = portal.account_with(&reply.session()).await;
    assert_eq!(account.json()["user_code"], "ACME-002");

    // A JSON body from a client that does not ask for JSON back is answered like a form.
    let reply = portal
        .post("/auth/login")
        .json(&serde_json::json!({ "user_code": LUC, "password": LUC_PW, "next": "/account" }))
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/account"));
}

#[tokio::test]
async fn spaces_around_the_user_code_and_letter_case_do_not_matter() {
    let portal = Portal::start().await;
    for typed in ["  acme-001  ", "Acme-001", "\tACME-001 "] {
        let session = portal.session_for(typed, MARIE_PW).await;
        let account = portal.account_with(&session).await;
        assert_eq!(account.json()["user_code"], "ACME-001", "{typed:?}");
    }
}

#[tokio::test]
async fn a_user_code_typed_in_full_width_characters_signs_in() {
    let portal = Portal::start().await;
    let session = portal.session_for("ＡＣＭＥ－００１", MARIE_PW).await;
    let account = portal.account_with(&session).await;
    assert_eq!(account.json()["user_code"], "ACME-001");
}

#[tokio::test]
async fn the_password_is_checked_exactly_as_typed_never_trimmed() {
    let portal = Portal::start().await;
    for wrong in [
        " Bonjour-Marie-2026",
        "Bonjour-Marie-2026 ",
        " Bonjour-Marie-2026 ",
        "bonjour-marie-2026",
        "BONJOUR-MARIE-2026",
    ] {
        let reply = portal.sign_in(MARIE, wrong).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert!(reply.set_cookie(COOKIE).is_none());
    }
    // A password chosen with spaces around it must be typed with them.
    portal.session_for(SOPHIE, SOPHIE_PW).await;
    for wrong in ["Bonjour Sophie", " Bonjour Sophie", "Bonjour Sophie "] {
        let reply = portal.sign_in(SOPHIE, wrong).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Failures tell nothing

#[tokio::test]
async fn an_unknown_code_and_a_wrong_password_get_the_same_answer() {
    let portal = Portal::start().await;
    portal.guichet.disable(&code(SOPHIE)).await.unwrap();

    // The page fills the user code back in; apart from that echo, every failure is the same
    // page: unknown code, wrong password, no password yet, disabled in the file, disabled at
    // run time.
    let unknown = portal.sign_in(NOBODY, "whatever-1").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let expected = unknown.text_without(NOBODY);
    for (user_code, password) in [
        (MARIE, "wrong-password"),
        (RECEPTION, "whatever-1"),
        (JEAN, JEAN_PW),
        (SOPHIE, SOPHIE_PW),
    ] {
        let reply = portal.sign_in(user_code, password).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{user_code}");
        assert_eq!(reply.text_without(user_code), expected, "{user_code}");
        assert_eq!(reply.header("content-type"), unknown.header("content-type"));
        assert!(reply.set_cookie(COOKIE).is_none(), "{user_code}");
    }

    // In JSON nothing is echoed: the bodies are byte-identical.
    let json = |user_code: &'static str, password: &'static str| {
        portal
            .post("/auth/login")
            .accept_json()
            .json(&serde_json::json!({ "user_code": user_code, "password": password }))
            .send()
    };
    let unknown = json(NOBODY, "whatever-1").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.json()["error"], "sign_in_failed");
    for (user_code, password) in [
        (MARIE, "wrong-password"),
        (RECEPTION, "whatever-1"),
        (JEAN, JEAN_PW),
        (SOPHIE, SOPHIE_PW),
    ] {
        let reply = json(user_code, password).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{user_code}");
        assert_eq!(reply.body, unknown.body, "{user_code}");
    }
}

/// The directory of the tests without one account.
struct Without(AccountsFile, UserCode);

#[async_trait::async_trait]
impl Directory for Without {
    async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
        if *code == self.1 {
            return Ok(None);
        }
        self.0.account(code).await
    }

    async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
        let all = self.0.accounts_with_email(email).await?;
        Ok(all.into_iter().filter(|a| a.code != self.1).collect())
    }
}

async fn attempt(portal: &Portal, accept: &str) -> Reply {
    portal
        .post("/auth/login")
        .header("accept", accept)
        .form(&[
            ("user_code", "acme-002"),
            ("password", "not-his-password"),
            ("next", "/account"),
        ])
        .send()
        .await
}

#[tokio::test]
async fn the_same_code_gets_byte_identical_answers_whether_it_exists_or_not() {
    let exists = Portal::start().await;
    let config = light_config();
    let hidden = Without(directory(&config).await, code(LUC));
    let gone = Portal::with(|_| {}, move |b| b.directory(hidden)).await;

    for accept in ["text/html", "application/json"] {
        let wrong_password = attempt(&exists, accept).await;
        let unknown_code = attempt(&gone, accept).await;
        assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown_code.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong_password.body, unknown_code.body, "{accept}");
        let mut a = wrong_password.headers.clone();
        let mut b = unknown_code.headers.clone();
        a.remove("date");
        b.remove("date");
        assert_eq!(a, b, "{accept}");
    }
}

#[tokio::test]
async fn the_troubleshooting_tips_are_shown_again_after_a_failure() {
    let portal = Portal::start().await;
    let reply = portal
        .post("/auth/login")
        .form(&[
            ("user_code", " acme-001 "),
            ("password", "bonjour-marie-2026"),
            ("next", "/services/orders"),
        ])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let html = reply.text();
    assert!(html.contains("Code d&#39;utilisateur ou mot de passe invalide."));
    assert!(html.contains("La casse que vous utilisez doit être la bonne"));
    assert!(html.contains("touches numériques"));
    assert!(html.contains("<details class=\"tips\" open>"), "tips open");
    // The code comes back normalised; the password never does; next is kept.
    assert!(html.contains("value=\"ACME-001\""));
    assert!(!html.contains("bonjour-marie-2026"));
    assert!(html.contains("name=\"next\" value=\"/services/orders\""));

    let reply = portal
        .post("/auth/login")
        .accept_json()
        .header("accept-language", "en")
        .json(&serde_json::json!({ "user_code": MARIE, "password": "nope-nope" }))
        .send()
        .await;
    let body = reply.json();
    assert_eq!(body["message"], "Invalid user code or password.");
    assert_eq!(body["tips"].as_array().map(Vec::len), Some(4));
    assert!(body["tips"][0]
        .as_str()
        .unwrap()
        .contains("Letter case matters"));
}

// ---------------------------------------------------------------------------------------------
// Cross-site requests

#[tokio::test]
async fn a_cross_site_form_post_is_refused() {
    let portal = Portal::start().await;
    for site in ["cross-site", "same-site"] {
        let reply = portal
            .post("/auth/login")
            .header("sec-fetch-site", site)
            .form(&[("user_code", MARIE), ("password", MARIE_PW)])
            .send()
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{site}");
        assert!(reply.set_cookie(COOKIE).is_none(), "{site}");
    }
    let reply = portal
        .post("/auth/login")
        .header("sec-fetch-site", "same-origin")
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_origin_from_another_site_is_refused() {
    let portal = Portal::start().await;
    let reply = portal
        .post("/auth/login")
        .header("origin", "https://evil.example")
        .header("host", "portal.example")
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.set_cookie(COOKIE).is_none());

    let reply = portal
        .post("/auth/login")
        .header("origin", "https://evil.example")
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "the real Host differs");

    let reply = portal
        .post("/auth/login")
        .header("origin", format!("http://{}", portal.addr))
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "same origin passes");
}

#[tokio::test]
async fn a_cross_site_sign_out_is_refused_and_the_session_lives_on() {
    let portal = Portal::start().await;
    let session = portal.session_for(MARIE, MARIE_PW).await;
    let reply = portal
        .post("/auth/logout")
        .session(&session)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(portal.account_with(&session).await.status, StatusCode::OK);
}

#[tokio::test]
async fn clients_without_browser_headers_are_not_taken_for_cross_site() {
    let portal = Portal::start().await;
    // No Origin, no Sec-Fetch-Site: curl, a script. Nothing to forge, so it passes.
    let reply = portal.sign_in(MARIE, MARIE_PW).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

// ---------------------------------------------------------------------------------------------
// The cookie's safe default

#[tokio::test]
async fn by_default_the_cookie_is_secure_and_host_prefixed() {
    let portal = Portal::with(|config| config.cookies.secure = true, |b| b).await;
    let reply = portal.sign_in(MARIE, MARIE_PW).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.set_cookie(COOKIE).is_none());
    let cookie = reply.set_cookie("__Host-guichet").expect("__Host-guichet");
    assert!(cookie.has("Secure"), "{cookie:?}");
    assert!(cookie.has("HttpOnly"));
    assert_eq!(cookie.attribute("SameSite"), Some("Lax"));
    assert_eq!(cookie.attribute("Path"), Some("/"));
    assert!(!cookie.has("Domain"), "__Host- cookies have no Domain");

    let with_host_cookie = portal
        .get("/account")
        .accept_json()
        .header("cookie", format!("__Host-guichet={}", cookie.value))
        .send()
        .await;
    assert_eq!(with_host_cookie.status, StatusCode::OK);
    // The insecure name is not read when cookies are secure.
    let with_plain_name = portal.account_with(&cookie.value).await;
    assert_eq!(with_plain_name.status, StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------------
// Audit

#[tokio::test]
async fn the_audit_hook_hears_sign_ins_failures_and_sign_outs() {
    let events: Arc<Mutex<Vec<AuditEvent>>> = Arc::default();
    let heard = Arc::clone(&events);
    let portal = Portal::with(
        |_| {},
        move |b| b.on_audit(move |event| heard.lock().unwrap().push(event.clone())),
    )
    .await;

    portal.sign_in(NOBODY, "secret-typed-1").await;
    portal.sign_in(MARIE, "secret-typed-2").await;
    let session = portal.session_for(MARIE, MARIE_PW).await;
    let reply = portal.post("/auth/logout").session(&session).send().await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);

    let events = events.lock().unwrap().clone();
    let localhost: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    assert!(
        matches!(
            &events[0],
            AuditEvent::SignInFailed { user_code, ip, reason: FailureReason::UnknownCode }
                if user_code.as_str() == NOBODY && *ip == localhost
        ),
        "{events:?}"
    );
    assert!(
        matches!(
            &events[1],
            AuditEvent::SignInFailed { user_code, reason: FailureReason::WrongPassword, .. }
                if user_code.as_str() == MARIE
        ),
        "{events:?}"
    );
    assert!(
        matches!(
            &events[2],
            AuditEvent::SignedIn { user_code, ip } if user_code.as_str() == MARIE && *ip == localhost
        ),
        "{events:?}"
    );
    assert!(
        matches!(
            &events[3],
            AuditEvent::SignedOut { user_code: Some(user_code) } if user_code.as_str() == MARIE
        ),
        "{events:?}"
    );
    assert_eq!(events.len(), 4, "{events:?}");
    // Events never carry a password or a session id.
    let printed = format!("{events:?}");
    for secret in [
        "secret-typed-1",
        "secret-typed-2",
        MARIE_PW,
        session.as_str(),
    ] {
        assert!(!printed.contains(secret), "{secret} leaked into {printed}");
    }
}
