//! Session lifecycle over real HTTP: a new id at every sign-in (no fixation), sign-out that
//! destroys the session on the server, and sessions that die when the account is disabled or
//! signed out everywhere.

mod common;

use common::*;
use http::StatusCode;

#[tokio::test]
async fn a_planted_session_id_is_never_adopted_at_sign_in() {
    let portal = Portal::start().await;
    let planted = forged_session_id();
    let reply = portal
        .post("/auth/login")
        .session(&planted)
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let issued = reply.session();
    assert_ne!(issued, planted);
    assert_eq!(
        portal.account_with(&planted).await.status,
        StatusCode::UNAUTHORIZED,
        "the planted id opens nothing"
    );
    assert_eq!(portal.account_with(&issued).await.status, StatusCode::OK);
}

#[tokio::test]
async fn someone_elses_real_session_planted_before_sign_in_is_ended_not_adopted() {
    let portal = Portal::start().await;
    // The attacker signs in with his own account and plants his cookie in Marie's browser.
    let attackers = portal.session_for(LUC, LUC_PW).await;
    let reply = portal
        .post("/auth/login")
        .session(&attackers)
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let maries = reply.session();
    assert_ne!(maries, attackers);

    // The attacker's id does not lead to Marie's account, nor to anything any more.
    let replay = portal.account_with(&attackers).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    let mine = portal.account_with(&maries).await;
    assert_eq!(mine.json()["user_code"], "ACME-001");
}

