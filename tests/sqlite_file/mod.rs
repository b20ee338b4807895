//! SQLite files for the tests: each in one temporary folder per test process, removed when
//! the process ends, however it ends (a small shell watchdog, as for the test servers).

#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// This process's folder of SQLite files.
pub fn dir() -> &'static PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("guichet-sqlite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "trap '' INT HUP; while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; rm -rf '{dir}'",
                pid = std::process::id(),
                dir = dir.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        dir
    })
}

/// A path for a new database file.
pub fn path(what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    dir().join(format!("{what}-{}.db", N.fetch_add(1, Ordering::Relaxed)))
}

/// `sqlite://` and the absolute path of a new database file.
pub fn url(what: &str) -> String {
    format!("sqlite://{}", path(what).display())
}
