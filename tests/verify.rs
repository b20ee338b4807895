//! Forward auth (`/auth/verify`) in process: the answers of the contract, where `next` may
//! point, what header values look like, the parent-domain cookie, and failing closed.

mod common;
mod smtp;

use common::*;
use guichet::mail::SmtpMailer;
use http::StatusCode;
use smtp::SmtpServer;

async fn behind_proxy(origins: &[&str]) -> Portal {
    let origins: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
    Portal::with(
        move |c| {
            c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            c.forward_auth.redirect_origins = origins;
        },
        |b| b,
    )
    .await
}

#[tokio::test]
async fn a_signed_in_visitor_is_named_and_checked_against_the_service() {
    let portal = Portal::start().await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let ok = portal.get("/auth/verify").session(&marie).send().await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("remote-user"), Some("ACME-001"));
    assert_eq!(ok.header("remote-name"), Some("Marie Tremblay"));
    assert_eq!(ok.header("remote-email"), Some("marie@acme.example"));
    assert_eq!(ok.header("remote-client"), Some("acme"));
    assert_eq!(ok.header("remote-services"), Some("collection,orders"));
    assert_eq!(ok.header("cache-control"), Some("no-store"));

    let subscribed = portal
        .get("/auth/verify?service=orders")
        .session(&marie)
        .send()
        .await;
    assert_eq!(subscribed.status, StatusCode::OK);
    let luc = portal.session_for(LUC, LUC_PW).await;
    let refused = portal
        .get("/auth/verify?service=orders")
        .session(&luc)
        .send()
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.header("remote-user").is_none());
    // Any method: proxies differ in what they send.
    let head = portal
        .call(http::Method::HEAD, "/auth/verify")
        .session(&marie)
        .send()
        .await;
    assert_eq!(head.status, StatusCode::OK);
}

#[tokio::test]
async fn anonymous_visitors_get_401_or_a_redirect_when_asked() {
    let portal = behind_proxy(&[]).await;
    let plain = portal.get("/auth/verify").accept_html().send().await;
    assert_eq!(
        plain.status,
        StatusCode::UNAUTHORIZED,
        "never a redirect unless asked"
    );
    assert_eq!(
        plain.location(),
        Some("/auth/login"),
        "the way, for nginx's auth_request_set"
    );

    // From the trusted proxy, the original URL on the portal's own origin becomes `next`.
    let own = format!("http://{}", portal.addr);
    let from_proxy = portal
        .get("/auth/verify?redirect=1")
        .header("X-Original-URL", format!("{own}/reports/2026?m=11"))
        .send()
        .await;
    assert_eq!(from_proxy.status, StatusCode::FOUND);
    assert_eq!(
        from_proxy.location(),
        Some("/auth/login?next=%2Freports%2F2026%3Fm%3D11")
    );
    let forwarded = portal
        .get("/auth/verify?redirect=1")
        .header("X-Forwarded-Proto", "http")
        .header("X-Forwarded-Host", portal.addr.to_string())
        .header("X-Forwarded-Uri", "/app/x")
        .send()
        .await;
    assert_eq!(forwarded.location(), Some("/auth/login?next=%2Fapp%2Fx"));

    // Another origin, not allowed: no `next` (never an open redirect).
    let elsewhere = portal
        .get("/auth/verify?redirect=1")
        .header("X-Original-URL", "https://evil.example/steal")
        .send()
        .await;
    assert_eq!(elsewhere.location(), Some("/auth/login"));
}

#[tokio::test]
async fn next_points_to_other_origins_only_when_configured() {
    let portal = behind_proxy(&["https://app.example"]).await;
    let allowed = portal
        .get("/auth/verify?redirect=1")
        .header("X-Original-URL", "https://app.example/orders/42")
        .send()
        .await;
    assert_eq!(
        allowed.location(),
        Some("/auth/login?next=https%3A%2F%2Fapp.example%2Forders%2F42")
    );
    // The sign-in then sends the visitor there.
    let signed_in = portal
        .post("/auth/login")
        .form(&[
            ("user_code", MARIE),
            ("password", MARIE_PW),
            ("next", "https://app.example/orders/42"),
        ])
        .send()
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location(), Some("https://app.example/orders/42"));
    // Browsers apply form-action to the redirect after a form post: the origin is listed.
    let page = portal.get("/auth/login").accept_html().send().await;
    let csp = page
        .header("content-security-policy")
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' https://app.example;"),
        "{csp}"
    );
    for other in [
        "https://app.example.evil.example/",
        "http://app.example/",
        "https://app.example:444/",
    ] {
        let refused = portal
            .post("/auth/login")
            .form(&[
                ("user_code", MARIE),
                ("password", MARIE_PW),
                ("next", other),
            ])
            .send()
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{other}");
    }
}

#[tokio::test]
async fn forwarded_urls_from_untrusted_clients_give_no_next() {
    let portal = Portal::start().await; // no trusted proxy
    let own = format!("http://{}", portal.addr);
    let reply = portal
        .get("/auth/verify?redirect=1")
        .header("X-Original-URL", format!("{own}/account"))
        .send()
        .await;
    assert_eq!(reply.location(), Some("/auth/login"));
}

#[tokio::test]
async fn a_restricted_session_is_sent_to_choose_a_password() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let portal = Portal::with(
        |_| {},
        move |b| b.mailer(SmtpMailer::from_url(&url).unwrap()),
    )
    .await;
    portal
        .post("/auth/password")
        .form(&[("user_code", LUC)])
        .send()
        .await;
    let letter = smtp.wait_for(1, std::time::Duration::from_secs(10)).await;
    let text = letter[0].text();
    let temporary = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| is_temporary_password(w))
        .expect("a temporary password")
        .to_owned();
    let restricted = portal
        .post("/auth/login")
        .form(&[("user_code", LUC), ("password", &temporary)])
        .send()
        .await
        .session();
    let plain = portal.get("/auth/verify").session(&restricted).send().await;
    assert_eq!(plain.status, StatusCode::FORBIDDEN);
    assert_eq!(plain.location(), Some("/auth/password/set"));
    assert!(plain.header("remote-user").is_none());
    let redirect = portal
        .get("/auth/verify?redirect=1")
        .session(&restricted)
        .send()
        .await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert_eq!(redirect.location(), Some("/auth/password/set"));
}

#[tokio::test]
async fn a_store_that_cannot_answer_gives_503() {
    let store = FlakyStore::default();
    let switch = store.sessions.clone();
    let portal = Portal::with(|_| {}, move |b| b.store(store)).await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    switch.break_it();
    let reply = portal.get("/auth/verify").session(&marie).send().await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.header("remote-user").is_none());
    switch.repair();
    assert_eq!(
        portal
            .get("/auth/verify")
            .session(&marie)
            .send()
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_parent_domain_cookie_is_named_for_it() {
    let mut config = light_config();
    config.mail.base_url = "https://portal.example.com".into();
    config.cookies.secure = true;
    config.cookies.domain = Some("example.com".into());
    config.validate().expect("the portal is inside the domain");
    assert_eq!(config.cookies.name(), "__Secure-guichet");
    config.cookies.domain = Some("other.example".into());
    assert!(
        config.validate().is_err(),
        "the portal must be inside the domain"
    );
    config.cookies.domain = Some(".example.com".into());
    assert!(config.validate().is_err());
}
