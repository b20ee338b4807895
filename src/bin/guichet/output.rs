//! What the commands print: one JSON value with `--json` (stable shapes for scripts), lines
//! of text otherwise.

use std::time::Duration;

use guichet::customer_service::AccountReport;
use guichet::{ServiceName, UserCode};
use serde_json::json;

pub(crate) enum Output {
    Json(serde_json::Value),
    Text(String),
}

impl Output {
    pub(crate) fn print(&self) {
        match self {
            Output::Json(value) => println!("{value}"),
            Output::Text(text) if text.is_empty() => {}
            Output::Text(text) => println!("{text}"),
        }
    }
}

pub(crate) fn done(json: bool, text: String) -> Output {
    if json {
        Output::Json(json!({ "ok": true }))
    } else {
        Output::Text(text)
    }
}

pub(crate) fn marked_output(json: bool, what: &str, codes: &[UserCode]) -> Output {
    if json {
        Output::Json(json!({ "accounts": codes }))
    } else {
        let list: Vec<String> = codes.iter().map(ToString::to_string).collect();
        Output::Text(format!("{what}: {}", list.join(", ")))
    }
}

pub(crate) fn status(status: guichet::AccountStatus) -> &'static str {
    match status {
        guichet::AccountStatus::Disabled => "disabled",
        _ => "active",
    }
}

pub(crate) fn show_json(report: &AccountReport) -> serde_json::Value {
    json!({
        "code": report.code,
        "name": report.name,
        "email": report.email,
        "client": report.client,
        "services": report.services,
        "status": status(report.status),
        "shared_inbox": { "shared": report.shared_inbox.shared, "reason": report.shared_inbox.reason },
        "sessions": report.sessions,
        "temporary_password_pending": report.temporary_password_pending,
        "throttled": report.throttled,
    })
}

pub(crate) fn show_text(report: &AccountReport) -> String {
    let services: Vec<&str> = report.services.iter().map(ServiceName::as_str).collect();
    format!(
        "code:         {}\nname:         {}\nemail:        {}\nclient:       {}\nservices:     {}\nstatus:       {}\nshared inbox: {}\nsessions:     {}\ntemporary password pending: {}\nthrottled:    {}",
        report.code,
        report.name,
        report.email.as_deref().unwrap_or("-"),
        report.client,
        services.join(", "),
        status(report.status),
        match report.shared_inbox.reason {
            Some(reason) => format!("yes ({reason})"),
            None => "no".to_owned(),
        },
        report.sessions,
        if report.temporary_password_pending { "yes" } else { "no" },
        if report.throttled { "yes" } else { "no" },
    )
}

/// `2026-11-30T17:05:00Z` for a unix time.
pub(crate) fn rfc3339(unix: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(unix)).to_string()
}
