//! Headless Chromium driven by Debian's chromedriver (`scripts/test.sh` installs both), one
//! chromedriver per test on a free port; and the two chromedriver commands WebDriver does not
//! have: the browser's console log and a DevTools command.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use http::Method;
use serde_json::{json, Value};
use url::{ParseError, Url};

use super::{free_addr, Language};

/// `name` on the `PATH`.
fn program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: scripts/test.sh installs chromium and chromium-driver"
            )
        })
}

/// A chromedriver process and every browser it started: they share its process group, killed
/// as a whole when this is dropped (a panicking test leaves nothing behind).
pub struct Chromedriver {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (`process_group(0)` below).
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is shared.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

impl Chromedriver {
    /// Starts chromedriver on a free port of 127.0.0.1 and waits until it listens.
    pub fn start(dir: &Path) -> Self {
        let addr = free_addr();
        let log = dir.join("chromedriver.log");
        let out = File::create(&log).expect("chromedriver's log file");
        let err = out.try_clone().expect("chromedriver's log file");
        let mut child = Command::new(program("chromedriver"))
            .arg(format!("--port={}", addr.port()))
            .arg("--allowed-ips=127.0.0.1")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "chromedriver exited ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        Self { child, addr, log }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// What the browser is asked for: headless Chromium as root on a machine without outside
/// network, its own profile in `profile`, a window large enough for readable screenshots, the
/// customer's language, and every console message kept.
pub fn capabilities(profile: &Path, language: Language) -> Capabilities {
    let (lang, accept) = match language {
        Language::French => ("fr-CA", "fr-CA,fr"),
        Language::English => ("en-US", "en-US,en"),
    };
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-breakpad",
        "--window-size=1024,900",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        format!("--lang={lang}"),
        format!("--user-data-dir={}", profile.display()),
    ])
    .collect::<Vec<_>>();
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": program("chromium"),
            "args": args,
            "prefs": { "intl.accept_languages": accept },
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

/// chromedriver's `POST /session/{id}/se/log`: the browser's console messages (page errors,
/// CSP violations, failed loads, `console.*`) since the last call.
#[derive(Debug)]
pub struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({ "type": "browser" }).to_string()))
    }
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`: one DevTools command on the page's
/// target (what WebDriver cannot do: emulate the dark scheme, switch scripts off).
#[derive(Debug)]
pub struct DevTools {
    pub command: &'static str,
    pub params: Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &Url) -> (Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (Method::POST, Some(body.to_string()))
    }
}

/// One console message.
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    pub level: String,
    pub source: String,
    pub message: String,
}

impl std::fmt::Display for ConsoleEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} {}] {}", self.level, self.source, self.message)
    }
}

impl ConsoleEntry {
    pub fn parse_all(value: &Value) -> Vec<Self> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let field = |name: &str| entry[name].as_str().unwrap_or_default().to_owned();
                Self {
                    level: field("level"),
                    source: field("source"),
                    message: field("message"),
                }
            })
            .collect()
    }

    /// An error, or anything about the Content Security Policy whatever its level.
    pub fn is_a_problem(&self) -> bool {
        self.level == "SEVERE"
            || self.message.contains("Content Security Policy")
            || self.message.contains("Content-Security-Policy")
    }
}
