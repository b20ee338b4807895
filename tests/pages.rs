//! The pages around their forms, over real HTTP: the language switch and its cookie (never an
//! open redirect), the brand (name, logo, accent, stylesheet) under a CSP that allows exactly
//! the brand's origins, the favicon, escaping, and `next` kept on the way through "email me
//! my password".

mod common;

use common::*;
use http::StatusCode;

/// The language cookie's name.
const LANGUAGE: &str = "guichet-lang";

/// The pages' policy without a brand.
const STRICT_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
                          img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                          base-uri 'none'";

/// The `href` of the first `<a class="language" ...>` in a page, entities decoded.
fn language_switch(html: &str) -> String {
    let start = html
        .find("class=\"language\" href=\"")
        .unwrap_or_else(|| panic!("no language switch in:\n{html}"))
        + "class=\"language\" href=\"".len();
    let end = start + html[start..].find('"').expect("the end of the href");
    html[start..end].replace("&#38;", "&")
}

// ---------------------------------------------------------------------------------------------
// The language switch

#[tokio::test]
async fn every_page_offers_the_other_language_and_comes_back_to_itself() {
    let portal = Portal::start().await;
    let french = portal
        .get("/auth/login?next=%2Faccount%3Fa%3D1%26b%3D2")
        .send()
        .await
        .text();
    let switch = language_switch(&french);
    assert_eq!(
        switch,
        "/auth/language?to=en&next=%2Fauth%2Flogin%3Fnext%3D%252Faccount%253Fa%253D1%2526b%253D2",
        "the page's own query goes along"
    );
    assert!(french.contains("lang=\"en\" hreflang=\"en\">English</a>"));

    let switched = portal.get(&switch).send().await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(
        switched.location(),
        Some("/auth/login?next=%2Faccount%3Fa%3D1%26b%3D2")
    );
    let cookie = switched.set_cookie(LANGUAGE).expect("the choice is kept");
    assert_eq!(cookie.value, "en");
    assert_eq!(cookie.attribute("path"), Some("/"));
    assert_eq!(cookie.attribute("samesite"), Some("Lax"));
    assert!(cookie.has("httponly"));
    assert!(!cookie.has("secure"), "the test portal is plain http");
    assert!(
        cookie.attribute("max-age").is_some(),
        "remembered, not per session"
    );

    // The choice outranks the browser's French, on this page and the next.
    for path in ["/auth/login?next=%2Faccount", "/auth/password"] {
        let english = portal
            .get(path)
            .header("accept-language", "fr-CA,fr")
            .header("cookie", "guichet-lang=en")
            .send()
            .await
            .text();
        assert!(english.contains("<html lang=\"en\">"), "{path}");
        assert!(
            english.contains("lang=\"fr\" hreflang=\"fr\">Français</a>"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_form_answered_with_its_page_switches_back_to_the_form_with_its_next() {
    let portal = Portal::start().await;
    let failed = portal
        .post("/auth/login")
        .form(&[
            ("user_code", LUC),
            ("password", "wrong"),
            ("next", "/account"),
        ])
        .send()
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        language_switch(&failed.text()),
        "/auth/language?to=en&next=%2Fauth%2Flogin%3Fnext%3D%252Faccount"
    );
}

#[tokio::test]
async fn the_language_switch_is_no_open_redirect() {
    let portal = Portal::start().await;
    for next in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "javascript%3Aalert(1)",
        "%2Fa%0D%0ASet-Cookie%3A%20x%3D1",
    ] {
        let reply = portal
            .get(&format!("/auth/language?to=en&next={next}"))
            .accept_html()
            .send()
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{next}");
        assert_eq!(reply.location(), None, "{next}");
        assert!(reply.set_cookie(LANGUAGE).is_none(), "{next}");
    }
    let nowhere = portal.get("/auth/language?to=en").send().await;
    assert_eq!(nowhere.status, StatusCode::SEE_OTHER);
    assert_eq!(nowhere.location(), Some("/auth/login"), "no next: sign in");
    for to in ["de", "EN", ""] {
        let reply = portal
            .get(&format!("/auth/language?to={to}&next=%2F"))
            .send()
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{to:?}");
        assert!(reply.set_cookie(LANGUAGE).is_none());
    }
    let post = portal.post("/auth/language?to=en").send().await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_language_cookie_is_secure_with_the_session_cookie() {
    let portal = Portal::with(|c| c.cookies.secure = true, |b| b).await;
    let reply = portal.get("/auth/language?to=fr&next=%2F").send().await;
    let cookie = reply.set_cookie(LANGUAGE).expect("the choice is kept");
    assert!(cookie.has("secure"));
}

// ---------------------------------------------------------------------------------------------
// Brand, CSP, favicon

#[tokio::test]
async fn without_a_brand_the_pages_keep_the_strict_policy_and_name_the_portal() {
    let portal = Portal::start().await;
    let page = portal.get("/auth/login").send().await;
    assert_eq!(page.header("content-security-policy"), Some(STRICT_CSP));
    let html = page.text();
    assert!(
        html.contains("<title>Accès au site – Portail clients</title>"),
        "{html}"
    );
    assert!(html.contains("<p class=\"brand\">Portail clients</p>"));
    assert!(html.contains("<link rel=\"icon\" href=\"/auth/assets/favicon.svg\""));
    assert!(
        !html.contains("brand.css"),
        "no accent, no accent stylesheet"
    );
    assert!(!html.contains("style="), "nothing inline");

    let icon = portal.get("/auth/assets/favicon.svg").send().await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
    assert!(icon.text().starts_with("<svg"));
}

#[tokio::test]
async fn a_brand_shows_on_every_page_and_the_csp_allows_exactly_its_origins() {
    let portal = Portal::with(
        |c| {
            c.pages.brand.name = Some("Groupecho <Portail>".into());
            c.pages.brand.logo = Some("http://127.0.0.1:9/logo.svg?v=2&x=1".into());
            c.pages.brand.accent = Some("#1b5e20".into());
            c.pages.brand.stylesheet = Some("https://cdn.groupecho.example/portail.css".into());
        },
        |b| b,
    )
    .await;
    let page = portal.get("/auth/password").send().await;
    assert_eq!(
        page.header("content-security-policy"),
        Some(
            "default-src 'none'; style-src 'self' https://cdn.groupecho.example; \
             script-src 'self'; img-src 'self' http://127.0.0.1:9; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    );
    let html = page.text();
    // The name is text, escaped like everything else.
    assert!(
        html.contains("<title>Envoyez-moi mon mot de passe par courriel SVP – Groupecho &#60;Portail&#62;</title>"),
        "{html}"
    );
    assert!(html.contains(
        "<img class=\"logo\" src=\"http://127.0.0.1:9/logo.svg?v=2&#38;x=1\" alt=\"Groupecho &#60;Portail&#62;\">"
    ));
    assert!(html
        .contains("<link rel=\"stylesheet\" href=\"https://cdn.groupecho.example/portail.css\">"));
    let guichet_css = html.find("/auth/assets/guichet.css").unwrap();
    let accent = html
        .find("/auth/assets/brand.css?v=")
        .expect("the accent's stylesheet");
    let portal_css = html.find("portail.css").unwrap();
    assert!(
        guichet_css < accent && accent < portal_css,
        "guichet's, then the accent, then the portal's own"
    );

    let css = portal.get("/auth/assets/brand.css").send().await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.header("cache-control").unwrap().starts_with("public"));
    assert!(css.text().contains("--accent: #1b5e20;"), "{}", css.text());

    // Refusal pages too.
    let refused = portal.get("/auth/nowhere").accept_html().send().await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(refused
        .text()
        .contains("alt=\"Groupecho &#60;Portail&#62;\""));
    assert_eq!(
        refused.header("content-security-policy"),
        page.header("content-security-policy")
    );
}

#[tokio::test]
async fn a_logo_on_this_site_needs_no_other_origin() {
    let portal = Portal::with(
        |c| c.pages.brand.logo = Some("/static/logo.svg".into()),
        |b| b,
    )
    .await;
    let page = portal.get("/auth/login").send().await;
    assert_eq!(page.header("content-security-policy"), Some(STRICT_CSP));
    assert!(page
        .text()
        .contains("src=\"/static/logo.svg\" alt=\"Portail clients\""));
}

#[tokio::test]
async fn an_unreadable_accent_stops_the_build_with_the_contrast() {
    let mut config = light_config();
    config.mail.base_url = "https://portal.example".into();
    config.pages.brand.accent = Some("#7cb342".into());
    let error = builder(config)
        .directory(directory(&light_config()).await)
        .build()
        .expect_err("a light green under white text is refused");
    let error = error.to_string();
    assert!(error.contains("pages.brand.accent"), "{error}");
    assert!(error.contains("4.5:1"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// `next` through "email me my password"

#[tokio::test]
async fn next_survives_the_way_through_email_me_my_password() {
    let portal = Portal::start().await;
    let sign_in = portal
        .get("/auth/login?next=%2Faccount")
        .send()
        .await
        .text();
    assert!(
        sign_in.contains("<a href=\"/auth/password?next=%2Faccount\">"),
        "{sign_in}"
    );

    let request_page = portal
        .get("/auth/password?next=%2Faccount")
        .send()
        .await
        .text();
    assert!(request_page.contains("<input type=\"hidden\" name=\"next\" value=\"/account\">"));
    assert!(request_page.contains("<a href=\"/auth/login?next=%2Faccount\">"));

    let answered = portal
        .post("/auth/password")
        .form(&[("user_code", LUC), ("next", "/account")])
        .send()
        .await;
    assert_eq!(answered.status, StatusCode::OK);
    assert!(answered
        .text()
        .contains("<a href=\"/auth/login?next=%2Faccount\">"));

    // Checked as everywhere: a request with another site's address is refused.
    let evil = portal
        .post("/auth/password")
        .form(&[("user_code", LUC), ("next", "https://evil.example/")])
        .send()
        .await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
    let evil = portal
        .get("/auth/password?next=%2F%2Fevil.example")
        .send()
        .await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_flow_mounted_with_nest_service_sends_back_to_itself() {
    // axum's nest_service hands the flows the path without the prefix; `next` must still
    // name the page the browser asked for.
    let portal = Portal::start().await;
    let refused = portal.get("/auth/team?rows=7").accept_html().send().await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(
        refused.location(),
        Some("/auth/login?next=%2Fauth%2Fteam%3Frows%3D7")
    );
}
