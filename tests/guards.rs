//! Guards over real HTTP (and through `tower::ServiceExt::oneshot`): who is sent to the
//! sign-in page, who gets 401 or 403, and who gets through.

mod common;

use common::*;
use http::StatusCode;

#[tokio::test]
async fn an_anonymous_browser_is_sent_to_sign_in_and_brought_back_afterwards() {
    let portal = Portal::start().await;
    let refused = portal.get("/account").accept_html().send().await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location(), Some("/auth/login?next=%2Faccount"));

    let refused = portal
        .get("/services/collection?page=2&sort=date")
        .accept_html()
        .send()
        .await;
    let location = refused.location().expect("a Location").to_owned();
    assert_eq!(
        location,
        "/auth/login?next=%2Fservices%2Fcollection%3Fpage%3D2%26sort%3Ddate"
    );

    // The sign-in page keeps where the person was going, and signing in goes back there.
    let page = portal.get(&location).accept_html().send().await;
    assert_eq!(page.status, StatusCode::OK);
    // (The templates write `&` as the numeric reference `&#38;`.)
    assert!(page
        .text()
        .contains("name=\"next\" value=\"/services/collection?page=2&#38;sort=date\""));
    let reply = portal
        .post("/auth/login")
        .form(&[
            ("user_code", MARIE),
            ("password", MARIE_PW),
            ("next", "/services/collection?page=2&sort=date"),
        ])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.location(),
        Some("/services/collection?page=2&sort=date")
    );
    let service = portal
        .get("/services/collection?page=2&sort=date")
        .accept_html()
        .session(&reply.session())
        .send()
        .await;
    assert_eq!(service.status, StatusCode::OK);
}

#[tokio::test]
async fn a_very_long_query_is_dropped_from_next_but_the_path_is_kept() {
    let portal = Portal::start().await;
    let path = format!("/account?q={}", "x".repeat(3000));
    let refused = portal.get(&path).accept_html().send().await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location(), Some("/auth/login?next=%2Faccount"));
}

#[tokio::test]
async fn an_anonymous_api_client_gets_401_json() {
    let portal = Portal::start().await;
    for accept in [None, Some("application/json"), Some("*/*")] {
        let mut call = portal.get("/account");
        if let Some(accept) = accept {
            call = call.header("accept", accept);
        }
        let refused = call.send().await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{accept:?}");
        assert_eq!(refused.header("content-type"), Some("application/json"));
        assert_eq!(refused.json()["error"], "sign_in_required", "{accept:?}");
        assert!(refused.location().is_none());
    }
}

#[tokio::test]
async fn a_service_the_person_does_not_subscribe_to_is_forbidden() {
    let portal = Portal::start().await;
    let luc = portal.session_for(LUC, LUC_PW).await;

    let refused = portal
        .get("/services/orders")
        .accept_json()
        .session(&luc)
        .send()
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["error"], "missing_service");

    // A browser gets a page saying so, not a trip to the sign-in page (Luc is signed in).
    let refused = portal
        .get("/services/orders")
        .accept_html()
        .session(&luc)
        .send()
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.location().is_none());
    assert!(refused
        .text()
        .contains("Vous n&#39;êtes pas abonné(e) à ce service."));

    // His own service works.
    let allowed = portal
        .get("/services/collection")
        .session(&luc)
        .send()
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(allowed.text(), "/services/collection for ACME-002");
}

#[tokio::test]
async fn a_subscriber_reaches_the_service() {
    let portal = Portal::start().await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let allowed = portal.get("/services/orders").session(&marie).send().await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(allowed.text(), "/services/orders for ACME-001");
}

#[tokio::test]
async fn an_anonymous_visitor_of_a_service_is_asked_to_sign_in_not_refused() {
    let portal = Portal::start().await;
    let refused = portal.get("/services/orders").send().await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let refused = portal.get("/services/orders").accept_html().send().await;
    assert_eq!(
        refused.location(),
        Some("/auth/login?next=%2Fservices%2Forders")
    );
}

#[tokio::test]
async fn the_identity_extractor_alone_protects_a_route() {
    let portal = Portal::start().await;
    assert_eq!(
        portal.get("/whoami").send().await.status,
        StatusCode::UNAUTHORIZED
    );
    let refused = portal.get("/whoami").accept_html().send().await;
    assert_eq!(refused.location(), Some("/auth/login?next=%2Fwhoami"));
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let allowed = portal.get("/whoami").session(&marie).send().await;
    assert_eq!(allowed.text(), "ACME-001");
}

#[tokio::test]
async fn a_public_route_knows_who_is_signed_in_without_requiring_it() {
    let portal = Portal::start().await;
    let anonymous = portal.get("/").send().await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.text(), "anonymous");
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let known = portal.get("/").session(&marie).send().await;
    assert_eq!(known.text(), "bonjour ACME-001");
}

#[tokio::test]
async fn guards_answer_the_same_through_tower_oneshot() {
    let portal = Portal::start().await;
    let peer = "192.0.2.10:50000";
    let refused = portal.get("/account").oneshot(peer).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let refused = portal.get("/account").accept_html().oneshot(peer).await;
    assert_eq!(refused.location(), Some("/auth/login?next=%2Faccount"));

    let signed_in = portal
        .post("/auth/login")
        .form(&[("user_code", LUC), ("password", LUC_PW)])
        .oneshot(peer)
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let luc = signed_in.session();

    let account = portal
        .get("/account")
        .accept_json()
        .session(&luc)
        .oneshot(peer)
        .await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(account.json()["user_code"], "ACME-002");
    let refused = portal
        .get("/services/orders")
        .session(&luc)
        .oneshot(peer)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // A session opened in-process works over the network too: one desk, one store.
    assert_eq!(portal.account_with(&luc).await.status, StatusCode::OK);
}
