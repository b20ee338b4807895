//! Accounts (`guichet_accounts`) and clients (`guichet_clients`): the directory guichet can
//! write, one column per field, with each address's mailbox (`Email::normalised`) in a column
//! of its own for shared-inbox detection.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use async_trait::async_trait;

use super::pool::{corrupt, failed, on, Columns, Sql};
use super::SqlStore;
use crate::error::StoreError;
use crate::identity::{Account, AccountStatus, Client, Email, ServiceName, UserCode};
use crate::store::{AccountStore, Directory};

/// The columns of an account as every read selects them (eight, from 0).
macro_rules! account_columns {
    () => {
        "user_code, name, email, client, services, password_hash, status, shared_inbox"
    };
}

/// The columns an account is written to; `mailbox` is derived from `email`.
macro_rules! written_columns {
    () => {
        "user_code, name, email, mailbox, client, services, password_hash, status, shared_inbox"
    };
}

/// Parameters per written account.
const WRITTEN: usize = 9;

/// Accounts written per statement by `put_accounts` (9 parameters each: well under SQLite's
/// 32,766 and PostgreSQL's 65,535).
const BATCH: usize = 500;

/// What a write of an existing code replaces.
macro_rules! replace_columns {
    () => {
        " ON CONFLICT (user_code) DO UPDATE SET name = excluded.name, email = excluded.email, \
         mailbox = excluded.mailbox, client = excluded.client, services = excluded.services, \
         password_hash = excluded.password_hash, status = excluded.status, \
         shared_inbox = excluded.shared_inbox"
    };
}

static ACCOUNT: Sql = Sql::new(concat!(
    "SELECT ",
    account_columns!(),
    " FROM guichet_accounts WHERE user_code = $1"
));

static PREVIOUS: Sql = Sql::new(concat!(
    "SELECT ",
    account_columns!(),
    " FROM guichet_accounts WHERE user_code = $1{for_update}"
));

static BY_MAILBOX: Sql = Sql::new(concat!(
    "SELECT ",
    account_columns!(),
    " FROM guichet_accounts WHERE mailbox = $1 ORDER BY user_code"
));

static PAGE: Sql = Sql::new(concat!(
    "SELECT ",
    account_columns!(),
    " FROM guichet_accounts ORDER BY user_code LIMIT $1"
));

static PAGE_AFTER: Sql = Sql::new(concat!(
    "SELECT ",
    account_columns!(),
    " FROM guichet_accounts WHERE user_code > $1 ORDER BY user_code LIMIT $2"
));

static CLIENT_PAGE: Sql = Sql::new(concat!(
    "SELECT ",
    account_columns!(),
    " FROM guichet_accounts WHERE client = $1 ORDER BY user_code LIMIT $2"
));

static CLIENT_PAGE_AFTER: Sql = Sql::new(concat!(
    "SELECT ",
    account_columns!(),
    " FROM guichet_accounts WHERE client = $1 AND user_code > $2 ORDER BY user_code LIMIT $3"
));

static CREATE: Sql = Sql::new(concat!(
    "INSERT INTO guichet_accounts (",
    written_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (user_code) DO NOTHING"
));

static PUT: Sql = Sql::new(concat!(
    "INSERT INTO guichet_accounts (",
    written_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    replace_columns!()
));

static CLIENT: Sql =
    Sql::new("SELECT id, name, contact, services FROM guichet_clients WHERE id = $1");

static CLIENTS: Sql =
    Sql::new("SELECT id, name, contact, services FROM guichet_clients ORDER BY id");

static PUT_CLIENT: Sql = Sql::new(
    "INSERT INTO guichet_clients (id, name, contact, services) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, contact = excluded.contact,
        services = excluded.services",
);

/// `INSERT ... VALUES (...), (...) ... ON CONFLICT ... DO UPDATE` for `rows` accounts.
fn put_many(rows: usize) -> String {
    let mut sql = String::from(concat!(
        "INSERT INTO guichet_accounts (",
        written_columns!(),
        ") VALUES "
    ));
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..WRITTEN {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * WRITTEN + column + 1).to_string());
        }
        sql.push(')');
    }
    sql.push_str(replace_columns!());
    sql
}

/// The statement for a full batch, built once (the same text each time, so it stays prepared).
fn put_batch() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| put_many(BATCH))
}

/// An account as its columns are written.
struct Row<'a> {
    code: &'a str,
    name: &'a str,
    email: Option<&'a str>,
    mailbox: Option<String>,
    client: &'a str,
    services: String,
    password_hash: Option<&'a str>,
    status: String,
    shared_inbox: bool,
}

impl<'a> Row<'a> {
    fn of(account: &'a Account) -> Result<Self, StoreError> {
        Ok(Self {
            code: account.code.as_str(),
            name: &account.name,
            email: account.email.as_ref().map(Email::as_str),
            mailbox: account.email.as_ref().map(Email::normalised),
            client: &account.client,
            services: serde_json::to_string(&account.services).map_err(StoreError::new)?,
            password_hash: account.password_hash.as_deref(),
            status: status_name(account.status)?,
            shared_inbox: account.shared_inbox,
        })
    }
}

