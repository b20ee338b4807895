//! `guichet`: customer service's tools, on the portal's own state (the same `GUICHET_*`
//! environment, from the same working directory), and the sign-in desk as a server.
//!
//! Every command takes `--json`. Exit status: `0` done, `1` refused or not found (the reason
//! on stderr), `2` a usage error. Nothing printed or logged holds a secret, except the one
//! temporary password `password issue` exists to print.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use guichet::customer_service::{NewAccount, ServiceError};
use guichet::environment::{Environment, Import, SetupError};
use guichet::store::memory::AccountsImport;
use guichet::{Email, ServiceName};
use serde_json::json;

mod args;
mod output;
mod serve;

use args::{
    AccountsCommand, Cli, CodeCommand, Command, InboxCommand, PasswordCommand, RequestsCommand,
    SessionsCommand, ThrottleCommand,
};
use output::{done, marked_output, rfc3339, show_json, show_text, status, Output};

/// A failure: refused or not found (exit 1), with the message for stderr.
struct Failure(String);

impl From<ServiceError> for Failure {
    fn from(error: ServiceError) -> Self {
        Self(error.to_string())
    }
}

impl From<SetupError> for Failure {
    fn from(error: SetupError) -> Self {
        Self(error.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let environment = Environment::from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("guichet: {error}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli, environment));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("guichet: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli, environment: Environment) -> Result<(), Failure> {
    let json = cli.json;
    let operator = cli
        .operator
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    match cli.command {
        Command::HashPassword => return hash_password(&environment, json),
        Command::Serve => {
            environment.init_logging();
            return serve::run(environment).await.map_err(Failure);
        }
        _ => {}
    }
    environment.init_command_logging();
    let opened = environment.open(Import::No).await?;
    let guichet = opened.guichet;
    let service = guichet.customer_service(operator);
    let code = |typed: &str| {
        guichet
            .user_code(typed)
            .map_err(|e| Failure(format!("user code {typed:?}: {e}")))
    };
    let email = |typed: &str| {
        Email::parse(typed).map_err(|_| Failure(format!("{typed:?} is not an email address")))
    };
    let out = match cli.command {
        Command::Accounts(AccountsCommand::List { client }) => {
            let accounts = service.accounts(client.as_deref()).await?;
            if json {
                let list: Vec<_> = accounts
                    .iter()
                    .map(|a| {
                        json!({
                            "code": a.code,
                            "name": a.name,
                            "email": a.email.as_ref().map(Email::as_str),
                            "client": a.client,
                            "services": a.services,
                            "status": a.status,
                        })
                    })
                    .collect();
                Output::Json(json!(list))
            } else {
                Output::Text(
                    accounts
                        .iter()
                        .map(|a| {
                            format!(
                                "{}\t{}\t{}\t{}\t{}",
                                a.code,
                                a.name,
                                a.email.as_ref().map_or("-", Email::as_str),
                                a.client,
                                status(a.status)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            }
        }
        Command::Accounts(AccountsCommand::Show { code: typed }) => {
            let report = service.account(&code(&typed)?).await?;
            if json {
                Output::Json(show_json(&report))
            } else {
                Output::Text(show_text(&report))
            }
        }
        Command::Accounts(AccountsCommand::Add(add)) => {
            let mut new = NewAccount::new(add.client, add.name, email(&add.email)?);
            new.services = add.services.iter().map(ServiceName::new).collect();
            new.code = add.code.as_deref().map(code).transpose()?;
            let created = service.add_account(new).await?;
            if json {
                Output::Json(json!({ "code": created }))
            } else {
                Output::Text(format!("{created}"))
            }
        }
        Command::Accounts(AccountsCommand::Disable { code: typed }) => {
            service.disable(&code(&typed)?).await?;
            done(json, format!("{typed} disabled: its sessions ended"))
        }
        Command::Accounts(AccountsCommand::Enable { code: typed }) => {
            service.enable(&code(&typed)?).await?;
            done(json, format!("{typed} enabled"))
        }
        Command::Accounts(AccountsCommand::Import { file }) => {
            let case = guichet.config().user_codes.case;
            let accounts = AccountsImport::load(&file, case).map_err(|e| Failure(e.to_string()))?;
            let report = service.import(&accounts).await?;
            if json {
                Output::Json(json!(report))
            } else {
                Output::Text(format!(
                    "{} created, {} updated, {} unchanged, {} clients written, {} signed out (new password)",
                    report.created, report.updated, report.unchanged, report.clients, report.signed_out
                ))
            }
        }
        Command::Password(PasswordCommand::Issue { code: typed, valid }) => {
            let issued = service.issue_password(&code(&typed)?, valid).await?;
            let expires = rfc3339(issued.expires_at);
            if json {
                Output::Json(json!({
                    "code": issued.code,
                    "password": issued.password,
                    "expires_at": expires,
                }))
            } else {
                Output::Text(format!(
                    "{}\n(for {}, single use, until {expires}: it opens only the \"choose your password\" page)",
                    issued.password, issued.code
                ))
            }
        }
        Command::Code(CodeCommand::Send { target, force }) => {
            let sent = service.send_code(&target, force).await?;
            if json {
                Output::Json(json!({ "sent": sent }))
            } else {
                let list: Vec<String> = sent.iter().map(ToString::to_string).collect();
                Output::Text(format!("sent by email: {}", list.join(", ")))
            }
        }
        Command::Sessions(SessionsCommand::Revoke { code: typed }) => {
            service.revoke_sessions(&code(&typed)?).await?;
            done(json, format!("{typed} is signed out everywhere"))
        }
        Command::Throttle(ThrottleCommand::Clear { code: typed }) => {
            service.clear_throttle(&code(&typed)?).await?;
            done(json, format!("{typed} may sign in again"))
        }
        Command::Inbox(InboxCommand::Mark { email: typed }) => {
            let marked = service.mark_inbox(&email(&typed)?).await?;
            marked_output(json, "marked shared", &marked)
        }
        Command::Inbox(InboxCommand::Unmark { email: typed }) => {
            let unmarked = service.unmark_inbox(&email(&typed)?).await?;
            marked_output(json, "unmarked", &unmarked)
        }
        Command::Inbox(InboxCommand::Check { email: typed }) => {
            let report = service.check_inbox(&email(&typed)?).await?;
            if json {
                Output::Json(json!(report))
            } else {
                Output::Text(match report.reason {
                    Some(reason) => format!("shared ({reason})"),
                    None => "not shared".to_owned(),
                })
            }
        }
        Command::Requests(RequestsCommand::List { all }) => {
            let requests = service.requests(all).await?;
            let list: Vec<serde_json::Value> = requests
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "client": r.client,
                        "contact": r.contact,
                        "people": r.people.iter().map(|p| json!({ "name": p.name, "email": p.email.as_str() })).collect::<Vec<_>>(),
                        "status": r.status.name(),
                        "created_at": rfc3339(r.created_at),
                    })
                })
                .collect();
            if json {
                Output::Json(json!(list))
            } else {
                Output::Text(
                    requests
                        .iter()
                        .map(|r| {
                            let people: Vec<String> = r
                                .people
                                .iter()
                                .map(|p| format!("{} <{}>", p.name, p.email.as_str()))
                                .collect();
                            format!(
                                "{}\t{}\t{}\t{}\t{}\t{}",
                                r.id,
                                r.status.name(),
                                rfc3339(r.created_at),
                                r.client,
                                r.contact,
                                people.join(", ")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            }
        }
        Command::Requests(RequestsCommand::Approve { id }) => {
            let approved = service.approve(&id).await?;
            if json {
                Output::Json(json!(approved))
            } else {
                Output::Text(
                    approved
                        .accounts
                        .iter()
                        .map(|a| format!("{}\t{}\t{}", a.code, a.name, a.email))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            }
        }
        Command::Requests(RequestsCommand::Reject { id, reason }) => {
            service.reject(&id, &reason).await?;
            done(json, format!("{id} rejected; the contact person is told"))
        }
        // Answered above, before the stores open.
        Command::HashPassword | Command::Serve => return Ok(()),
    };
    // Letters queued by the command leave before it exits (or wait in the durable queue).
    guichet.shutdown(Duration::from_secs(10)).await;
    out.print();
    Ok(())
}

/// `hash-password`: a password on stdin (one line, as typed: only the line break is
/// removed), its PHC string on stdout, with the configured argon2 parameters.
fn hash_password(environment: &Environment, json: bool) -> Result<(), Failure> {
    let config = environment.config()?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Failure(format!("stdin: {e}")))?;
    let typed = input
        .strip_suffix("\r\n")
        .or_else(|| input.strip_suffix('\n'))
        .unwrap_or(&input);
    let runtime = tokio::runtime::Handle::current();
    let hasher =
        guichet::password::Hasher::new(&config.passwords).map_err(|e| Failure(e.to_string()))?;
    let password = hasher
        .password(typed)
        .map_err(|e| Failure(format!("the password: {e}")))?;
    let hash = tokio::task::block_in_place(|| runtime.block_on(hasher.hash(&password)))
        .map_err(|e| Failure(e.to_string()))?;
    if json {
        println!("{}", json!({ "password_hash": hash }));
    } else {
        println!("{hash}");
    }
    Ok(())
}
