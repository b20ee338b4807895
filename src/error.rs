//! Errors, and the one place where they become HTTP statuses.

use std::time::Duration;

/// A store (sessions, credentials, throttles, or the application's directory) could not answer.
///
/// guichet fails closed on it: a route that needs an identity answers `503 Service Unavailable`,
/// never access; a public route goes on as anonymous and a warning is logged.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// Wraps any error as a store failure.
    pub fn new(error: impl std::fmt::Display) -> Self {
        Self(error.to_string())
    }
}

/// The configuration was refused when the [`Guichet`](crate::Guichet) was built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is out of its allowed range or inconsistent with another.
    #[error("invalid configuration `{field}`: {reason}")]
    Invalid {
        /// The configuration field, as spelt in the serde form.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The accounts file could not be read or parsed.
    #[error("accounts file {path}: {reason}")]
    Accounts {
        /// Where the file was looked for.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Why a request was refused before it reached a flow's logic.
///
/// Every refusal guichet produces goes through this enum, so the status code of each case is
/// decided in [`Refusal::status`] and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A required form or JSON field is absent or empty.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field is present but unusable (too long, forbidden characters, ...).
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        /// The field name.
        field: &'static str,
        /// A short, non-secret explanation.
        reason: &'static str,
    },
    /// The body is not valid UTF-8, not valid form encoding, or not valid JSON.
    #[error("malformed body: {0}")]
    MalformedBody(&'static str),
    /// The body is larger than the flows accept.
    #[error("body too large")]
    BodyTooLarge,
    /// The content type is neither a form nor JSON.
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// A cross-site form post (CSRF) was refused.
    #[error("cross-site request refused")]
    CrossSite,
    /// A rate limit or the sign-in throttle refused the request.
    #[error("too many attempts; retry after {} s", retry_after.as_secs())]
    Throttled {
        /// How long the client should wait (sent rounded up in `Retry-After`).
        retry_after: Duration,
    },
    /// A store could not answer, or the hashing queue is full.
    #[error("service temporarily unavailable")]
    Unavailable,
    /// The route does not exist under the flows' prefix.
    #[error("not found")]
    NotFound,
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the route answers, for the `Allow` header.
        allow: &'static str,
    },
}

impl Refusal {
    /// The HTTP status for this refusal.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Refusal::MissingField(_) | Refusal::InvalidField { .. } | Refusal::MalformedBody(_) => {
                S::BAD_REQUEST
            }
            Refusal::BodyTooLarge => S::PAYLOAD_TOO_LARGE,
            Refusal::UnsupportedMediaType => S::UNSUPPORTED_MEDIA_TYPE,
            Refusal::CrossSite => S::FORBIDDEN,
            Refusal::Throttled { .. } => S::TOO_MANY_REQUESTS,
            Refusal::Unavailable => S::SERVICE_UNAVAILABLE,
            Refusal::NotFound => S::NOT_FOUND,
            Refusal::MethodNotAllowed { .. } => S::METHOD_NOT_ALLOWED,
        }
    }

    /// A stable machine-readable code for JSON bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::MissingField(_) => "missing_field",
            Refusal::InvalidField { .. } => "invalid_field",
            Refusal::MalformedBody(_) => "malformed_body",
            Refusal::BodyTooLarge => "body_too_large",
            Refusal::UnsupportedMediaType => "unsupported_media_type",
            Refusal::CrossSite => "cross_site",
            Refusal::Throttled { .. } => "throttled",
            Refusal::Unavailable => "unavailable",
            Refusal::NotFound => "not_found",
            Refusal::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    /// `Retry-After` in whole seconds, rounded up and never 0, where the refusal has one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Refusal::Throttled { retry_after } => {
                Some(crate::limit::retry_after_secs(*retry_after))
            }
            Refusal::Unavailable => Some(1),
            _ => None,
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        tracing::error!(target: "guichet", %error, "store unavailable; failing closed");
        Refusal::Unavailable
    }
}
