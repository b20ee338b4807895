//! Contact persons' requests (`guichet_requests`): each kept whole as JSON, with its id,
//! status and age in columns of their own for the lookups.

use async_trait::async_trait;

use super::pool::{failed, on, signed, Columns, Sql};
use super::SqlStore;
use crate::error::StoreError;
use crate::store::records;
use crate::store::{CodeRequest, RequestStore};

static ADD: Sql = Sql::new(
    "INSERT INTO guichet_requests (id, status, created_at, request) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO NOTHING",
);

static ONE: Sql = Sql::new("SELECT request FROM guichet_requests WHERE id = $1");

static PENDING: Sql = Sql::new(
    "SELECT request FROM guichet_requests WHERE status = 'pending' ORDER BY created_at, id",
);

static ALL: Sql = Sql::new("SELECT request FROM guichet_requests ORDER BY created_at, id");

/// Only a waiting request is decided: of two operators deciding at once, one matches no row.
static DECIDE: Sql = Sql::new(
    "UPDATE guichet_requests SET status = $2, request = $3 WHERE id = $1 AND status = 'pending'",
);

#[async_trait]
impl RequestStore for SqlStore {
    async fn add_request(&self, request: &CodeRequest) -> Result<bool, StoreError> {
        let json = records::encode(request)?;
        let created_at = signed(request.created_at, "request time")?;
        on!(self.pools(), write, |pool, dialect| {
            let added = sqlx::query(ADD.get(dialect))
                .bind(&request.id)
                .bind(request.status.name())
                .bind(created_at)
                .bind(&json)
                .execute(pool)
                .await
                .map_err(failed)?;
            Ok(added.rows_affected() == 1)
        })
    }

    async fn request(&self, id: &str) -> Result<Option<CodeRequest>, StoreError> {
        on!(self.pools(), read, |pool, dialect| {
            match sqlx::query(ONE.get(dialect))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(failed)?
            {
                Some(row) => records::decode(row.text(0)?.as_bytes()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn requests(&self, all: bool) -> Result<Vec<CodeRequest>, StoreError> {
        let statement = if all { &ALL } else { &PENDING };
        on!(self.pools(), read, |pool, dialect| {
            let rows = sqlx::query(statement.get(dialect))
                .fetch_all(pool)
                .await
                .map_err(failed)?;
            rows.iter()
                .map(|row| records::decode(row.text(0)?.as_bytes()))
                .collect()
        })
    }

    async fn decide_request(&self, decided: &CodeRequest) -> Result<bool, StoreError> {
        let json = records::encode(decided)?;
        on!(self.pools(), write, |pool, dialect| {
            let done = sqlx::query(DECIDE.get(dialect))
                .bind(&decided.id)
                .bind(decided.status.name())
                .bind(&json)
                .execute(pool)
                .await
                .map_err(failed)?;
            Ok(done.rows_affected() == 1)
        })
    }
}
