//! Sign-in throttling over real HTTP: per user code (known and unknown alike, cleared by a
//! success) and per client IP (believing proxy headers only from trusted proxies).

mod common;

use common::*;
use guichet::limit::Rate;
use http::StatusCode;

async fn attempt(portal: &Portal, user_code: &str, password: &str) -> Reply {
    portal
        .post("/auth/login")
        .accept_json()
        .form(&[("user_code", user_code), ("password", password)])
        .send()
        .await
}

fn three_failures_per_code(config: &mut guichet::Config) {
    config.sign_in.failures_per_code = Rate::per_hour(3);
}

#[tokio::test]
async fn the_fourth_failure_for_a_user_code_is_throttled_known_or_not() {
    let portal = Portal::with(three_failures_per_code, |b| b).await;
    let mut throttled = Vec::new();
    for user_code in [MARIE, NOBODY] {
        for _ in 0..3 {
            let reply = attempt(&portal, user_code, "wrong-password").await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{user_code}");
        }
        let reply = attempt(&portal, user_code, "wrong-password").await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{user_code}");
        let wait = reply.retry_after().expect("Retry-After");
        assert!(wait >= 1, "{wait}");
        assert!(
            wait <= 20 * 60,
            "one allowance comes back in 20 min: {wait}"
        );
        throttled.push(reply);
    }
    // Known and unknown codes are throttled alike and told alike.
    assert_eq!(throttled[0].body, throttled[1].body);
    assert_eq!(throttled[0].json()["error"], "throttled");
    let (a, b) = (
        throttled[0].retry_after().unwrap(),
        throttled[1].retry_after().unwrap(),
    );
    assert!(a.abs_diff(b) <= 1, "{a} vs {b}");

    // Even the right password waits: the throttle is checked before any password.
    let reply = attempt(&portal, " acme-001 ", MARIE_PW).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.set_cookie(COOKIE).is_none());

    // Other people are not locked out by someone guessing at Marie's code.
    portal.session_for(LUC, LUC_PW).await;
}

#[tokio::test]
async fn a_browser_that_is_throttled_is_told_to_come_back_later() {
    let portal = Portal::with(three_failures_per_code, |b| b).await;
    for _ in 0..3 {
        portal.sign_in(LUC, "wrong-password").await;
    }
    let reply = portal.sign_in(LUC, "wrong-password").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.retry_after().is_some_and(|s| s >= 1));
    assert!(reply
        .text()
        .contains("Trop de tentatives. Veuillez réessayer plus tard."));
}

#[tokio::test]
async fn a_success_clears_the_failure_count() {
    let portal = Portal::with(three_failures_per_code, |b| b).await;
    for _ in 0..2 {
        let reply = attempt(&portal, MARIE, "wrong-password").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    portal.session_for(MARIE, MARIE_PW).await;
    for n in 1..=3 {
        let reply = attempt(&portal, MARIE, "wrong-password").await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "failure {n} after the success"
        );
    }
    let reply = attempt(&portal, MARIE, "wrong-password").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn too_many_attempts_from_one_address_are_throttled() {
    let portal = Portal::with(
        |config| config.sign_in.attempts_per_ip = Rate::per_minute(5),
        |b| b,
    )
    .await;
    // Every attempt counts, whatever the code and whether it succeeds.
    portal.session_for(MARIE, MARIE_PW).await;
    for user_code in ["ACME-101", "ACME-102", "ACME-103", "ACME-104"] {
        let reply = attempt(&portal, user_code, "guess-1234").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{user_code}");
    }
    let reply = attempt(&portal, "ACME-105", "guess-1234").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let wait = reply.retry_after().expect("Retry-After");
    assert!(
        (1..=12).contains(&wait),
        "one attempt comes back in 12 s: {wait}"
    );
    let reply = attempt(&portal, LUC, LUC_PW).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);

    // Another address has its own allowance (through oneshot, which says who the peer is).
    let elsewhere = portal
        .post("/auth/login")
        .form(&[("user_code", LUC), ("password", LUC_PW)])
        .oneshot("198.51.100.7:40000")
        .await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);
}

async fn attempt_via(portal: &Portal, forwarded_for: &str, user_code: &str) -> StatusCode {
    portal
        .post("/auth/login")
        .header("x-forwarded-for", forwarded_for)
        .form(&[("user_code", user_code), ("password", "guess-1234")])
        .send()
        .await
        .status
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let portal = Portal::with(
        |config| {
            config.sign_in.attempts_per_ip = Rate::per_minute(3);
            config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        },
        |b| b,
    )
    .await;
    for n in 0..3 {
        let status = attempt_via(&portal, "203.0.113.1", &format!("ACME-20{n}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        attempt_via(&portal, "203.0.113.1", "ACME-299").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A second office behind the same proxy is not punished for the first one.
    assert_eq!(
        attempt_via(&portal, "203.0.113.2", "ACME-299").await,
        StatusCode::UNAUTHORIZED
    );
    // Hops the client wrote itself (left of what the proxy saw) change nothing.
    for spoofed in ["6.6.6.6, 203.0.113.1", "7.7.7.7, 203.0.113.1"] {
        assert_eq!(
            attempt_via(&portal, spoofed, "ACME-299").await,
            StatusCode::TOO_MANY_REQUESTS,
            "{spoofed}"
        );
    }
}

#[tokio::test]
async fn without_trusted_proxies_forwarded_headers_are_ignored() {
    let portal = Portal::with(
        |config| config.sign_in.attempts_per_ip = Rate::per_minute(3),
        |b| b,
    )
    .await;
    for (n, forwarded) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .iter()
        .enumerate()
    {
        let status = attempt_via(&portal, forwarded, &format!("ACME-30{n}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // A new X-Forwarded-For each time does not buy new attempts: the TCP peer is the key.
    assert_eq!(
        attempt_via(&portal, "203.0.113.4", "ACME-399").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn behind_a_proxy_that_writes_x_forwarded_for_a_client_cannot_choose_its_address() {
    // The usual proxy (nginx, most load balancers) appends the peer to X-Forwarded-For and
    // passes any other header through untouched: a `Forwarded` header is then the client's own
    // words, and must not give it a fresh allowance at every attempt.
    let portal = Portal::with(
        |config| {
            config.sign_in.attempts_per_ip = Rate::per_minute(3);
            config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        },
        |b| b,
    )
    .await;
    let mut statuses = Vec::new();
    for n in 0..5 {
        let reply = portal
            .post("/auth/login")
            .header("forwarded", format!("for=198.51.100.{n}"))
            .header("x-forwarded-for", "203.0.113.1")
            .form(&[("user_code", "ACME-400"), ("password", "guess-1234")])
            .send()
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "the client at 203.0.113.1 got 5 attempts out of 3 by writing Forwarded: {statuses:?}"
    );
}