/// Binds the [`WRITTEN`] columns of `$row` to the query `$query`, in [`written_columns`] order.
macro_rules! bind_row {
    ($query:expr, $row:expr) => {
        $query
            .bind($row.code)
            .bind($row.name)
            .bind($row.email)
            .bind($row.mailbox.as_deref())
            .bind($row.client)
            .bind($row.services.as_str())
            .bind($row.password_hash)
            .bind($row.status.as_str())
            .bind($row.shared_inbox)
    };
}

/// `active` or `disabled`, as the accounts file spells them.
fn status_name(status: AccountStatus) -> Result<String, StoreError> {
    match serde_json::to_value(status).map_err(StoreError::new)? {
        serde_json::Value::String(name) => Ok(name),
        other => Err(StoreError::new(format!("account status as {other}"))),
    }
}

/// An account from the eight [`account_columns`]; anything unreadable is a corrupt row.
fn decode_account(row: &impl Columns) -> Result<Account, StoreError> {
    let code = row.text(0)?;
    let bad =
        |what: &str, e: &dyn std::fmt::Display| corrupt(format!("account {code:?}: {what}: {e}"));
    let email = row
        .opt_text(2)?
        .map(Email::parse)
        .transpose()
        .map_err(|e| bad("email", &e))?;
    Ok(Account {
        code: UserCode::from_stored(code).map_err(|e| bad("user code", &e))?,
        name: row.text(1)?.to_owned(),
        email,
        client: row.text(3)?.to_owned(),
        services: serde_json::from_str(row.text(4)?).map_err(|e| bad("services", &e))?,
        password_hash: row.opt_text(5)?.map(str::to_owned),
        status: serde_json::from_value(serde_json::Value::String(row.text(6)?.to_owned()))
            .map_err(|e| bad("status", &e))?,
        shared_inbox: row.flag(7)?,
    })
}

/// A client from `id, name, contact, services`.
fn decode_client(row: &impl Columns) -> Result<Client, StoreError> {
    let id = row.text(0)?;
    let bad =
        |what: &str, e: &dyn std::fmt::Display| corrupt(format!("client {id:?}: {what}: {e}"));
    Ok(Client {
        id: id.to_owned(),
        name: row.text(1)?.to_owned(),
        contact: UserCode::from_stored(row.text(2)?).map_err(|e| bad("contact", &e))?,
        services: serde_json::from_str::<Vec<ServiceName>>(row.text(3)?)
            .map_err(|e| bad("services", &e))?,
    })
}

/// One account per code, the last given winning (as writing them one by one would), in code
/// order: two processes importing the same accounts at once (each reads its accounts file into
/// a map, in its own order) then lock the same rows in the same order, and PostgreSQL never
/// finds them deadlocked.
fn in_code_order(accounts: &[Account]) -> Vec<&Account> {
    let mut by_code: BTreeMap<&str, &Account> = BTreeMap::new();
    for account in accounts {
        by_code.insert(account.code.as_str(), account);
    }
    by_code.into_values().collect()
}

#[async_trait]
impl Directory for SqlStore {
    async fn account(&self, code: &UserCode) -> Result<Option<Arc<Account>>, StoreError> {
        let generation = self.cache().accounts.generation();
        let read_at = Instant::now();
        let account = on!(self.pools(), read, |pool, dialect| {
            match sqlx::query(ACCOUNT.get(dialect))
                .bind(code.as_str())
                .fetch_optional(pool)
                .await
                .map_err(failed)?
            {
                Some(row) => decode_account(&row).map(|a| Some(Arc::new(a))),
                None => Ok(None),
            }
        })?;
        if let Some(account) = &account {
            let until = self.cache().until(read_at);
            self.cache()
                .accounts
                .fill(code.clone(), Arc::clone(account), until, generation);
        }
        Ok(account)
    }

    fn account_now(&self, code: &UserCode) -> Option<Result<Option<Arc<Account>>, StoreError>> {
        self.cache()
            .accounts
            .get(code)
            .map(|account| Ok(Some(account)))
    }

