//! Every store guichet ships is held to one contract (`guichet::store::contract`, public with
//! the `test-util` feature so that stores written elsewhere can run it too): a `create` never
//! overwrites, a `touch` never resurrects, a credential state is replaced only by a writer that
//! read its current version, a throttle refusal counts nothing, ...

use guichet::store::memory::MemoryStore;

mod memory {
    use super::*;

    mod sessions {
        use super::*;
        guichet::store_contract!(sessions, MemoryStore::new());
    }
    mod credentials {
        use super::*;
        guichet::store_contract!(credentials, MemoryStore::new());
    }
    mod throttle {
        use super::*;
        guichet::store_contract!(throttle, MemoryStore::new());
    }
    mod rate_limits {
        use super::*;
        guichet::store_contract!(rate_limits, MemoryStore::new());
    }
    mod mail_queue {
        use super::*;
        guichet::store_contract!(mail_queue, MemoryStore::new());
    }
    mod requests {
        use super::*;
        guichet::store_contract!(requests, MemoryStore::new());
    }
    mod accounts {
        use super::*;
        guichet::store_contract!(accounts, MemoryStore::new());
    }
}

#[cfg(feature = "redis")]
mod redis_server;

#[cfg(feature = "postgres")]
mod postgres_server;
#[cfg(feature = "sqlite")]
mod sqlite_file;

/// A store on a new SQLite file.
#[cfg(feature = "sqlite")]
async fn sqlite_store() -> guichet::store::sql::SqlStore {
    guichet::store::sql::SqlStore::connect(&sqlite_file::url("contract"))
        .await
        .expect("a SQLite store")
}

/// A store on a new database of the shared test server.
#[cfg(feature = "postgres")]
async fn postgres_store() -> guichet::store::sql::SqlStore {
    let url = postgres_server::shared().fresh_database("contract");
    guichet::store::sql::SqlStore::connect(&url)
        .await
        .expect("a PostgreSQL store")
}

#[cfg(feature = "sqlite")]
mod sqlite {
    mod sessions {
        guichet::store_contract!(sessions, crate::sqlite_store().await);
    }
    mod credentials {
        guichet::store_contract!(credentials, crate::sqlite_store().await);
    }
    mod throttle {
        guichet::store_contract!(throttle, crate::sqlite_store().await);
    }
    mod rate_limits {
        guichet::store_contract!(rate_limits, crate::sqlite_store().await);
    }
    mod mail_queue {
        guichet::store_contract!(mail_queue, crate::sqlite_store().await);
    }
    mod requests {
        guichet::store_contract!(requests, crate::sqlite_store().await);
    }
    mod accounts {
        guichet::store_contract!(accounts, crate::sqlite_store().await);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    mod sessions {
        guichet::store_contract!(sessions, crate::postgres_store().await);
    }
    mod credentials {
        guichet::store_contract!(credentials, crate::postgres_store().await);
    }
    mod throttle {
        guichet::store_contract!(throttle, crate::postgres_store().await);
    }
    mod rate_limits {
        guichet::store_contract!(rate_limits, crate::postgres_store().await);
    }
    mod mail_queue {
        guichet::store_contract!(mail_queue, crate::postgres_store().await);
    }
    mod requests {
        guichet::store_contract!(requests, crate::postgres_store().await);
    }
    mod accounts {
        guichet::store_contract!(accounts, crate::postgres_store().await);
    }
}

/// A store on the shared test server, under a prefix of its own.
#[cfg(feature = "redis")]
async fn redis_store() -> guichet::store::redis::RedisStore {
    let server = redis_server::shared();
    guichet::store::redis::RedisStore::connect(
        &server.url(),
        &redis_server::unique_prefix("contract"),
    )
    .await
    .expect("a redis store")
}

#[cfg(feature = "redis")]
mod redis {
    mod sessions {
        guichet::store_contract!(sessions, crate::redis_store().await);
    }
    mod credentials {
        guichet::store_contract!(credentials, crate::redis_store().await);
    }
    mod throttle {
        guichet::store_contract!(throttle, crate::redis_store().await);
    }
    mod rate_limits {
        guichet::store_contract!(rate_limits, crate::redis_store().await);
    }
    mod mail_queue {
        guichet::store_contract!(mail_queue, crate::redis_store().await);
    }
    mod requests {
        guichet::store_contract!(requests, crate::redis_store().await);
    }
    mod accounts {
        guichet::store_contract!(accounts, crate::redis_store().await);
    }
}

/// The whole contract against a three-master Redis Cluster, each check under its own prefix
/// (so its keys land on different slots and nodes).
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_master_redis_cluster_passes_the_same_contract() {
    use guichet::store::contract::*;
    let cluster = redis_server::RedisCluster::start();
    let urls = cluster.urls();
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    let store = || async {
        guichet::store::redis::RedisStore::connect_cluster(
            &nodes,
            &redis_server::unique_prefix("cluster"),
        )
        .await
        .expect("a cluster store")
    };
    a_created_session_loads_back_identically(store().await).await;
    create_never_overwrites_an_existing_session(store().await).await;
    a_destroyed_session_is_gone_and_destroying_twice_is_fine(store().await).await;
    touch_records_the_use_but_never_resurrects(store().await).await;
    sessions_of_lists_the_stored_sessions_of_one_account(store().await).await;
    an_unknown_account_has_the_default_state_at_version_zero(store().await).await;
    a_saved_state_loads_back_with_a_new_version(store().await).await;
    a_save_from_a_stale_version_is_refused(store().await).await;
    of_concurrent_saves_from_one_version_exactly_one_succeeds(store().await).await;
    a_temporary_password_signs_in_exactly_once_under_concurrent_attempts(store().await).await;
    a_throttle_admits_the_burst_then_refuses_without_counting_refusals(store().await).await;
    peeking_at_a_throttle_spends_nothing(store().await).await;
    clearing_forgets_every_attempt(store().await).await;
    a_rate_limit_admits_the_burst_then_one_per_interval(store().await).await;
    letters_come_out_in_order_and_once_each_while_leased(store().await).await;
    a_retried_letter_waits_and_counts_its_attempts(store().await).await;
    a_full_queue_refuses_instead_of_growing(store().await).await;
    a_request_is_added_once_and_reads_back(store().await).await;
    requests_are_listed_oldest_first_and_pending_unless_all(store().await).await;
    a_request_is_decided_once(store().await).await;
    an_account_put_reads_back_and_is_replaced_by_code(store().await).await;
    creating_an_account_refuses_a_taken_code(store().await).await;
    accounts_are_listed_by_code_in_pages_and_by_client(store().await).await;
    accounts_with_one_mailbox_are_found_under_any_spelling(store().await).await;
    clients_are_put_read_and_listed(store().await).await;
}
