use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::{CodeRequest, RequestStatus, RequestStore};

/// Contact persons' requests, by id.
#[derive(Debug, Default)]
pub(super) struct Requests(Mutex<BTreeMap<String, CodeRequest>>);

impl Requests {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, CodeRequest>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl RequestStore for MemoryStore {
    async fn add_request(&self, request: &CodeRequest) -> Result<bool, StoreError> {
        let mut requests = self.requests.lock();
        if requests.contains_key(&request.id) {
            return Ok(false);
        }
        requests.insert(request.id.clone(), request.clone());
        Ok(true)
    }

    async fn request(&self, id: &str) -> Result<Option<CodeRequest>, StoreError> {
        Ok(self.requests.lock().get(id).cloned())
    }

    async fn requests(&self, all: bool) -> Result<Vec<CodeRequest>, StoreError> {
        let mut found: Vec<CodeRequest> = self
            .requests
            .lock()
            .values()
            .filter(|r| all || r.status == RequestStatus::Pending)
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn decide_request(&self, decided: &CodeRequest) -> Result<bool, StoreError> {
        let mut requests = self.requests.lock();
        match requests.get_mut(&decided.id) {
            Some(waiting) if waiting.status == RequestStatus::Pending => {
                *waiting = decided.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