    /// A row whose address no longer reads is left out (and logged): it cannot receive mail,
    /// and must not make the lookup fail for everyone else.
    async fn accounts_with_email(&self, email: &Email) -> Result<Vec<Arc<Account>>, StoreError> {
        let mailbox = email.normalised();
        on!(self.pools(), read, |pool, dialect| {
            let rows = sqlx::query(BY_MAILBOX.get(dialect))
                .bind(&mailbox)
                .fetch_all(pool)
                .await
                .map_err(failed)?;
            let mut found = Vec::with_capacity(rows.len());
            for row in &rows {
                match decode_account(row) {
                    Ok(account) => found.push(Arc::new(account)),
                    Err(error) => {
                        tracing::warn!(target: "guichet", %error, "unreadable account left out of a mailbox lookup")
                    }
                }
            }
            Ok(found)
        })
    }

    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        on!(self.pools(), read, |pool, dialect| {
            match sqlx::query(CLIENT.get(dialect))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(failed)?
            {
                Some(row) => decode_client(&row).map(|c| Some(Arc::new(c))),
                None => Ok(None),
            }
        })
    }
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn clients(&self) -> Result<Vec<Arc<Client>>, StoreError> {
        on!(self.pools(), read, |pool, dialect| {
            let rows = sqlx::query(CLIENTS.get(dialect))
                .fetch_all(pool)
                .await
                .map_err(failed)?;
            rows.iter()
                .map(|row| decode_client(row).map(Arc::new))
                .collect()
        })
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let services = serde_json::to_string(&client.services).map_err(StoreError::new)?;
        on!(self.pools(), write, |pool, dialect| {
            sqlx::query(PUT_CLIENT.get(dialect))
                .bind(&client.id)
                .bind(&client.name)
                .bind(client.contact.as_str())
                .bind(&services)
                .execute(pool)
                .await
                .map_err(failed)?;
            Ok(())
        })
    }

    async fn accounts(
        &self,
        client: Option<&str>,
        after: Option<&UserCode>,
        limit: usize,
    ) -> Result<Vec<Arc<Account>>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        on!(self.pools(), read, |pool, dialect| {
            let query = match (client, after) {
                (None, None) => sqlx::query(PAGE.get(dialect)).bind(limit),
                (None, Some(after)) => sqlx::query(PAGE_AFTER.get(dialect))
                    .bind(after.as_str())
                    .bind(limit),
                (Some(client), None) => sqlx::query(CLIENT_PAGE.get(dialect))
                    .bind(client)
                    .bind(limit),
                (Some(client), Some(after)) => sqlx::query(CLIENT_PAGE_AFTER.get(dialect))
                    .bind(client)
                    .bind(after.as_str())
                    .bind(limit),
            };
            let rows = query.fetch_all(pool).await.map_err(failed)?;
            rows.iter()
                .map(|row| decode_account(row).map(Arc::new))
                .collect()
        })
    }

    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        let row = Row::of(account)?;
        let created = on!(self.pools(), write, |pool, dialect| {
            let done = bind_row!(sqlx::query(CREATE.get(dialect)), row)
                .execute(pool)
                .await
                .map_err(failed)?;
            Ok(done.rows_affected() == 1)
        });
        self.cache().accounts.forget(&account.code);
        created
    }

    async fn put_account(&self, account: &Account) -> Result<Option<Arc<Account>>, StoreError> {
        let row = Row::of(account)?;
        let previous = on!(self.pools(), write, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(failed)?;
            let previous = sqlx::query(PREVIOUS.get(dialect))
                .bind(row.code)
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed)?
                .map(|row| decode_account(&row).map(Arc::new))
                .transpose()?;
            bind_row!(sqlx::query(PUT.get(dialect)), row)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            tx.commit().await.map_err(failed)?;
            Ok(previous)
        });
        self.cache().accounts.forget(&account.code);
        previous
    }

    /// One transaction, a batch of accounts per statement.
    async fn put_accounts(&self, accounts: &[Account]) -> Result<(), StoreError> {
        let accounts = in_code_order(accounts);
        let rows = accounts
            .iter()
            .map(|account| Row::of(account))
            .collect::<Result<Vec<_>, _>>()?;
        let written = on!(self.pools(), write, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(failed)?;
            for chunk in rows.chunks(BATCH) {
                let partial;
                let sql = if chunk.len() == BATCH {
                    put_batch()
                } else {
                    partial = put_many(chunk.len());
                    partial.as_str()
                };
                let mut query = sqlx::query(sql);
                for row in chunk {
                    query = bind_row!(query, row);
                }
                query.execute(&mut *tx).await.map_err(failed)?;
            }
            tx.commit().await.map_err(failed)
        });
        self.cache().accounts.clear();
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_numbers_its_parameters_row_after_row() {
        let sql = put_many(2);
        assert!(sql.contains("($1, $2, $3, $4, $5, $6, $7, $8, $9), ($10, "));
        assert!(sql.contains("$18)"));
        assert!(!sql.contains("$19"));
    }

    #[test]
    fn the_last_account_of_a_code_wins_and_codes_come_in_order() {
        let code = UserCode::from_stored("A-1").unwrap();
        let accounts = [
            Account::new(code.clone(), "first", "acme"),
            Account::new(UserCode::from_stored("B-1").unwrap(), "other", "acme"),
            Account::new(code, "second", "acme"),
        ];
        let names: Vec<&str> = in_code_order(&accounts)
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["second", "other"]);
    }

    #[test]
    fn statuses_are_spelt_as_in_the_accounts_file() {
        assert_eq!(status_name(AccountStatus::Disabled).unwrap(), "disabled");
        assert_eq!(status_name(AccountStatus::Active).unwrap(), "active");
    }
}
