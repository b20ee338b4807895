//! The emails guichet sends, in French and English, as multipart text + HTML: the temporary
//! password; the shared-inbox notice, which carries no credential and sends the person to
//! customer service (as the FAQ asks); user codes re-sent by customer service; the welcome of a
//! new employee; and the letters about a contact person's request.

use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use crate::config::MailConfig;
use crate::identity::{Account, Email};
use crate::pages::{escape, Language};

/// A message could not be built (an address in the configuration or the directory is unusable).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the email: {0}")]
pub(crate) struct TemplateError(String);

/// What the temporary-password email says.
#[derive(Debug)]
pub(crate) struct TemporaryPasswordEmail<'a> {
    /// Whose.
    pub(crate) account: &'a Account,
    /// The stored address it goes to.
    pub(crate) to: &'a Email,
    /// The temporary password, as generated (grouped).
    pub(crate) password: &'a str,
    /// When it stops working, unix seconds.
    pub(crate) expires_at: u64,
    /// The "this wasn't me" link.
    pub(crate) cancel_url: &'a str,
    /// The language.
    pub(crate) language: Language,
}

/// The temporary-password email.
pub(crate) fn temporary_password(
    config: &MailConfig,
    mail: &TemporaryPasswordEmail<'_>,
) -> Result<Message, TemplateError> {
    let expiry = utc_minute(mail.expires_at);
    let code = mail.account.code.as_str();
    let name = &mail.account.name;
    let (subject, lines) = match mail.language {
        Language::Fr => (
            "Votre mot de passe temporaire",
            vec![
                format!("Bonjour {name},"),
                format!("Vous avez demandé votre mot de passe pour le code d'utilisateur {code}."),
                format!("Votre mot de passe temporaire : {}", mail.password),
                format!(
                    "Il fonctionne une seule fois, jusqu'au {expiry} (UTC). Après l'avoir utilisé, vous choisirez votre propre mot de passe. D'ici là, votre mot de passe actuel continue de fonctionner."
                ),
                "Les tirets et la casse n'ont pas d'importance : tapez-le tel que vous le voyez.".to_owned(),
                format!("Vous n'avez pas fait cette demande? Annulez-la : {}", mail.cancel_url),
                "Service à la clientèle".to_owned(),
            ],
        ),
        _ => (
            "Your temporary password",
            vec![
                format!("Hello {name},"),
                format!("You asked for your password for user code {code}."),
                format!("Your temporary password: {}", mail.password),
                format!(
                    "It works once, until {expiry} (UTC). After using it you will choose your own password. Until then, your current password keeps working."
                ),
                "Dashes and letter case do not matter: type it as you see it.".to_owned(),
                format!("Did not ask for it? Cancel the request: {}", mail.cancel_url),
                "Customer service".to_owned(),
            ],
        ),
    };
    build(
        config,
        mail.to.as_str(),
        subject,
        &lines,
        Some(mail.cancel_url),
    )
}

/// The notice sent instead of a credential when the address is a shared inbox.
pub(crate) fn shared_inbox_notice(
    config: &MailConfig,
    account: &Account,
    to: &Email,
    language: Language,
) -> Result<Message, TemplateError> {
    let code = account.code.as_str();
    let (phone, hours) = (
        &config.customer_service_phone,
        &config.customer_service_hours,
    );
    let (subject, lines) = match language {
        Language::Fr => (
            "Demande de mot de passe",
            vec![
                "Bonjour,".to_owned(),
                format!("Une demande de mot de passe a été faite pour le code d'utilisateur {code}."),
                "Cette adresse de courriel est partagée : pour des raisons de sécurité, aucun mot de passe n'est envoyé à une adresse partagée.".to_owned(),
                format!("Veuillez communiquer avec le service à la clientèle au {phone} ({hours}) pour l'obtenir verbalement."),
                "Service à la clientèle".to_owned(),
            ],
        ),
        _ => (
            "Password request",
            vec![
                "Hello,".to_owned(),
                format!("A password was requested for user code {code}."),
                "This email address is shared: for security reasons, no password is ever sent to a shared address.".to_owned(),
                format!("Please call customer service at {phone} ({hours}) to get it verbally."),
                "Customer service".to_owned(),
            ],
        ),
    };
    build(config, to.as_str(), subject, &lines, None)
}

/// User codes re-sent by customer service: never a password, and where to get one.
pub(crate) fn user_codes(
    config: &MailConfig,
    to: &Email,
    accounts: &[&Account],
    password_request: &str,
    language: Language,
) -> Result<Message, TemplateError> {
    let list = accounts
        .iter()
        .map(|a| format!("{} ({})", a.code, a.name))
        .collect::<Vec<_>>()
        .join(", ");
    let (subject, lines) = match language {
        Language::Fr => (
            "Votre code d'utilisateur",
            vec![
                "Bonjour,".to_owned(),
                format!("Voici le code d'utilisateur demandé au service à la clientèle : {list}."),
                format!("Pour obtenir votre mot de passe, inscrivez votre code d'utilisateur sur cette page : {password_request}"),
                "Service à la clientèle".to_owned(),
            ],
        ),
        _ => (
            "Your user code",
            vec![
                "Hello,".to_owned(),
                format!("Here is the user code you asked customer service for: {list}."),
                format!("To get your password, enter your user code on this page: {password_request}"),
                "Customer service".to_owned(),
            ],
        ),
    };
    build(config, to.as_str(), subject, &lines, Some(password_request))
}

