use async_trait::async_trait;

use super::scripts::{ADD_REQUEST, DECIDE_REQUEST};
use super::{unavailable, RedisStore};
use crate::error::StoreError;
use crate::store::records;
use crate::store::{CodeRequest, RequestStatus, RequestStore};

impl RedisStore {
    /// `{P:req}:all` (id → JSON) and `{P:req}:status` (id → status): one hash tag.
    fn request_key(&self, part: &str) -> String {
        format!("{{{}:req}}:{part}", self.prefix)
    }
}

#[async_trait]
impl RequestStore for RedisStore {
    async fn add_request(&self, request: &CodeRequest) -> Result<bool, StoreError> {
        let added: i64 = ADD_REQUEST
            .key(self.request_key("all"))
            .key(self.request_key("status"))
            .arg(&request.id)
            .arg(records::encode(request)?)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(added == 1)
    }

    async fn request(&self, id: &str) -> Result<Option<CodeRequest>, StoreError> {
        let json: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(self.request_key("all"))
            .arg(id)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        json.map(|json| records::decode(&json)).transpose()
    }

    async fn requests(&self, all: bool) -> Result<Vec<CodeRequest>, StoreError> {
        let stored: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
            .arg(self.request_key("all"))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let mut found = stored
            .into_iter()
            .map(|(_, json)| records::decode::<CodeRequest>(&json))
            .filter(|r| {
                r.as_ref()
                    .map_or(true, |r| all || r.status == RequestStatus::Pending)
            })
            .collect::<Result<Vec<_>, _>>()?;
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn decide_request(&self, decided: &CodeRequest) -> Result<bool, StoreError> {
        let done: i64 = DECIDE_REQUEST
            .key(self.request_key("all"))
            .key(self.request_key("status"))
            .arg(&decided.id)
            .arg(records::encode(decided)?)
            .arg(decided.status.name())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
    }
}
