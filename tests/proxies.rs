//! Forward auth behind real reverse proxies: the recipes of `recipes/` (nginx's
//! `auth_request`, Caddy's `forward_auth`) run unchanged but for their addresses, in front of
//! `guichet serve` and a small application that reports the headers it receives. A visitor is
//! sent to sign in, signs in through the proxy, reaches the application as themselves (and not
//! as whoever they claim to be), is refused a service their account lacks, and is sent back to
//! sign in after signing out. `scripts/test.sh` installs nginx and Caddy when missing.

mod common;
mod desk;
mod redis_server;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use desk::{free_addr, Env, Served};
use guichet::password::Hasher;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::json;

/// The application behind the proxy: answers every request with the path and the `Remote-*`
/// headers it received, as JSON.
async fn application() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                    let header = |name: &str| {
                        request
                            .headers()
                            .get_all(name)
                            .iter()
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                            .collect::<Vec<_>>()
                    };
                    let body = json!({
                        "path": request.uri().to_string(),
                        "user": header("remote-user"),
                        "name": header("remote-name"),
                        "email": header("remote-email"),
                        "client": header("remote-client"),
                        "services": header("remote-services"),
                    });
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body.to_string()))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The recipe at `recipes/{name}` with its example addresses replaced.
fn recipe(
    name: &str,
    listen: SocketAddr,
    guichet: SocketAddr,
    app: SocketAddr,
    dir: &Path,
) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recipes")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("127.0.0.1:8000", &listen.to_string())
        .replace("127.0.0.1:3000", &guichet.to_string())
        .replace("127.0.0.1:8080", &app.to_string())
        .replace("/etc/nginx/", &format!("{}/", dir.display()))
}

/// A proxy process; killed when dropped.
struct Proxy {
    child: Child,
    log: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    async fn wait_until_listening(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the proxy exited ({status}):\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the proxy did not listen within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn program(name: &str) -> String {
    for folder in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = Path::new(folder).join(name);
        if path.exists() {
            return path.display().to_string();
        }
    }
    panic!("{name} is not installed: scripts/test.sh installs it");
}

async fn nginx(dir: &Path, listen: SocketAddr, guichet: SocketAddr, app: SocketAddr) -> Proxy {
    std::fs::write(
        dir.join("guichet-identity.conf"),
        recipe("guichet-identity.conf", listen, guichet, app, dir),
    )
    .unwrap();
    std::fs::write(
        dir.join("site.conf"),
        recipe("nginx.conf", listen, guichet, app, dir),
    )
    .unwrap();
    for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.join("tmp").join(temp)).unwrap();
    }
    let d = dir.display();
    // Unprivileged and self-contained: its own pid file, logs and temp folders.
    let main = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n access_log {d}/access.log;\n client_body_temp_path {d}/tmp/body;\n\
         proxy_temp_path {d}/tmp/proxy;\n fastcgi_temp_path {d}/tmp/fastcgi;\n\
         uwsgi_temp_path {d}/tmp/uwsgi;\n scgi_temp_path {d}/tmp/scgi;\n include {d}/site.conf;\n}}\n"
    );
    let config = dir.join("nginx.conf");
    std::fs::write(&config, main).unwrap();
    let log = dir.join("nginx.out");
    let out = std::fs::File::create(&log).unwrap();
    let mut command = Command::new(program("nginx"));
    command
        .arg("-c")
        .arg(&config)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    let mut proxy = Proxy {
        child: command.spawn().expect("nginx starts"),
        log,
    };
    proxy.wait_until_listening(listen).await;
    proxy
}

async fn caddy(dir: &Path, listen: SocketAddr, guichet: SocketAddr, app: SocketAddr) -> Proxy {
    let global = format!(
        "{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {}\n}}\n\n",
        dir.join("caddy-data").display()
    );
    let config = dir.join("Caddyfile");
    std::fs::write(
        &config,
        global + &recipe("Caddyfile", listen, guichet, app, dir),
    )
    .unwrap();
    let log = dir.join("caddy.out");
    let out = std::fs::File::create(&log).unwrap();
    let mut command = Command::new(program("caddy"));
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&config)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("xdg-data"))
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    let mut proxy = Proxy {
        child: command.spawn().expect("caddy starts"),
        log,
    };
    proxy.wait_until_listening(listen).await;
    proxy
}