/// Welcome to a new employee: their user code and where to get a password (never a password).
pub(crate) fn welcome(
    config: &MailConfig,
    account: &Account,
    to: &Email,
    client: &str,
    password_request: &str,
    language: Language,
) -> Result<Message, TemplateError> {
    let (code, name) = (account.code.as_str(), &account.name);
    let (subject, lines) = match language {
        Language::Fr => (
            "Votre accès au site",
            vec![
                format!("Bonjour {name},"),
                format!("Un accès au site a été créé pour vous ({client}). Votre code d'utilisateur : {code}"),
                format!("Pour obtenir votre mot de passe, inscrivez votre code d'utilisateur sur cette page, puis consultez vos courriels : {password_request}"),
                "Service à la clientèle".to_owned(),
            ],
        ),
        _ => (
            "Your access to the portal",
            vec![
                format!("Hello {name},"),
                format!("An access to the portal was created for you ({client}). Your user code: {code}"),
                format!("To get your password, enter your user code on this page, then check your email: {password_request}"),
                "Customer service".to_owned(),
            ],
        ),
    };
    build(config, to.as_str(), subject, &lines, Some(password_request))
}

/// What a letter about a contact person's request needs.
#[derive(Debug)]
pub(crate) struct RequestLetter<'a> {
    pub(crate) request: &'a crate::store::CodeRequest,
    pub(crate) contact: &'a Account,
    pub(crate) client: &'a str,
    pub(crate) language: Language,
}

/// To customer service: a contact person asks for user codes for new employees.
pub(crate) fn code_request(
    config: &MailConfig,
    to: &str,
    letter: &RequestLetter<'_>,
) -> Result<Message, TemplateError> {
    let RequestLetter {
        request,
        contact,
        client,
        ..
    } = letter;
    let mut lines = vec![
        format!(
            "Demande {id} de {name} ({code}), personne-ressource de {client} / request {id} from the contact person of {client}:",
            id = request.id,
            name = contact.name,
            code = contact.code,
        ),
    ];
    lines.extend(
        request
            .people
            .iter()
            .map(|p| format!("- {} <{}>", p.name, p.email.as_str())),
    );
    lines.push(format!(
        "guichet requests approve {id}   |   guichet requests reject {id} --reason \"...\"",
        id = request.id
    ));
    let subject = format!("Demande de codes d'utilisateur {} ({client})", request.id);
    build(config, to, &subject, &lines, None)
}

/// To the contact person: approved, with the new codes.
pub(crate) fn request_approved(
    config: &MailConfig,
    to: &Email,
    letter: &RequestLetter<'_>,
    created: &[(&str, &str)],
) -> Result<Message, TemplateError> {
    let list: Vec<String> = created
        .iter()
        .map(|(code, name)| format!("- {name} : {code}"))
        .collect();
    let name = &letter.contact.name;
    let (subject, mut lines) = match letter.language {
        Language::Fr => (
            "Votre demande de codes d'utilisateur est acceptée",
            vec![
                format!("Bonjour {name},"),
                format!("Votre demande {} est acceptée. Chaque personne reçoit son code d'utilisateur par courriel :", letter.request.id),
            ],
        ),
        _ => (
            "Your request for user codes is approved",
            vec![
                format!("Hello {name},"),
                format!("Your request {} is approved. Each person receives their user code by email:", letter.request.id),
            ],
        ),
    };
    lines.extend(list);
    build(config, to.as_str(), subject, &lines, None)
}

/// To the contact person: rejected, and why.
pub(crate) fn request_rejected(
    config: &MailConfig,
    to: &Email,
    letter: &RequestLetter<'_>,
    reason: &str,
) -> Result<Message, TemplateError> {
    let name = &letter.contact.name;
    let (phone, hours) = (
        &config.customer_service_phone,
        &config.customer_service_hours,
    );
    let (subject, lines) = match letter.language {
        Language::Fr => (
            "Votre demande de codes d'utilisateur",
            vec![
                format!("Bonjour {name},"),
                format!("Votre demande {} n'a pas pu être acceptée : {reason}", letter.request.id),
                format!("Pour en savoir plus, communiquez avec le service à la clientèle au {phone} ({hours})."),
            ],
        ),
        _ => (
            "Your request for user codes",
            vec![
                format!("Hello {name},"),
                format!("Your request {} could not be approved: {reason}", letter.request.id),
                format!("To know more, please call customer service at {phone} ({hours})."),
            ],
        ),
    };
    build(config, to.as_str(), subject, &lines, None)
}

fn build(
    config: &MailConfig,
    to: &str,
    subject: &str,
    lines: &[String],
    link: Option<&str>,
) -> Result<Message, TemplateError> {
    let fail = |e: &dyn std::fmt::Display| TemplateError(e.to_string());
    let from: Mailbox = config.from.parse().map_err(|e| fail(&e))?;
    let to: Mailbox = to.parse().map_err(|e| fail(&e))?;
    let mut builder = Message::builder().from(from).to(to).subject(subject);
    if let Some(reply_to) = &config.reply_to {
        builder = builder.reply_to(reply_to.parse().map_err(|e| fail(&e))?);
    }
    let text = lines.join("\n\n");
    let html: String = lines
        .iter()
        .map(|line| match link {
            Some(url) if line.ends_with(url) => {
                let before = &line[..line.len() - url.len()];
                format!(
                    "<p>{}<a href=\"{}\">{}</a></p>",
                    escape(before),
                    escape(url),
                    escape(url)
                )
            }
            _ => format!("<p>{}</p>", escape(line)),
        })
        .collect();
    let html = format!("<!doctype html><html><body>{html}</body></html>");
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| fail(&e))
}

/// `2026-11-28 17:05` for a unix time (UTC), without a calendar dependency.
pub(crate) fn utc_minute(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_in_utc() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_795_885_500), "2026-11-28 17:05");
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00");
    }
}
