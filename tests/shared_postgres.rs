//! Two `guichet serve` processes on one PostgreSQL database, as a shared deployment runs them:
//! a session opened at one is honoured (and ended) at the other, failed sign-ins count
//! together, and when PostgreSQL stops both answer `503` where state is needed, keep their
//! public routes, and serve again once it is back, without a restart.
#![cfg(feature = "postgres")]

mod common;
mod desk;
mod postgres_server;

use common::*;
use desk::{Env, Served};
use guichet::password::Hasher;
use http::StatusCode;
use postgres_server::PostgresServer;

async fn sign_in(served: &Served, code: &str, password: &str) -> (StatusCode, Option<String>) {
    let signed_in = served.sign_in(code, password).await;
    (signed_in.status, signed_in.session)
}

/// The status `/auth/verify` settles on (each portal's read cache lives 1 s).
async fn verify_settles(served: &Served, session: &str, wanted: StatusCode) -> StatusCode {
    desk::settles(wanted, || served.verify(session)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_portals_share_sessions_and_limits_and_ride_out_a_database_outage() {
    let mut server = PostgresServer::start();
    let url = server.fresh_database("two_portals");
    let dir = TempDir::new("two-portals");
    let accounts =
        accounts_toml(&Hasher::new(&light_config().passwords).expect("valid parameters")).await;
    std::fs::write(dir.path().join("accounts.toml"), accounts).unwrap();
    let portal = |name: &str| {
        let home = dir.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        let mut env = Env::new(&home, &[("GUICHET_DATABASE_URL", url.clone())], None);
        env.set(
            "GUICHET_USERS",
            dir.path().join("accounts.toml").display().to_string(),
        );
        env
    };
    let (a, b) = (portal("a"), portal("b"));
    // Both import the same file at once: the migrations and the import are safe together.
    let (a, b) = tokio::join!(a.serve(), b.serve());

    // A session opened at A is honoured at B, and a sign-out at B ends it at A.
    let (status, marie) = sign_in(&a, MARIE, MARIE_PW).await;
    assert_eq!(status, StatusCode::OK);
    let marie = marie.expect("a session cookie");
    assert_eq!(b.verify(&marie).await, StatusCode::OK);
    let out = b
        .remote
        .post("/auth/logout")
        .accept_json()
        .session(&marie)
        .send()
        .await;
    assert!(out.status.is_success() || out.status == StatusCode::SEE_OTHER);
    assert_eq!(
        verify_settles(&a, &marie, StatusCode::UNAUTHORIZED).await,
        StatusCode::UNAUTHORIZED,
        "the sign-out at B reaches A within its cache bound"
    );

    // Failed sign-ins count together: 10 per hour per code (the default), split over both.
    for attempt in 0..10 {
        let at = if attempt % 2 == 0 { &a } else { &b };
        let (status, _) = sign_in(at, LUC, "not his password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    for at in [&a, &b] {
        let (status, _) = sign_in(at, LUC, LUC_PW).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "the eleventh attempt is throttled on either portal"
        );
    }

    // PostgreSQL stops: what needs state answers 503 (never access), public routes go on.
    let (_, again) = sign_in(&a, MARIE, MARIE_PW).await;
    let session = again.expect("a session cookie");
    server.stop();
    for at in [&a, &b] {
        assert_eq!(
            verify_settles(at, &session, StatusCode::SERVICE_UNAVAILABLE).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            sign_in(at, MARIE, MARIE_PW).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(at.remote.get("/health").send().await.status, StatusCode::OK);
    }

    // It comes back: both portals serve again, the session is still there.
    server.resume();
    for at in [&a, &b] {
        assert_eq!(
            verify_settles(at, &session, StatusCode::OK).await,
            StatusCode::OK,
            "service resumes without a restart"
        );
        assert_eq!(sign_in(at, MARIE, MARIE_PW).await.0, StatusCode::OK);
    }
}
