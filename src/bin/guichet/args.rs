//! The command line, as clap reads it (every command takes `--json`).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Customer service's tools for a guichet portal, and `guichet serve`.
#[derive(Parser)]
#[command(name = "guichet", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Answer in JSON (for scripts).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Who is acting, for the audit log (default: $GUICHET_OPERATOR, else $USER, else `cli`).
    #[arg(long, global = true, env = "GUICHET_OPERATOR")]
    pub(crate) operator: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Accounts: list, show, add, disable, enable, import.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Temporary passwords read out on the phone.
    #[command(subcommand)]
    Password(PasswordCommand),
    /// User codes, re-sent by email (never a password).
    #[command(subcommand)]
    Code(CodeCommand),
    /// Sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Sign-in throttles.
    #[command(subcommand)]
    Throttle(ThrottleCommand),
    /// Shared inboxes: addresses several people read, where no credential is ever mailed.
    #[command(subcommand)]
    Inbox(InboxCommand),
    /// Contact persons' requests for user codes for new employees.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// Reads a password on stdin and prints its argon2id PHC string (for accounts files).
    HashPassword,
    /// The sign-in desk as a server: the flows, /auth/verify for reverse proxies, /health.
    Serve,
}

#[derive(Subcommand)]
pub(crate) enum AccountsCommand {
    /// Every account, or a client's.
    List {
        /// Only this client's accounts.
        #[arg(long)]
        client: Option<String>,
    },
    /// One account: profile, shared inbox, sessions, temporary password, throttle.
    Show {
        /// The user code.
        code: String,
    },
    /// Adds an account (the next free code in the client's pattern unless `--code`).
    Add(AddAccount),
    /// Disables an account: its sessions end, sign-ins fail.
    Disable {
        /// The user code.
        code: String,
    },
    /// Enables an account again.
    Enable {
        /// The user code.
        code: String,
    },
    /// Imports an accounts file: accounts and clients created or updated, others kept.
    Import {
        /// The TOML accounts file.
        file: std::path::PathBuf,
    },
}

#[derive(Args)]
pub(crate) struct AddAccount {
    /// The client.
    #[arg(long)]
    pub(crate) client: String,
    /// Full name.
    #[arg(long)]
    pub(crate) name: String,
    /// Email address.
    #[arg(long)]
    pub(crate) email: String,
    /// Services, comma-separated (default: the client's).
    #[arg(long, value_delimiter = ',')]
    pub(crate) services: Vec<String>,
    /// A user code of your choice.
    #[arg(long)]
    pub(crate) code: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum PasswordCommand {
    /// Prints a temporary password, once, to read out on the phone: single use, opening only
    /// the "choose your password" page.
    Issue {
        /// The user code.
        code: String,
        /// How long it works (`24h`, `30m`, `90min`; at most 24 hours).
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        valid: Duration,
    },
}

#[derive(Subcommand)]
pub(crate) enum CodeCommand {
    /// Emails the user code of an account, or the codes of every account at an address.
    Send {
        /// A user code or an email address.
        target: String,
        /// Send even to a shared inbox.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum SessionsCommand {
    /// Signs the account out everywhere.
    Revoke {
        /// The user code.
        code: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ThrottleCommand {
    /// Forgets the account's failed sign-ins.
    Clear {
        /// The user code.
        code: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum InboxCommand {
    /// Marks every account at the address as a shared inbox.
    Mark {
        /// The address.
        email: String,
    },
    /// Takes the mark off.
    Unmark {
        /// The address.
        email: String,
    },
    /// Says whether the address is a shared inbox, and why.
    Check {
        /// The address.
        email: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum RequestsCommand {
    /// Requests waiting for a decision (all with `--all`).
    List {
        /// Decided ones too.
        #[arg(long)]
        all: bool,
    },
    /// Approves: one account per person; each gets their code, the contact person is told.
    Approve {
        /// The request.
        id: String,
    },
    /// Rejects, telling the contact person why.
    Reject {
        /// The request.
        id: String,
        /// Why (the contact person reads it).
        #[arg(long)]
        reason: String,
    },
}
