//! `GET/POST /auth/team`: the client's contact person asks customer service for user codes
//! for new employees, with each person's full name and email address, as the portal's FAQ
//! says. Only the contact person of the account's client may (others get `403`); anonymous
//! visitors are answered as on any protected route.
//!
//! One to twenty people; every row is checked and the answer says what is wrong with each
//! (`422`): a missing name, an address mail cannot go to, the same address twice, or a shared
//! inbox (a role address, or one another account already uses), where no password would ever
//! be sent. The request is stored for operators (`guichet requests list`), mailed to customer
//! service (`mail.customer_service_email`) if an address is set, and answered `201` with its
//! identifier. Requests are limited per contact person (`accounts.requests_per_contact`).

use std::collections::HashSet;
use std::sync::Arc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use http::request::Parts;
use http::{Response, StatusCode};

use crate::audit::AuditEvent;
use crate::context::Context;
use crate::deny::Denial;
use crate::error::Refusal;
use crate::identity::{Client, Email, Identity};
use crate::inbox;
use crate::letters;
use crate::limit::Limit;
use crate::mail::{Letter, LetterKind};
use crate::origin;
use crate::pages::{Messages, TeamPage, TeamRow};
use crate::respond::{self, Body};
use crate::session::{unix_now, Session, SessionState};
use crate::store::{CodeRequest, NewPerson};

use super::{form, RequestBody};

/// The most people one request may hold.
const MAX_PEOPLE: usize = 20;
/// Rows shown on a fresh form.
const ROWS: usize = 5;
/// The longest full name.
const MAX_NAME: usize = 100;

/// The contact person and their client, or the answer for everyone else.
async fn contact(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
) -> Result<Result<(Identity, Arc<Client>), Response<Body>>, Refusal> {
    let denial = match session.state().await {
        Ok(SessionState::SignedIn(identity)) => {
            let client = ctx.directory.client(identity.client()).await?;
            return Ok(match client {
                Some(client) if client.contact == *identity.user_code() => Ok((identity, client)),
                _ => Err(ctx.respond.message(
                    &parts.into(),
                    StatusCode::FORBIDDEN,
                    "not_contact_person",
                    |m| m.team_not_contact,
                )),
            });
        }
        Ok(SessionState::MustChoosePassword(_)) => Denial::PasswordMustBeSet,
        Ok(_) => Denial::SignInRequired,
        Err(_) => Denial::Unavailable,
    };
    Ok(Err(ctx
        .deny(denial, &parts.method, &parts.uri, &parts.headers)
        .await))
}

/// The form, with `?rows=N` rows (five by default, twenty at most).
pub(crate) async fn page(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
) -> Result<Response<Body>, Refusal> {
    let (_, client) = match contact(ctx, session, parts).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    if respond::wants_json(&parts.headers) {
        return Ok(respond::json(
            StatusCode::OK,
            &serde_json::json!({ "fields": { "people": [{ "name": "", "email": "" }] }, "max": MAX_PEOPLE }),
        ));
    }
    let rows = form::query(&parts.uri, &["rows"])?
        .get("rows")
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(ROWS, |n| n.clamp(1, MAX_PEOPLE));
    let empty = vec![TeamRow::default(); rows];
    Ok(render(ctx, parts, &client, StatusCode::OK, &empty, None))
}

