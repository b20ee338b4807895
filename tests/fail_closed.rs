//! Fail closed: when a store (sessions, credentials, or the application's directory) cannot
//! answer, guarded routes and sign-ins get `503` with `Retry-After`, never access; public
//! routes go on as anonymous; and everything works again once the store is back.

mod common;

use common::*;

use http::StatusCode;

fn assert_unavailable(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        reply.text()
    );
    let wait = reply
        .retry_after()
        .unwrap_or_else(|| panic!("{what}: Retry-After"));
    assert!(wait >= 1, "{what}");
    assert!(
        reply.set_cookie(COOKIE).is_none_or(|c| c.is_removal()),
        "{what}"
    );
}

/// What every broken store must lead to, for a session opened while it worked.
async fn refuses_while_broken(portal: &Portal, session: &str) {
    let account = portal.account_with(session).await;
    assert_unavailable(&account, "/account as an API client");
    assert_eq!(account.json()["error"], "unavailable");

    let page = portal
        .get("/account")
        .accept_html()
        .session(session)
        .send()
        .await;
    assert_unavailable(&page, "/account in a browser");
    assert!(page.location().is_none(), "no trip to the sign-in page");
    assert!(page
        .text()
        .contains("Le service est momentanément indisponible."));

    for path in ["/services/orders", "/services/collection", "/whoami"] {
        let reply = portal.get(path).session(session).send().await;
        assert_unavailable(&reply, path);
    }
    let reply = portal
        .get("/services/orders")
        .session(session)
        .oneshot("192.0.2.1:1")
        .await;
    assert_unavailable(&reply, "through oneshot");

    // The public page still answers, as for anyone.
    let home = portal.get("/").session(session).send().await;
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(home.text(), "anonymous");

    // Nobody signs in, even with the right password.
    let right = portal
        .post("/auth/login")
        .accept_json()
        .form(&[("user_code", LUC), ("password", LUC_PW)])
        .send()
        .await;
    assert_unavailable(&right, "sign-in with the right password");
}

/// When the store that fails is one every sign-in reads (directory, credentials), known and
/// unknown codes get the same 503, so an outage reveals nothing about which codes exist.
async fn every_sign_in_is_unavailable(portal: &Portal) {
    let mut bodies = Vec::new();
    for (user_code, password) in [(LUC, LUC_PW), (LUC, "wrong-password"), (NOBODY, LUC_PW)] {
        let reply = portal
            .post("/auth/login")
            .accept_json()
            .form(&[("user_code", user_code), ("password", password)])
            .send()
            .await;
        assert_unavailable(&reply, &format!("sign-in of {user_code}"));
        bodies.push(reply.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}

/// Once the store is back, the same session and new sign-ins work.
async fn works_again(portal: &Portal, session: &str) {
    let account = portal.account_with(session).await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(account.json()["user_code"], "ACME-001");
    portal.session_for(LUC, LUC_PW).await;
}

#[tokio::test]
async fn when_the_session_store_is_down_nobody_gets_in_and_public_pages_still_answer() {
    let store = FlakyStore::default();
    let switch = store.sessions.clone();
    let portal = Portal::with(|_| {}, move |b| b.store(store)).await;
    let session = portal.session_for(MARIE, MARIE_PW).await;

    switch.break_it();
    refuses_while_broken(&portal, &session).await;
    // A visitor without a cookie needs no store: asked to sign in as usual.
    assert_eq!(
        portal.get("/account").send().await.status,
        StatusCode::UNAUTHORIZED
    );
    // A wrong password is still just a wrong password (no session is needed to say so).
    let wrong = portal.sign_in(LUC, "wrong-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // Signing out cannot be confirmed: it says so rather than pretending.
    let out = portal.post("/auth/logout").session(&session).send().await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);

    switch.repair();
    works_again(&portal, &session).await;
}

#[tokio::test]
async fn when_the_credential_store_is_down_nobody_gets_in_and_public_pages_still_answer() {
    let store = FlakyStore::default();
    let switch = store.credentials.clone();
    let portal = Portal::with(|_| {}, move |b| b.store(store)).await;
    let session = portal.session_for(MARIE, MARIE_PW).await;

    switch.break_it();
    refuses_while_broken(&portal, &session).await;
    every_sign_in_is_unavailable(&portal).await;
    assert!(
        portal.guichet.disable(&code(LUC)).await.is_err(),
        "an operator is told the disable did not happen"
    );

    switch.repair();
    works_again(&portal, &session).await;
}

#[tokio::test]
async fn when_the_directory_is_down_nobody_gets_in_and_public_pages_still_answer() {
    let switch = Switch::default();
    let config = light_config();
    let accounts = FlakyDirectory {
        inner: directory(&config).await,
        switch: switch.clone(),
    };
    let portal = Portal::with(|_| {}, move |b| b.directory(accounts)).await;
    let session = portal.session_for(MARIE, MARIE_PW).await;

    switch.break_it();
    refuses_while_broken(&portal, &session).await;
    every_sign_in_is_unavailable(&portal).await;

    switch.repair();
    works_again(&portal, &session).await;
}

#[tokio::test]
async fn when_the_throttle_store_is_down_sign_ins_wait_rather_than_go_unthrottled() {
    let store = FlakyStore::default();
    let switch = store.throttle.clone();
    let portal = Portal::with(|_| {}, move |b| b.store(store)).await;
    let session = portal.session_for(MARIE, MARIE_PW).await;

    switch.break_it();
    every_sign_in_is_unavailable(&portal).await;
    // Sessions do not need the throttle: people already signed in carry on.
    assert_eq!(portal.account_with(&session).await.status, StatusCode::OK);

    switch.repair();
    portal.session_for(LUC, LUC_PW).await;
}
