//! The harness of the browser test: for each test, its own folder, its own portal process, its
//! own chromedriver and headless Chromium, all on free ports and all ended when the test ends,
//! however it ends; the browser's console read at the end; and, on failure, a screenshot and
//! the page's source in `target/browser-failures/` before the test panics.

mod chrome;
mod elsewhere;
mod outbox;
mod portal;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use chrome::{BrowserLog, Chromedriver, ConsoleEntry, DevTools};
pub use elsewhere::Elsewhere;
pub use fantoccini::key::Key;
use portal::Portal;

/// The longest a scenario may take before it fails (with its screenshot) instead of hanging.
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);
/// The longest the browser may take to reach a page or show an element.
const PAGE_LIMIT: Duration = Duration::from_secs(10);

/// Console messages tolerated on every test, each a known gap of the portal that is not the
/// test's subject: (path, what the message says). Only these, only on this portal. (None
/// now: guichet's pages link their own icon.)
const KNOWN_CONSOLE_ERRORS: &[(&str, &str)] = &[];

/// WCAG 2.x level AA for text: the least contrast every text on guichet's pages must have
/// (the harness holds large text to it too).
pub const AA: f64 = 4.5;

/// The colour scheme the browser asks pages for (`prefers-color-scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Light,
    Dark,
}

/// The language of the customer's browser (`--lang` and `Accept-Language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// `fr-CA,fr`.
    French,
    /// `en-US,en`.
    English,
}

/// A free port on 127.0.0.1 (released just before the process that takes it binds it).
fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// A folder of its own under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("guichet-browser-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temporary folder");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where a failing test leaves its evidence: `target/browser-failures/`.
fn failures_folder() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("browser-failures")
}

/// What the customer's browser does and shows. Every step waits for the page as a person
/// would, and panics with what it found when the page does not come.
#[derive(Clone)]
pub struct Browser {
    client: Client,
    origin: String,
    outbox: PathBuf,
    /// Failed loads the scenario announced (`expect_http_error`): (path, status).
    expected_errors: Arc<Mutex<Vec<(String, u16)>>>,
}

impl Browser {
    /// Types `path` in the address bar.
    pub async fn open(&self, path: &str) {
        let url = format!("{}{path}", self.origin);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The browser's back button.
    pub async fn back(&self) {
        self.client.back().await.expect("the browser goes back");
    }

    /// Announces that the scenario goes to the portal example's own pages (`/`, `/account`):
    /// they link no icon, so the browser asks for `/favicon.ico`, which the example does not
    /// serve. (guichet's pages link `{prefix}/assets/favicon.svg`: scenarios that stay on them
    /// must not see this `404`.)
    pub fn visits_the_portal_s_own_pages(&self) {
        self.expect_http_error("/favicon.ico", 404);
    }

    /// Waits until the address bar shows `expected` (path and query) on this portal.
    pub async fn wait_for_path(&self, expected: &str) {
        let deadline = Instant::now() + PAGE_LIMIT;
        loop {
            let url = self.client.current_url().await.expect("the current URL");
            let here = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            let same_origin = url.as_str().starts_with(&self.origin);
            if same_origin && here == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected to be on {expected}, still on {url} after {PAGE_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, css: &str) -> Element {
        let found = self
            .client
            .wait()
            .at_most(PAGE_LIMIT)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {}: {e}", self.path_or_unknown().await),
        }
    }

    async fn path_or_unknown(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(_) => "an unknown page".to_owned(),
        }
    }

    /// The text `css` shows (empty when it is hidden).
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .expect("the element's text")
    }

    /// Waits until `css` shows `expected` (after a form posts to the page it came from, the
    /// address does not tell the new page from the old one).
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + PAGE_LIMIT;
        loop {
            let shown = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if shown == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected `{css}` to read {expected:?} on {}, it reads {shown:?}",
                self.path_or_unknown().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether `css` is on the page and shown.
    pub async fn shows(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element
                .is_displayed()
                .await
                .expect("the element's visibility"),
            Err(_) => false,
        }
    }