fn render(
    ctx: &Context,
    parts: &Parts,
    client: &Client,
    status: StatusCode,
    rows: &[TeamRow<'_>],
    error: Option<&str>,
) -> Response<Body> {
    let more = (rows.len() < MAX_PEOPLE).then(|| {
        let more = (rows.len() + ROWS).min(MAX_PEOPLE);
        format!("{}?rows={more}", ctx.respond.links.team())
    });
    let page = TeamPage {
        language: ctx.respond.language(&parts.headers),
        action: ctx.respond.links.team(),
        client: &client.name,
        rows,
        error,
        more_rows: more.as_deref(),
        assets: ctx.respond.links.assets(),
        layout: ctx.respond.layout(&parts.into(), None),
    };
    ctx.respond.html(status, ctx.respond.pages.team(&page))
}

/// `POST`: the request.
pub(crate) async fn submit<B>(
    ctx: &Context,
    session: &Session,
    parts: &Parts,
    body: B,
) -> Result<Response<Body>, Refusal>
where
    B: RequestBody,
{
    origin::check(&ctx.origin, &parts.headers)?;
    let (identity, client) = match contact(ctx, session, parts).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let sent = form::read_people(&parts.headers, body).await?;
    let m = Messages::of(ctx.respond.language(&parts.headers));

    let (people, problems) = check(ctx, m, &sent).await?;
    let whole = match sent.len() {
        0 => Some(m.team_nobody),
        n if n > MAX_PEOPLE => Some(m.team_too_many),
        _ => None,
    };
    if whole.is_some() || problems.iter().any(Option::is_some) {
        return Ok(unprocessable(ctx, parts, &client, &sent, &problems, whole));
    }
    if let Err(wait) = ctx
        .limit(Limit::CodeRequestPerContact, identity.user_code().as_str())
        .await?
    {
        return Err(Refusal::Throttled { retry_after: wait });
    }

    let mut request = CodeRequest::new(
        request_id(),
        client.id.clone(),
        identity.user_code().clone(),
        people,
        unix_now(),
    );
    while !ctx.store.add_request(&request).await? {
        request.id = request_id();
    }
    let language = ctx.respond.language(&parts.headers);
    let letter = Letter::new(
        LetterKind::CodeRequest,
        identity.user_code().clone(),
        language,
    )
    .about_request(&request.id);
    if ctx.config.mail.customer_service_email.is_some() {
        letters::post(ctx, &letter).await?;
    }
    ctx.audit.emit(&AuditEvent::CodesRequested {
        user_code: identity.user_code().clone(),
        request: request.id.clone(),
        people: request.people.len(),
    });
    if respond::wants_json(&parts.headers) {
        return Ok(respond::json(
            StatusCode::CREATED,
            &serde_json::json!({ "request": request.id }),
        ));
    }
    let message = format!("{} {}", m.team_sent, request.id);
    let mut page = super::password::notice(ctx, parts, m.team_sent_title, &message, None);
    *page.status_mut() = StatusCode::CREATED;
    Ok(page)
}

/// The people as sent, checked row by row: the request's people, and each row's problem.
async fn check(
    ctx: &Context,
    m: &'static Messages,
    sent: &[(String, String)],
) -> Result<(Vec<NewPerson>, Vec<Option<&'static str>>), Refusal> {
    let mut people = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (name, email) in sent.iter().take(MAX_PEOPLE) {
        let name = name.trim();
        let problem = if !crate::identity::is_plain_name(name, MAX_NAME) {
            Some(m.team_invalid_name)
        } else {
            match Email::parse(email) {
                Err(_) => Some(m.team_invalid_email),
                Ok(email) if !seen.insert(email.normalised()) => Some(m.team_duplicate_email),
                Ok(email) => {
                    // The address must be this person's own: a role address, or one another
                    // account already uses, would be a shared inbox.
                    let others = ctx.directory.accounts_with_email(&email).await?;
                    let shared = !others.is_empty()
                        || inbox::rule(&email, &others, &ctx.config.shared_inbox).is_some();
                    if shared {
                        Some(m.team_shared_email)
                    } else {
                        people.push(NewPerson::new(name, email));
                        None
                    }
                }
            }
        };
        problems.push(problem);
    }
    Ok((people, problems))
}

/// `422`: JSON with each row's problem, or the form again with the rows as sent.
fn unprocessable(
    ctx: &Context,
    parts: &Parts,
    client: &Client,
    sent: &[(String, String)],
    problems: &[Option<&str>],
    whole: Option<&str>,
) -> Response<Body> {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    if respond::wants_json(&parts.headers) {
        let rows: Vec<serde_json::Value> = problems
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| serde_json::json!({ "row": i + 1, "message": p })))
            .collect();
        return respond::json(
            status,
            &serde_json::json!({ "error": "invalid_people", "message": whole, "rows": rows }),
        );
    }
    let mut rows: Vec<TeamRow<'_>> = sent
        .iter()
        .take(MAX_PEOPLE)
        .zip(problems)
        .map(|((name, email), problem)| TeamRow::new(name, email, *problem))
        .collect();
    if rows.is_empty() {
        rows = vec![TeamRow::default(); ROWS];
    }
    render(ctx, parts, client, status, &rows, whole)
}

/// `R-` and six characters operators can read out (no look-alikes).
fn request_id() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut id = String::from("R-");
    while id.len() < 8 {
        let mut byte = [0u8; 1];
        OsRng.fill_bytes(&mut byte);
        // 248 = 8 × 31: rejection sampling keeps every character equally likely.
        if byte[0] < 248 {
            id.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    id
}
