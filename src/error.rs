//! Errors, and the one place where they become HTTP statuses.

use std::time::Duration;

/// A store (sessions, credentials, throttles, or the application's directory) could not answer.
///
/// guichet fails closed on it: a route that needs an identity answers `503 Service Unavailable`,
/// never access; a public route goes on as anonymous and a warning is logged. The cause is
/// kept ([`source`](std::error::Error::source)), with what kind of failure it was where the
/// store can tell.
///
/// ```
/// use guichet::error::{StoreError, StoreErrorKind};
///
/// let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 1 s");
/// let error = StoreError::with_kind(StoreErrorKind::Timeout, io);
/// assert_eq!(error.kind(), StoreErrorKind::Timeout);
/// assert!(std::error::Error::source(&error).is_some());
/// ```
#[derive(Debug, Clone)]
pub struct StoreError {
    kind: StoreErrorKind,
    cause: std::sync::Arc<dyn std::error::Error + Send + Sync>,
}

/// What kind of failure a [`StoreError`] is, where the store can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached (connection refused, closed, or not yet open).
    Unavailable,
    /// The store did not answer in time.
    Timeout,
    /// The store answered with something unreadable (a corrupt record).
    Corrupt,
    /// A compare-and-swap kept losing against concurrent writers.
    Contention,
    /// Anything else.
    Other,
}

impl StoreError {
    /// A store failure of an unknown kind, with its cause (any error, or a message).
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::with_kind(StoreErrorKind::Other, cause)
    }

    /// A store failure of a known kind, with its cause.
    pub fn with_kind(
        kind: StoreErrorKind,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            cause: std::sync::Arc::from(cause.into()),
        }
    }

    /// What kind of failure it was.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            StoreErrorKind::Unavailable => "store unavailable",
            StoreErrorKind::Timeout => "store timed out",
            StoreErrorKind::Corrupt => "store answered something unreadable",
            StoreErrorKind::Contention => "store write kept conflicting",
            StoreErrorKind::Other => "store failed",
        };
        write!(f, "{kind}: {}", self.cause)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.cause)
    }
}

/// The configuration was refused when the [`Guichet`](crate::Guichet) was built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
#[non_exhaustive]
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
        crate::metrics::store_error("accounts", &error);
        Refusal::Unavailable
    }
}