    /// What a field holds.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("the field's value")
            .unwrap_or_default()
    }

    /// The element that has the keyboard focus (its `id`).
    pub async fn focused(&self) -> String {
        let element = self
            .client
            .active_element()
            .await
            .expect("a focused element");
        element.attr("id").await.ok().flatten().unwrap_or_default()
    }

    /// Clicks in a field and types `text` (real key events).
    pub async fn type_in(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.click().await.expect("the field takes a click");
        field.send_keys(text).await.expect("the field takes keys");
    }

    /// Clicks `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
    }

    /// Clicks the link that reads exactly `text`.
    pub async fn click_link(&self, text: &str) {
        let found = self
            .client
            .wait()
            .at_most(PAGE_LIMIT)
            .for_element(Locator::LinkText(text))
            .await;
        match found {
            Ok(link) => link.click().await.expect("the link takes a click"),
            Err(e) => panic!("no link `{text}` on {}: {e}", self.path_or_unknown().await),
        }
    }

    /// The browser's cookie `name` for this portal, as `name; Secure; HttpOnly; SameSite=Lax;
    /// Path=/` (the flags the browser kept), or `None` when it has none.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let cookies = self.client.get_all_cookies().await.expect("the cookies");
        let cookie = cookies.iter().find(|c| c.name() == name)?;
        let mut described = cookie.name().to_owned();
        if cookie.secure() == Some(true) {
            described.push_str("; Secure");
        }
        if cookie.http_only() == Some(true) {
            described.push_str("; HttpOnly");
        }
        if let Some(same_site) = cookie.same_site() {
            described.push_str(&format!("; SameSite={same_site}"));
        }
        if let Some(path) = cookie.path() {
            described.push_str(&format!("; Path={path}"));
        }
        Some(described)
    }

    /// The window's title.
    pub async fn title(&self) -> String {
        self.client.title().await.expect("the page's title")
    }

    /// The page's `<html lang>`.
    pub async fn lang(&self) -> String {
        self.attr("html", "lang").await
    }

    /// An attribute of `css` (empty when it has none).
    pub async fn attr(&self, css: &str, name: &str) -> String {
        self.find(css)
            .await
            .attr(name)
            .await
            .expect("the attribute")
            .unwrap_or_default()
    }

    /// A key pressed and released in `css` with Caps Lock on or off.
    ///
    /// WebDriver has no Caps Lock, and DevTools' `Input.dispatchKeyEvent` cannot set it either:
    /// its `modifiers` are Alt, Ctrl, Meta and Shift only (1, 2, 4, 8; Chromium ignores other
    /// bits, and a `CapsLock` key event it sends leaves `getModifierState('CapsLock')` false).
    /// So the events a keyboard sends with Caps Lock on are dispatched on the field in the
    /// page, with `modifierCapsLock` (`KeyboardEvent`'s own init member), and go through the
    /// page's real listeners (`guichet.js`), which is what this checks.
    pub async fn press_with_caps_lock(&self, css: &str, key: &str, caps_lock: bool) {
        let field = self.find(css).await;
        let element = serde_json::to_value(&field).expect("an element reference");
        self.client
            .execute(
                "const [field, key, caps] = arguments; \
                 for (const type of ['keydown', 'keyup']) { \
                   field.dispatchEvent(new KeyboardEvent(type, \
                     { key, bubbles: true, cancelable: true, modifierCapsLock: caps })); \
                 }",
                vec![element, json!(key), json!(caps_lock)],
            )
            .await
            .expect("the key events are dispatched");
    }

    /// Asks pages for the light or the dark scheme, as a system set that way does (DevTools'
    /// media emulation: it stays for the pages opened afterwards).
    pub async fn prefer(&self, scheme: Scheme) {
        let value = match scheme {
            Scheme::Light => "light",
            Scheme::Dark => "dark",
        };
        self.devtools(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": value }] }),
        )
        .await;
    }

    /// Switches the page's scripts off (or on), as in a browser without JavaScript; it
    /// applies to the pages opened afterwards.
    pub async fn scripts(&self, enabled: bool) {
        self.devtools(
            "Emulation.setScriptExecutionDisabled",
            json!({ "value": !enabled }),
        )
        .await;
    }

    async fn devtools(&self, command: &'static str, params: serde_json::Value) {
        self.client
            .issue_cmd(DevTools { command, params })
            .await
            .unwrap_or_else(|e| panic!("DevTools {command}: {e}"));
    }

    /// Every visible text on the page (fields and buttons included) whose colour has less than
    /// `least` contrast with the background it is drawn on, described; panics if nothing was
    /// measured at all.
    pub async fn unreadable_texts(&self, least: f64) -> Vec<String> {
        let found = self
            .client
            .execute(include_str!("contrast.js"), vec![json!(least)])
            .await
            .expect("the contrast script runs");
        let measured = found["measured"].as_u64().unwrap_or_default();
        assert!(
            measured > 0,
            "no text measured on {}",
            self.path_or_unknown().await
        );
        found["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect()
    }

    /// A computed style property of `css` (`background-color`, `outline-style`, ...).
    pub async fn style(&self, css: &str, property: &str) -> String {
        let element = serde_json::to_value(self.find(css).await).expect("an element reference");
        let value = self
            .client
            .execute(
                "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1]);",
                vec![element, json!(property)],
            )
            .await
            .expect("the style is read");
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Types `text` where the focus is: letters, or keys (`&Key::Tab`, `&(Key::Shift +
    /// &Key::Tab)`), as a keyboard does.
    pub async fn press(&self, text: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(text)
            .await
            .expect("the keys are pressed");
    }

    /// The focused element, described as `tag#id[type]` (`input#password`,
    /// `button[type=submit]`), and whether the focus shows (an outline at least 2 px wide).
    pub async fn focus(&self) -> (String, bool) {
        let found = self
            .client
            .execute(
                "const e = document.activeElement; const s = getComputedStyle(e); \
                 let d = e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''); \
                 if (e.tagName === 'BUTTON') { d += '[type=' + e.type + ']'; } \
                 return [d, s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2];",
                vec![],
            )
            .await
            .expect("the focus is read");
        (
            found[0].as_str().unwrap_or_default().to_owned(),
            found[1].as_bool().unwrap_or_default(),
        )
    }

    /// Whether an image of the page has loaded (and has a size).
    pub async fn image_loaded(&self, css: &str) -> bool {
        let element = serde_json::to_value(self.find(css).await).expect("an element reference");
        self.client
            .execute(
                "return arguments[0].complete && arguments[0].naturalWidth > 0;",
                vec![element],
            )
            .await
            .expect("the image is read")
            .as_bool()
            .unwrap_or_default()
    }

    /// Waits for the `n`-th email in the portal's outbox and returns its text (decoded).
    pub async fn email(&self, n: usize) -> String {
        outbox::wait_for_letter(&self.outbox, n, PAGE_LIMIT).await
    }

    /// Announces that the browser will load `path` with an HTTP error `status` on purpose (a
    /// refused sign-in is a `401` with the page), which browsers note in the console.
    pub fn expect_http_error(&self, path: &str, status: u16) {
        self.expected_errors
            .lock()
            .expect("the expectations")
            .push((path.to_owned(), status));
    }

    /// Whether a console message is an error or a CSP message that neither the scenario
    /// announced nor [`KNOWN_CONSOLE_ERRORS`] lists.
    fn is_unexpected(&self, entry: &ConsoleEntry) -> bool {
        if !entry.is_a_problem() {
            return false;
        }
        let failed_load = |path: &str, what: &str| {
            entry.source == "network"
                && entry
                    .message
                    .starts_with(&format!("{}{path} - {what}", self.origin))
        };
        let known = KNOWN_CONSOLE_ERRORS
            .iter()
            .any(|(path, what)| failed_load(path, what));
        let announced = self
            .expected_errors
            .lock()
            .expect("the expectations")
            .iter()
            .any(|(path, status)| {
                failed_load(
                    path,
                    &format!(
                        "Failed to load resource: the server responded with a status of {status} "
                    ),
                )
            });
        !(known || announced)
    }

    /// The console messages since the last call.
    async fn console(&self) -> Result<Vec<ConsoleEntry>, String> {
        match tokio::time::timeout(Duration::from_secs(10), self.client.issue_cmd(BrowserLog)).await
        {
            Ok(Ok(value)) => Ok(ConsoleEntry::parse_all(&value)),
            Ok(Err(e)) => Err(format!("cannot read the browser's console: {e}")),
            Err(_) => Err("the browser's console did not answer within 10 s".to_owned()),
        }
    }
}

/// The temporary password in an email's text (`7KQM-3XTA-...`).
pub fn temporary_password(email: &str) -> String {
    outbox::temporary_password(email)
        .unwrap_or_else(|| panic!("no temporary password in the email:\n{email}"))
}

/// Connects to chromedriver, which starts Chromium (tried three times: a slow start of the
/// browser on a busy machine is not the test's subject).
async fn connect(driver: &Chromedriver, profile: &Path, language: Language) -> Client {
    let url = driver.url();
    let mut last_error = String::new();
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(profile);
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(chrome::capabilities(profile, language));
        let attempt = builder.connect(&url);
        match tokio::time::timeout(Duration::from_secs(30), attempt).await {
            Ok(Ok(client)) => return client,
            Ok(Err(e)) => last_error = e.to_string(),
            Err(_) => last_error = "no session within 30 s".to_owned(),
        }
    }
    panic!(
        "chromedriver could not start Chromium: {last_error}\n{}",
        std::fs::read_to_string(&driver.log).unwrap_or_default()
    );
}

