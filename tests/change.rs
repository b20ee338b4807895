//! Changing one's password online (`/auth/password/change`): absent by default, as the FAQ
//! says; when the policy allows it, the current password is checked like a sign-in and a
//! success ends every other session.

mod common;

use common::*;
use http::StatusCode;
use serde_json::json;

async fn allowed() -> Portal {
    Portal::with(|c| c.passwords.online_change = true, |b| b).await
}

async fn change(portal: &Portal, session: &str, current: &str, new: &str) -> Reply {
    portal
        .post("/auth/password/change")
        .accept_json()
        .session(session)
        .json(&json!({ "current": current, "password": new }))
        .send()
        .await
}

#[tokio::test]
async fn it_does_not_exist_unless_the_policy_allows_it() {
    let portal = Portal::start().await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let page = portal
        .get("/auth/password/change")
        .session(&marie)
        .accept_html()
        .send()
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let post = change(&portal, &marie, MARIE_PW, "Un tout nouveau mot").await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    assert_eq!(
        portal.sign_in(MARIE, MARIE_PW).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn anonymous_and_restricted_visitors_are_turned_away_as_on_any_protected_route() {
    let portal = allowed().await;
    let browser = portal
        .get("/auth/password/change")
        .accept_html()
        .send()
        .await;
    assert_eq!(browser.status, StatusCode::SEE_OTHER);
    assert!(browser.location().unwrap().starts_with("/auth/login?next="));
    let api = portal
        .get("/auth/password/change")
        .accept_json()
        .send()
        .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_change_ends_every_other_session_and_rotates_this_one() {
    let portal = allowed().await;
    let other = portal.session_for(MARIE, MARIE_PW).await;
    let this = portal.session_for(MARIE, MARIE_PW).await;
    let form = portal
        .get("/auth/password/change")
        .session(&this)
        .accept_html()
        .send()
        .await;
    assert_eq!(form.status, StatusCode::OK);
    for field in ["name=\"current\"", "name=\"password\""] {
        assert!(form.text().contains(field), "{field}");
    }

    let changed = portal
        .post("/auth/password/change")
        .session(&this)
        .form(&[
            ("current", MARIE_PW),
            ("password", "Marie change le sien"),
            ("confirm", "Marie change le sien"),
            ("next", "/account"),
        ])
        .send()
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.text());
    assert_eq!(changed.location(), Some("/account"));
    let rotated = changed.session();
    assert_ne!(rotated, this, "the session id is rotated");
    assert_eq!(portal.account_with(&rotated).await.status, StatusCode::OK);
    assert_eq!(
        portal.account_with(&this).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        portal.account_with(&other).await.status,
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    assert_eq!(
        portal.sign_in(MARIE, MARIE_PW).await.status,
        StatusCode::UNAUTHORIZED,
        "the old password fails"
    );
    assert_eq!(
        portal.sign_in(MARIE, "Marie change le sien").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_wrong_current_password_is_a_failed_sign_in_and_is_throttled() {
    let portal = allowed().await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let wrong = change(&portal, &marie, "pas le bon", "Un tout nouveau mot").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json()["error"], "wrong_current_password");
    let page = portal
        .post("/auth/password/change")
        .session(&marie)
        .form(&[
            ("current", "pas le bon"),
            ("password", "Un tout nouveau mot"),
        ])
        .send()
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the form again for a browser"
    );

    let mut throttled = false;
    for _ in 0..12 {
        if change(&portal, &marie, "pas le bon", "Un tout nouveau mot")
            .await
            .status
            == StatusCode::TOO_MANY_REQUESTS
        {
            throttled = true;
            break;
        }
    }
    assert!(
        throttled,
        "wrong current passwords count against the sign-in throttle"
    );
    assert_eq!(
        portal.sign_in(MARIE, MARIE_PW).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the same throttle as signing in"
    );
}

#[tokio::test]
async fn the_new_password_follows_the_rules_of_a_chosen_one() {
    let portal = allowed().await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    for bad in ["court", "ACME-001", "acme-001"] {
        let refused = change(&portal, &marie, MARIE_PW, bad).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            refused.text()
        );
    }
    let mismatch = portal
        .post("/auth/password/change")
        .accept_json()
        .session(&marie)
        .json(&json!({ "current": MARIE_PW, "password": "Un tout nouveau mot", "confirm": "Un autre" }))
        .send()
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        portal.account_with(&marie).await.status,
        StatusCode::OK,
        "nothing changed"
    );
}

#[tokio::test]
async fn a_cross_site_post_is_refused() {
    let portal = allowed().await;
    let marie = portal.session_for(MARIE, MARIE_PW).await;
    let forged = portal
        .post("/auth/password/change")
        .session(&marie)
        .header("Origin", "https://evil.example")
        .form(&[("current", MARIE_PW), ("password", "Choisi par un autre")])
        .send()
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        portal.sign_in(MARIE, MARIE_PW).await.status,
        StatusCode::SEE_OTHER
    );
}
