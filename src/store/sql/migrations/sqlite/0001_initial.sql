-- guichet's tables on SQLite. Times are microseconds since the Unix epoch unless they are
-- a session's own (unix seconds, as `SessionRecord` keeps them). Documented in
-- `store::sql` (the module docs): keep the two in step.

CREATE TABLE guichet_sessions (
    session_key BLOB PRIMARY KEY,  -- SHA-256 of the session id (its cookie text): 32 bytes
    user_code   TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,  -- unix seconds
    last_seen   INTEGER NOT NULL,  -- unix seconds
    restricted  TEXT,              -- hash of the temporary password's cancel token
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX guichet_sessions_by_user_code ON guichet_sessions (user_code);
CREATE INDEX guichet_sessions_by_expiry ON guichet_sessions (expires_at);

CREATE TABLE guichet_credentials (
    user_code TEXT PRIMARY KEY,
    version   INTEGER NOT NULL,
    state     TEXT NOT NULL        -- JSON
);

CREATE TABLE guichet_limits (
    limit_name TEXT NOT NULL,
    limit_key  TEXT NOT NULL,
    tat        INTEGER NOT NULL,   -- GCRA theoretical arrival time
    PRIMARY KEY (limit_name, limit_key)
) WITHOUT ROWID;
CREATE INDEX guichet_limits_by_tat ON guichet_limits (tat);

CREATE TABLE guichet_letters (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
    letter   TEXT NOT NULL,        -- JSON
    due_at   INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX guichet_letters_by_due ON guichet_letters (due_at, id);

CREATE TABLE guichet_requests (
    id         TEXT PRIMARY KEY,
    status     TEXT NOT NULL,      -- pending, approved, rejected
    created_at INTEGER NOT NULL,   -- unix seconds
    request    TEXT NOT NULL       -- JSON
);
CREATE INDEX guichet_requests_by_status ON guichet_requests (status, created_at, id);
CREATE INDEX guichet_requests_by_age ON guichet_requests (created_at, id);

CREATE TABLE guichet_clients (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    contact  TEXT NOT NULL,
    services TEXT NOT NULL         -- JSON array
);

CREATE TABLE guichet_accounts (
    user_code     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT,
    mailbox       TEXT,            -- Email::normalised() of email
    client        TEXT NOT NULL,
    services      TEXT NOT NULL,   -- JSON array
    password_hash TEXT,
    status        TEXT NOT NULL,   -- active, disabled
    shared_inbox  INTEGER NOT NULL
);
CREATE INDEX guichet_accounts_by_mailbox ON guichet_accounts (mailbox);
CREATE INDEX guichet_accounts_by_client ON guichet_accounts (client, user_code);