/// How a scenario ended badly.
enum Failure {
    Panicked(Box<dyn std::any::Any + Send>),
    TimedOut,
}

/// Runs `scenario` in a fresh portal and a fresh browser speaking `language`; fails if it
/// panics, takes longer than a minute, or if the browser's console holds an error or a
/// Content Security Policy message on any page it visited. On failure the last page's
/// screenshot, its source, the console and the portal's log are written to
/// `target/browser-failures/{test}.*` before the test panics. The portal, chromedriver and
/// Chromium are ended in every case.
pub async fn visit<F, Fut>(test: &str, language: Language, scenario: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    visit_configured(test, language, None, scenario).await;
}

/// [`visit`], with the portal started on `config`, a TOML file of `guichet::Config`
/// (`GUICHET_CONFIG`).
pub async fn visit_configured<F, Fut>(
    test: &str,
    language: Language,
    config: Option<&str>,
    scenario: F,
) where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    for ext in ["png", "html", "txt", "portal.log"] {
        let _ = std::fs::remove_file(failures_folder().join(format!("{test}.{ext}")));
    }
    let dir = TempDir::new(test);
    let portal = Portal::start(&dir.0, config);
    let driver = Chromedriver::start(&dir.0);
    let client = connect(&driver, &dir.0.join("profile"), language).await;
    let browser = Browser {
        client: client.clone(),
        origin: format!("http://{}", portal.addr),
        outbox: portal.outbox.clone(),
        expected_errors: Arc::default(),
    };

    let mut run = tokio::spawn(scenario(browser.clone()));
    let failure = match tokio::time::timeout(SCENARIO_LIMIT, &mut run).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) if e.is_panic() => Some(Failure::Panicked(e.into_panic())),
        Ok(Err(e)) => panic!("the scenario was cancelled: {e}"),
        Err(_) => {
            run.abort();
            Some(Failure::TimedOut)
        }
    };
    // Read even after a failure: the console often tells why.
    let (console, unreadable) = match browser.console().await {
        Ok(console) => (console, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let problems: Vec<String> = console
        .iter()
        .filter(|e| browser.is_unexpected(e))
        .map(|e| format!("  {e}"))
        .chain(unreadable)
        .collect();

    let evidence = if failure.is_some() || !problems.is_empty() {
        Some(save_evidence(test, &browser, &console, &portal).await)
    } else {
        None
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
    drop(driver);
    drop(portal);
    drop(dir);
    eprintln!("{test}: {:.1} s", started.elapsed().as_secs_f64());

    let evidence = evidence
        .map(|folder| format!("\n(screenshot, page source, console and portal log in {folder})"))
        .unwrap_or_default();
    match failure {
        Some(Failure::Panicked(payload)) => {
            eprintln!("{test} failed{evidence}");
            std::panic::resume_unwind(payload)
        }
        Some(Failure::TimedOut) => {
            panic!("{test} did not finish within {SCENARIO_LIMIT:?}{evidence}")
        }
        None => {}
    }
    assert!(
        problems.is_empty(),
        "the browser's console has errors or CSP messages:\n{}{evidence}",
        problems.join("\n")
    );
}

/// Writes `{test}.png` (the screenshot), `{test}.html` (the page's source), `{test}.txt` (the
/// address, every console message) and `{test}.portal.log`; returns the folder.
async fn save_evidence(
    test: &str,
    browser: &Browser,
    console: &[ConsoleEntry],
    portal: &Portal,
) -> String {
    let folder = failures_folder();
    let _ = std::fs::create_dir_all(&folder);
    let file = |ext: &str| folder.join(format!("{test}.{ext}"));
    let client = &browser.client;
    let limit = Duration::from_secs(10);
    if let Ok(Ok(png)) = tokio::time::timeout(limit, client.screenshot()).await {
        let _ = std::fs::write(file("png"), png);
    }
    if let Ok(Ok(source)) = tokio::time::timeout(limit, client.source()).await {
        let _ = std::fs::write(file("html"), source);
    }
    let url = match tokio::time::timeout(limit, client.current_url()).await {
        Ok(Ok(url)) => url.to_string(),
        _ => "unknown".to_owned(),
    };
    let mut notes = format!("last page: {url}\n\nbrowser console:\n");
    for entry in console {
        notes.push_str(&format!("  {entry}\n"));
    }
    let _ = std::fs::write(file("txt"), notes);
    let _ = std::fs::write(file("portal.log"), portal.log_text());
    folder.display().to_string()
}
