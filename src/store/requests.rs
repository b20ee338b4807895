//! Contact persons' requests for user codes for new employees.

use serde::{Deserialize, Serialize};

use crate::identity::{Email, UserCode};

/// A client's contact person asks customer service for user codes for new employees (the FAQ:
/// "full name and email of each new user"). Stores keep it with serde, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CodeRequest {
    /// Short identifier operators type (`R-7K3M9Q`).
    pub id: String,
    /// The client the new employees belong to.
    pub client: String,
    /// The contact person who asked.
    pub contact: UserCode,
    /// The new employees: one to twenty.
    pub people: Vec<NewPerson>,
    /// Waiting, approved or rejected.
    pub status: RequestStatus,
    /// When it was made, unix seconds.
    pub created_at: u64,
    /// When an operator decided, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<u64>,
}

/// One new employee in a [`CodeRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewPerson {
    /// Full name.
    pub name: String,
    /// Where their user code will be sent.
    pub email: Email,
}

impl NewPerson {
    /// A new employee.
    pub fn new(name: impl Into<String>, email: Email) -> Self {
        Self {
            name: name.into(),
            email,
        }
    }
}

/// Where a [`CodeRequest`] stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
#[non_exhaustive]
pub enum RequestStatus {
    /// Waiting for an operator.
    Pending,
    /// Approved: the accounts created, one per person, in order.
    Approved {
        /// Their user codes.
        accounts: Vec<UserCode>,
    },
    /// Rejected, and why (the contact person is told).
    Rejected {
        /// The operator's reason.
        reason: String,
    },
}

impl RequestStatus {
    /// `pending`, `approved` or `rejected`.
    pub fn name(&self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved { .. } => "approved",
            RequestStatus::Rejected { .. } => "rejected",
        }
    }
}

impl CodeRequest {
    /// A new request, waiting.
    pub fn new(
        id: impl Into<String>,
        client: impl Into<String>,
        contact: UserCode,
        people: Vec<NewPerson>,
        created_at: u64,
    ) -> Self {
        Self {
            id: id.into(),
            client: client.into(),
            contact,
            people,
            status: RequestStatus::Pending,
            created_at,
            decided_at: None,
        }
    }
}