/// `guichet serve` behind a proxy at `listen`: the proxy is trusted, the public origin is
/// the proxy's.
async fn desk(dir: &Path, listen: SocketAddr) -> (Env, Served) {
    let state = vec![
        ("GUICHET_REDIS_URL", redis_server::shared().url()),
        ("GUICHET_REDIS_PREFIX", redis_server::unique_prefix("proxy")),
    ];
    let mut env = Env::new(dir, &state, None);
    let toml =
        accounts_toml(&Hasher::new(&light_config().passwords).expect("valid parameters")).await;
    std::fs::write(dir.join("accounts.toml"), toml).unwrap();
    env.set(
        "GUICHET_USERS",
        dir.join("accounts.toml").display().to_string(),
    );
    env.set("GUICHET_BASE_URL", format!("http://{listen}"));
    let config = format!(
        "trusted_proxies = [\"127.0.0.1/32\"]\n{}",
        desk::LIGHT_CONFIG
    );
    std::fs::write(dir.join("guichet.toml"), config).unwrap();
    let served = env.serve().await;
    (env, served)
}

/// What the application answered: who it was told is there.
fn seen(reply: &Reply) -> serde_json::Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// The journey through a proxy at `through`; `sign_in_status` is how the proxy sends an
/// anonymous visitor to sign in (nginx: the 302 of its `@guichet_sign_in`; Caddy: guichet's
/// own 302).
async fn journey(env: &Env, through: SocketAddr) {
    let proxy = Remote::new(through);

    // Anonymous: sent to the sign-in page, with the way back.
    let anonymous = proxy
        .get("/reports/2026?month=11")
        .accept_html()
        .send()
        .await;
    assert_eq!(anonymous.status, StatusCode::FOUND, "{}", anonymous.text());
    let sign_in = anonymous.location().expect("a Location").to_owned();
    assert_eq!(sign_in, "/auth/login?next=%2Freports%2F2026%3Fmonth%3D11");
    let page = proxy.get(&sign_in).accept_html().send().await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("name=\"user_code\""));

    // Signing in through the proxy lands back where the visitor was going.
    let signed_in = proxy
        .post("/auth/login")
        .form(&[
            ("user_code", MARIE),
            ("password", MARIE_PW),
            ("next", "/reports/2026?month=11"),
        ])
        .send()
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text()
    );
    assert_eq!(signed_in.location(), Some("/reports/2026?month=11"));
    let marie = signed_in.session();

    // The application sees who is there, and not who the visitor claims to be.
    let reached = proxy
        .get("/reports/2026?month=11")
        .session(&marie)
        .header("Remote-User", "ADMIN-001")
        .header("Remote-Services", "everything")
        .send()
        .await;
    let who = seen(&reached);
    assert_eq!(who["path"], "/reports/2026?month=11");
    assert_eq!(who["user"], json!(["ACME-001"]));
    assert_eq!(who["name"], json!(["Marie Tremblay"]));
    assert_eq!(who["email"], json!(["marie@acme.example"]));
    assert_eq!(who["client"], json!(["acme"]));
    assert_eq!(who["services"], json!(["collection,orders"]));
    assert_eq!(
        seen(&proxy.get("/orders/42").session(&marie).send().await)["user"],
        json!(["ACME-001"])
    );

    // A service the account lacks is refused.
    let luc = proxy
        .post("/auth/login")
        .form(&[("user_code", LUC), ("password", LUC_PW)])
        .send()
        .await
        .session();
    assert_eq!(
        seen(&proxy.get("/reports/").session(&luc).send().await)["user"],
        json!(["ACME-002"])
    );
    let refused = proxy.get("/orders/42").session(&luc).send().await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        !refused.text().contains("ACME-002\""),
        "the application never answered"
    );

    // A restricted session (a password read out on the phone) is sent to choose a password.
    let issued = env.run(&["password", "issue", RECEPTION, "--json"]).json();
    let reception = proxy
        .post("/auth/login")
        .form(&[
            ("user_code", RECEPTION),
            ("password", issued["password"].as_str().unwrap()),
        ])
        .send()
        .await
        .session();
    let restricted = proxy.get("/reports/").session(&reception).send().await;
    assert_eq!(
        restricted.status,
        StatusCode::SEE_OTHER,
        "{}",
        restricted.text()
    );
    assert_eq!(restricted.location(), Some("/auth/password/set"));

    // After signing out, back to the sign-in page.
    let out = proxy.post("/auth/logout").session(&marie).send().await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = proxy.get("/reports/").session(&marie).send().await;
    assert_eq!(after.status, StatusCode::FOUND);
    assert_eq!(after.location(), Some("/auth/login?next=%2Freports%2F"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_protects_an_application() {
    let dir = TempDir::new("nginx");
    let listen = free_addr();
    let app = application().await;
    let (env, served) = desk(dir.path(), listen).await;
    let _nginx = nginx(dir.path(), listen, served.remote.addr, app).await;
    journey(&env, listen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_forward_auth_protects_an_application() {
    let dir = TempDir::new("caddy");
    let listen = free_addr();
    let app = application().await;
    let (env, served) = desk(dir.path(), listen).await;
    let _caddy = caddy(dir.path(), listen, served.remote.addr, app).await;
    journey(&env, listen).await;
}
