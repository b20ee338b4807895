//! `guichet serve` as a server facing the internet: slow and idle clients cannot hold it, the
//! connection cap holds, bodies are bounded, SIGTERM drains it, and letters queued when it
//! dies survive to be delivered by the next start.

mod common;
mod desk;
mod smtp;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use desk::{Env, Served};
use guichet::password::Hasher;
use http::StatusCode;
use smtp::SmtpServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A deployment on SQLite with `server` appended to its configuration.
async fn deployment(dir: &Path, server: &str, smtp_url: Option<String>) -> Env {
    let state = vec![(
        "GUICHET_DATABASE_URL",
        format!("sqlite://{}", dir.join("guichet.db").display()),
    )];
    let mut env = Env::new(dir, &state, smtp_url);
    let toml =
        accounts_toml(&Hasher::new(&light_config().passwords).expect("valid parameters")).await;
    std::fs::write(dir.join("accounts.toml"), toml).unwrap();
    env.set(
        "GUICHET_USERS",
        dir.join("accounts.toml").display().to_string(),
    );
    std::fs::write(
        dir.join("guichet.toml"),
        format!("{}\n[server]\n{server}\n", desk::LIGHT_CONFIG),
    )
    .unwrap();
    env
}

/// Opens a connection and sends a request's first line and one header, never the end.
async fn half_sent(served: &Served) -> TcpStream {
    let mut stream = TcpStream::connect(served.remote.addr)
        .await
        .expect("connects");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: slow.example\r\n")
        .await
        .expect("writes");
    stream
}

/// Whether the server closed `stream` (EOF or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or similar before the close is fine; keep reading to the end.
            Ok(Ok(_)) => continue,
        }
    }
}