#[tokio::test]
async fn signing_in_again_issues_a_new_id_and_ends_the_previous_one() {
    let portal = Portal::start().await;
    let first = portal.session_for(MARIE, MARIE_PW).await;
    let reply = portal
        .post("/auth/login")
        .session(&first)
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    let second = reply.session();
    assert_ne!(first, second);
    assert_eq!(
        portal.account_with(&first).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(portal.account_with(&second).await.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server_and_clears_the_cookie() {
    let portal = Portal::start().await;
    let session = portal.session_for(MARIE, MARIE_PW).await;
    let reply = portal.post("/auth/logout").session(&session).send().await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/auth/login"));
    let cleared = reply.set_cookie(COOKIE).expect("the cookie is cleared");
    assert!(cleared.is_removal(), "{cleared:?}");
    assert_eq!(cleared.attribute("Path"), Some("/"));

    // A copy of the old cookie (a shared computer, a stolen cookie) opens nothing any more.
    let replay = portal.account_with(&session).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    let replay = portal
        .get("/account")
        .accept_html()
        .session(&session)
        .send()
        .await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
    assert_eq!(replay.location(), Some("/auth/login?next=%2Faccount"));
    let home = portal.get("/").session(&session).send().await;
    assert_eq!(home.text(), "anonymous");
}

#[tokio::test]
async fn signing_out_one_browser_leaves_the_others_signed_in() {
    let portal = Portal::start().await;
    let office = portal.session_for(MARIE, MARIE_PW).await;
    let home = portal.session_for(MARIE, MARIE_PW).await;
    let reply = portal
        .post("/auth/logout")
        .accept_json()
        .session(&office)
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["signed_out"], true);
    assert_eq!(
        portal.account_with(&office).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(portal.account_with(&home).await.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_without_a_session_is_harmless() {
    let portal = Portal::start().await;
    let reply = portal.post("/auth/logout").send().await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/auth/login"));
    let reply = portal
        .post("/auth/logout")
        .session(&forged_session_id())
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_dead_sessions_cookie_is_cleared_from_the_browser() {
    let portal = Portal::start().await;
    let reply = portal.account_with(&forged_session_id()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let cleared = reply.set_cookie(COOKIE).expect("a removal cookie");
    assert!(cleared.is_removal(), "{cleared:?}");
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_the_account() {
    let portal = Portal::start().await;
    let office = portal.session_for(MARIE, MARIE_PW).await;
    let phone = portal.session_for(MARIE, MARIE_PW).await;
    let luc = portal.session_for(LUC, LUC_PW).await;

    portal
        .guichet
        .sign_out_everywhere(&code(MARIE))
        .await
        .unwrap();

    for session in [&office, &phone] {
        assert_eq!(
            portal.account_with(session).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        portal.account_with(&luc).await.status,
        StatusCode::OK,
        "other accounts are untouched"
    );
    // Marie may sign in again at once.
    let fresh = portal.session_for(MARIE, MARIE_PW).await;
    assert_eq!(portal.account_with(&fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_refuses_its_sign_ins() {
    let portal = Portal::start().await;
    let session = portal.session_for(LUC, LUC_PW).await;
    let unknown = portal.sign_in(NOBODY, LUC_PW).await;

    portal.guichet.disable(&code(LUC)).await.unwrap();

    assert_eq!(
        portal.account_with(&session).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refused = portal.sign_in(LUC, LUC_PW).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.text_without(LUC),
        unknown.text_without(NOBODY),
        "a disabled account gets the usual failure answer"
    );
    assert!(refused.set_cookie(COOKIE).is_none());

    // Re-enabled: signing in works again, but the old session stays dead.
    portal.guichet.enable(&code(LUC)).await.unwrap();
    let fresh = portal.session_for(LUC, LUC_PW).await;
    assert_eq!(portal.account_with(&fresh).await.status, StatusCode::OK);
    assert_eq!(
        portal.account_with(&session).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_account_disabled_in_the_accounts_file_cannot_sign_in() {
    let portal = Portal::start().await;
    let reply = portal.sign_in(JEAN, JEAN_PW).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.set_cookie(COOKIE).is_none());
}

#[tokio::test]
async fn a_malformed_cookie_left_in_the_browser_does_not_spoil_the_next_sign_in() {
    let portal = Portal::start().await;
    let reply = portal
        .post("/auth/login")
        .session("garbage")
        .form(&[("user_code", MARIE), ("password", MARIE_PW)])
        .send()
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let session = reply.session();
    assert_eq!(portal.account_with(&session).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_applications_own_cookies_are_left_alone() {
    // Pages that never deal with the session must not answer with a Set-Cookie (it makes them
    // uncacheable), just because another cookie's name or value contains "guichet".
    let portal = Portal::start().await;
    for cookie in ["guichet_lang=fr", "theme=guichet-dark", "lang=fr"] {
        let reply = portal.get("/").header("cookie", cookie).send().await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            reply.headers.get("set-cookie").is_none(),
            "{cookie}: {:?}",
            reply
                .headers
                .get_all("set-cookie")
                .iter()
                .collect::<Vec<_>>()
        );
    }
}

/// `GET /account` as an API client sending `header` as its whole `Cookie` header.
async fn account_with_cookies(portal: &Portal, header: &str) -> Reply {
    portal
        .get("/account")
        .accept_json()
        .header("cookie", header.as_bytes())
        .send()
        .await
}

#[tokio::test]
async fn another_cookie_with_bytes_beyond_ascii_does_not_sign_anyone_out() {
    // A sibling application may set a cookie whose value is UTF-8 (browsers send it as is):
    // guichet reads its own cookie from the header and must not give up on the whole header.
    let portal = Portal::start().await;
    let session = portal.session_for(MARIE, MARIE_PW).await;
    for header in [
        format!("ville=Besançon; {COOKIE}={session}"),
        format!("{COOKIE}={session}; nom=\"Zoé\""),
    ] {
        let reply = account_with_cookies(&portal, &header).await;
        assert_eq!(reply.status, StatusCode::OK, "{header}: {}", reply.text());
        assert!(reply.headers.get("set-cookie").is_none(), "{header}");
    }
}

#[tokio::test]
async fn spaces_and_quotes_around_the_session_cookie_are_tolerated() {
    let portal = Portal::start().await;
    let session = portal.session_for(MARIE, MARIE_PW).await;
    for header in [
        format!("lang=fr;{COOKIE}={session}"),
        format!("lang=fr;  {COOKIE} = {session} ;theme=dark"),
        format!("{COOKIE}=\"{session}\""),
    ] {
        let reply = account_with_cookies(&portal, &header).await;
        assert_eq!(reply.status, StatusCode::OK, "{header}: {}", reply.text());
    }
    for header in [
        format!("x{COOKIE}={session}"),
        format!("{COOKIE}x={session}"),
        format!("{COOKIE}={session}x"),
    ] {
        let reply = account_with_cookies(&portal, &header).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{header}");
    }
}
