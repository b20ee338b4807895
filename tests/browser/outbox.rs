//! The portal's outbox folder (`GUICHET_OUTBOX`): without an SMTP server, each email is an
//! `.eml` file there, read here the way a customer reads her mailbox.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The `.eml` files in `folder`, oldest first.
fn letters(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "eml"))
        .filter_map(|path| Some((path.metadata().ok()?.modified().ok()?, path)))
        .collect();
    files.sort();
    files.into_iter().map(|(_, path)| path).collect()
}

/// The text of an email with its quoted-printable parts decoded (soft line breaks joined,
/// `=C3=A9` turned back into `é`); other parts are left as they are.
pub fn readable(raw: &[u8]) -> String {
    let decoded = quoted_printable::decode(raw, quoted_printable::ParseMode::Robust)
        .unwrap_or_else(|_| raw.to_vec());
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The temporary password in an email's text: five groups of four characters of the
/// temporary alphabet, `7KQM-3XTA-...`, as guichet generates them.
pub fn temporary_password(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|word| {
            const ALPHABET: &str = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
            let groups: Vec<&str> = word.split('-').collect();
            groups.len() == 5
                && groups
                    .iter()
                    .all(|g| g.len() == 4 && g.chars().all(|c| ALPHABET.contains(c)))
        })
        .map(str::to_owned)
}

/// Waits (at most `within`) for the `n`-th email to land in `folder` and returns its decoded
/// text, or panics listing what is there.
pub async fn wait_for_letter(folder: &Path, n: usize, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut last: Option<Vec<u8>> = None;
    loop {
        let files = letters(folder);
        if let Some(path) = files.get(n - 1) {
            let raw = std::fs::read(path).unwrap_or_default();
            // The same bytes twice in a row: the file is complete.
            if !raw.is_empty() && last.as_ref() == Some(&raw) {
                return readable(&raw);
            }
            last = Some(raw);
        }
        assert!(
            Instant::now() < deadline,
            "no email number {n} in {} within {within:?} (found {files:?})",
            folder.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