async fn sign_in(served: &Served, code: &str, password: &str) -> StatusCode {
    served.sign_in(code, password).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_half_sent_requests_do_not_keep_others_out_and_are_closed() {
    let dir = TempDir::new("serve-slow");
    let env = deployment(dir.path(), "header_read_timeout = \"3s\"", None).await;
    let served = env.serve().await;

    let mut slow = Vec::with_capacity(1000);
    for _ in 0..1000 {
        slow.push(half_sent(&served).await);
    }
    let started = Instant::now();
    let health = Remote::new(served.remote.addr).get("/health").send().await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(sign_in(&served, MARIE, MARIE_PW).await, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "served beside a thousand slow clients in {:?}",
        started.elapsed()
    );

    // The header-read timeout closes every one of them.
    let mut closed = 0;
    for stream in &mut slow {
        if closed_within(stream, Duration::from_secs(10)).await {
            closed += 1;
        }
    }
    assert_eq!(
        closed, 1000,
        "every half-sent request is closed by the header-read timeout"
    );
    assert_eq!(
        served.remote.get("/health").send().await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_new_clients_until_slots_free() {
    let dir = TempDir::new("serve-cap");
    let env = deployment(
        dir.path(),
        "max_connections = 20\nheader_read_timeout = \"2s\"",
        None,
    )
    .await;
    let served = env.serve().await;
    // The readiness check's connection stays open (keep-alive) and holds one of the 20 slots,
    // so one of the slow clients below already waits in the kernel's queue.
    let mut slow = Vec::new();
    for _ in 0..20 {
        slow.push(half_sent(&served).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    // A new client: `served.remote` would reuse the readiness check's open connection.
    let health = Remote::new(served.remote.addr).get("/health").send().await;
    assert_eq!(health.status, StatusCode::OK);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1000),
        "the 21st connection waited for a slot ({waited:?})"
    );
    assert!(
        waited < Duration::from_secs(6),
        "and got one when the slow ones timed out ({waited:?})"
    );
    drop(slow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let dir = TempDir::new("serve-idle");
    let env = deployment(dir.path(), "idle_timeout = \"1s\"", None).await;
    let served = env.serve().await;
    let mut stream = TcpStream::connect(served.remote.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: idle.example\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(800) && after < Duration::from_secs(4),
        "closed after about the idle timeout ({after:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_before_they_are_read() {
    let dir = TempDir::new("serve-body");
    let env = deployment(dir.path(), "", None).await;
    let served = env.serve().await;
    let mut stream = TcpStream::connect(served.remote.addr).await.unwrap();
    stream
        .write_all(
            b"POST /auth/login HTTP/1.1\r\nHost: big.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\nuser_code=",
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("answered without waiting for 10 MB")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_it_cleanly() {
    let dir = TempDir::new("serve-term");
    let env = deployment(dir.path(), "", None).await;
    let mut served = env.serve().await;
    assert_eq!(
        served.remote.get("/health").send().await.status,
        StatusCode::OK
    );
    let started = Instant::now();
    let status = served.terminate();
    assert!(
        status.success(),
        "exit status {status}: {}",
        served.log_text()
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        TcpStream::connect(served.remote.addr).await.is_err(),
        "no longer listening"
    );
}

/// A request answered just before SIGTERM is not lost: its background work (the pause, the
/// lookups, queueing the letter) finishes, and the drain sends the letter before exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_right_after_a_request_still_sends_its_letter() {
    let dir = TempDir::new("serve-term-letter");
    let smtp = SmtpServer::start().await;
    let env = deployment(dir.path(), "", Some(smtp.url())).await;
    let mut served = env.serve().await;
    let asked = served
        .remote
        .post("/auth/password")
        .form(&[("user_code", LUC)])
        .send()
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let status = served.terminate();
    assert!(
        status.success(),
        "exit status {status}: {}",
        served.log_text()
    );
    let letters = smtp.received();
    assert_eq!(
        letters.len(),
        1,
        "the letter left before the process exited: {}",
        served.log_text()
    );
    assert!(letters[0]
        .to
        .iter()
        .any(|to| to.contains("luc@acme.example")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn letters_queued_when_it_dies_are_delivered_by_the_next_start() {
    let dir = TempDir::new("serve-letters");
    let smtp = SmtpServer::start().await;
    smtp.stop();
    let env = deployment(dir.path(), "", Some(smtp.url())).await;
    let mut served = env.serve().await;
    let asked = served
        .remote
        .post("/auth/password")
        .form(&[("user_code", LUC)])
        .send()
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    // Give the request's background work time to queue the letter (SMTP is down).
    tokio::time::sleep(Duration::from_secs(3)).await;
    served.kill_hard();
    assert!(smtp.received().is_empty());

    smtp.restart().await;
    let _again = env.serve().await;
    let letters = smtp.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(letters.len(), 1, "the letter survived kill -9");
    assert!(letters[0]
        .to
        .iter()
        .any(|to| to.contains("luc@acme.example")));
    assert!(
        letters[0]
            .text()
            .split_whitespace()
            .any(is_temporary_password),
        "with a temporary password generated at delivery"
    );
}

/// Signs in as an API client: the status and the session cookie, if any.
async fn open_session(served: &Served, code: &str, password: &str) -> (StatusCode, Option<String>) {
    let signed_in = served.sign_in(code, password).await;
    (signed_in.status, signed_in.session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_sign_outs_and_a_chosen_password_survive_kill_9() {
    let dir = TempDir::new("serve-crash");
    let smtp = SmtpServer::start().await;
    let env = deployment(dir.path(), "", Some(smtp.url())).await;
    let mut served = env.serve().await;

    // Luc asks for a temporary password, signs in with it and chooses his own.
    let asked = served
        .remote
        .post("/auth/password")
        .form(&[("user_code", LUC)])
        .send()
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    let letters = smtp.wait_for(1, Duration::from_secs(30)).await;
    let temporary = letters[0]
        .text()
        .split_whitespace()
        .find(|w| is_temporary_password(w))
        .map(str::to_owned)
        .expect("a temporary password in the letter");
    let (status, restricted) = open_session(&served, LUC, &temporary).await;
    assert_eq!(status, StatusCode::OK);
    let restricted = restricted.expect("a restricted session");
    let chosen = served
        .remote
        .post("/auth/password/set")
        .accept_json()
        .session(&restricted)
        .form(&[("password", "Luc garde le sien")])
        .send()
        .await;
    assert!(chosen.status.is_success(), "{}", chosen.text());
    let luc = chosen
        .set_cookie(COOKIE)
        .map(|c| c.value.clone())
        .unwrap_or(restricted);

    // Marie signs in, then out; Luc stays signed in.
    let (_, marie) = open_session(&served, MARIE, MARIE_PW).await;
    let marie = marie.expect("a session");
    let out = served
        .remote
        .post("/auth/logout")
        .accept_json()
        .session(&marie)
        .send()
        .await;
    assert!(out.status.is_success() || out.status == StatusCode::SEE_OTHER);

    served.kill_hard();
    let again = env.serve().await;
    let verify = |session: String| {
        let remote = Remote::new(again.remote.addr);
        async move {
            remote
                .get("/auth/verify")
                .session(&session)
                .send()
                .await
                .status
        }
    };
    assert_eq!(verify(luc).await, StatusCode::OK, "Luc's session survived");
    assert_eq!(
        verify(marie).await,
        StatusCode::UNAUTHORIZED,
        "Marie's sign-out survived"
    );
    assert_eq!(
        open_session(&again, LUC, "Luc garde le sien").await.0,
        StatusCode::OK,
        "the chosen password survived"
    );
    assert_eq!(
        open_session(&again, LUC, LUC_PW).await.0,
        StatusCode::UNAUTHORIZED,
        "the old password did not come back"
    );
    assert_eq!(
        open_session(&again, LUC, &temporary).await.0,
        StatusCode::UNAUTHORIZED,
        "the temporary password stays used"
    );
}

/// The value of the Prometheus sample `name{labels}` in `text` (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_sign_ins_on_their_own_listener() {
    let dir = TempDir::new("serve-metrics");
    let mut env = deployment(dir.path(), "", None).await;
    let metrics = desk::free_addr();
    env.set("GUICHET_METRICS_ADDR", metrics.to_string());
    let served = env.serve().await;
    let scrape = || async { Remote::new(metrics).get("/metrics").send().await };

    assert_eq!(sign_in(&served, MARIE, MARIE_PW).await, StatusCode::OK);
    assert_eq!(
        sign_in(&served, LUC, "pas le bon").await,
        StatusCode::UNAUTHORIZED
    );
    let reply = scrape().await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "Prometheus text"
    );
    let text = reply.text();
    assert_eq!(
        sample(&text, r#"guichet_sign_ins_total{outcome="signed_in"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"guichet_sign_ins_total{outcome="failed"}"#),
        1.0,
        "{text}"
    );
    assert!(text.contains("guichet_request_duration_seconds_bucket{route=\"login\""));
    // Only on its own listener: the portal's address does not serve it.
    let public = Remote::new(served.remote.addr).get("/metrics").send().await;
    assert_eq!(public.status, StatusCode::NOT_FOUND);
}
