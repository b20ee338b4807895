//! The emails guichet sends, in French and English, as multipart text + HTML: the temporary
//! password; the shared-inbox notice, which carries no credential and sends the person to
//! customer service (as the FAQ asks); user codes re-sent by customer service; the welcome of a
//! new employee; and the letters about a contact person's request.
//!
//! Each letter is written once, as paragraphs (words, then perhaps a link); two compile-time
//! templates make its plain-text and its HTML part from them (`templates/letters/`), the HTML
//! one escaping every value, so a name or a reason typed by someone never becomes markup.

use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use crate::config::MailConfig;
use crate::identity::{Account, Email};
use crate::pages::Language;

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
    /// When it stops working, in the pages' time zone (`2026-11-28 12:05 (EST)`).
    pub(crate) valid_until: &'a str,
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
    let expiry = mail.valid_until;
    let code = mail.account.code.as_str();
    let name = &mail.account.name;
    let (subject, lines) = match mail.language {
        Language::Fr => (
            "Votre mot de passe temporaire",
            vec![
                format!("Bonjour {name},").into(),
                format!("Vous avez demandé votre mot de passe pour le code d'utilisateur {code}.").into(),
                format!("Votre mot de passe temporaire : {}", mail.password).into(),
                format!(
                    "Il fonctionne une seule fois, jusqu'au {expiry}. Après l'avoir utilisé, vous choisirez votre propre mot de passe. D'ici là, votre mot de passe actuel continue de fonctionner."
                ).into(),
                "Les tirets et la casse n'ont pas d'importance : tapez-le tel que vous le voyez.".into(),
                Paragraph::linked("Vous n'avez pas fait cette demande? Annulez-la :", mail.cancel_url),
                "Service à la clientèle".into(),
            ],
        ),
        _ => (
            "Your temporary password",
            vec![
                format!("Hello {name},").into(),
                format!("You asked for your password for user code {code}.").into(),
                format!("Your temporary password: {}", mail.password).into(),
                format!(
                    "It works once, until {expiry}. After using it you will choose your own password. Until then, your current password keeps working."
                ).into(),
                "Dashes and letter case do not matter: type it as you see it.".into(),
                Paragraph::linked("Did not ask for it? Cancel the request:", mail.cancel_url),
                "Customer service".into(),
            ],
        ),
    };
    build(config, mail.to.as_str(), subject, mail.language, &lines)
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
                "Bonjour,".into(),
                format!("Une demande de mot de passe a été faite pour le code d'utilisateur {code}.").into(),
                "Cette adresse de courriel est partagée : pour des raisons de sécurité, aucun mot de passe n'est envoyé à une adresse partagée.".into(),
                format!("Veuillez communiquer avec le service à la clientèle au {phone} ({hours}) pour l'obtenir verbalement.").into(),
                "Service à la clientèle".into(),
            ],
        ),
        _ => (
            "Password request",
            vec![
                "Hello,".into(),
                format!("A password was requested for user code {code}.").into(),
                "This email address is shared: for security reasons, no password is ever sent to a shared address.".into(),
                format!("Please call customer service at {phone} ({hours}) to get it verbally.").into(),
                "Customer service".into(),
            ],
        ),
    };
    build(config, to.as_str(), subject, language, &lines)
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
                "Bonjour,".into(),
                format!("Voici le code d'utilisateur demandé au service à la clientèle : {list}.").into(),
                Paragraph::linked("Pour obtenir votre mot de passe, inscrivez votre code d'utilisateur sur cette page :", password_request),
                "Service à la clientèle".into(),
            ],
        ),
        _ => (
            "Your user code",
            vec![
                "Hello,".into(),
                format!("Here is the user code you asked customer service for: {list}.").into(),
                Paragraph::linked("To get your password, enter your user code on this page:", password_request),
                "Customer service".into(),
            ],
        ),
    };
    build(config, to.as_str(), subject, language, &lines)
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
                format!("Bonjour {name},").into(),
                format!("Un accès au site a été créé pour vous ({client}). Votre code d'utilisateur : {code}").into(),
                Paragraph::linked("Pour obtenir votre mot de passe, inscrivez votre code d'utilisateur sur cette page, puis consultez vos courriels :", password_request),
                "Service à la clientèle".into(),
            ],
        ),
        _ => (
            "Your access to the portal",
            vec![
                format!("Hello {name},").into(),
                format!("An access to the portal was created for you ({client}). Your user code: {code}").into(),
                Paragraph::linked("To get your password, enter your user code on this page, then check your email:", password_request),
                "Customer service".into(),
            ],
        ),
    };
    build(config, to.as_str(), subject, language, &lines)
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
    let mut lines: Vec<Paragraph> = vec![format!(
        "Demande {id} de {name} ({code}), personne-ressource de {client} / request {id} from the contact person of {client}:",
        id = request.id,
        name = contact.name,
        code = contact.code,
    )
    .into()];
    lines.extend(
        request
            .people
            .iter()
            .map(|p| format!("- {} <{}>", p.name, p.email.as_str()).into()),
    );
    lines.push(
        format!(
            "guichet requests approve {id}   |   guichet requests reject {id} --reason \"...\"",
            id = request.id
        )
        .into(),
    );
    let subject = format!("Demande de codes d'utilisateur {} ({client})", request.id);
    build(config, to, &subject, letter.language, &lines)
}

/// To the contact person: approved, with the new codes.
pub(crate) fn request_approved(
    config: &MailConfig,
    to: &Email,
    letter: &RequestLetter<'_>,
    created: &[(&str, &str)],
) -> Result<Message, TemplateError> {
    let list = created
        .iter()
        .map(|(code, name)| Paragraph::from(format!("- {name} : {code}")));
    let name = &letter.contact.name;
    let (subject, mut lines) = match letter.language {
        Language::Fr => (
            "Votre demande de codes d'utilisateur est acceptée",
            vec![
                format!("Bonjour {name},").into(),
                format!("Votre demande {} est acceptée. Chaque personne reçoit son code d'utilisateur par courriel :", letter.request.id).into(),
            ],
        ),
        _ => (
            "Your request for user codes is approved",
            vec![
                format!("Hello {name},").into(),
                format!("Your request {} is approved. Each person receives their user code by email:", letter.request.id).into(),
            ],
        ),
    };
    lines.extend(list);
    build(config, to.as_str(), subject, letter.language, &lines)
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
                format!("Bonjour {name},").into(),
                format!("Votre demande {} n'a pas pu être acceptée : {reason}", letter.request.id).into(),
                format!("Pour en savoir plus, communiquez avec le service à la clientèle au {phone} ({hours}).").into(),
            ],
        ),
        _ => (
            "Your request for user codes",
            vec![
                format!("Hello {name},").into(),
                format!("Your request {} could not be approved: {reason}", letter.request.id).into(),
                format!("To know more, please call customer service at {phone} ({hours}).").into(),
            ],
        ),
    };
    build(config, to.as_str(), subject, letter.language, &lines)
}

/// One paragraph of a letter: its words, then perhaps a link, written out in full.
#[derive(Debug)]
struct Paragraph {
    text: String,
    link: Option<String>,
}

impl Paragraph {
    /// Words followed by a link (`Annulez-la : https://...`).
    fn linked(text: &str, link: &str) -> Self {
        Self {
            text: text.to_owned(),
            link: Some(link.to_owned()),
        }
    }
}

impl From<String> for Paragraph {
    fn from(text: String) -> Self {
        Self { text, link: None }
    }
}

impl From<&str> for Paragraph {
    fn from(text: &str) -> Self {
        text.to_owned().into()
    }
}

/// A letter's plain-text part.
#[derive(Template)]
#[template(path = "letters/letter.txt")]
struct TextPart<'a> {
    paragraphs: &'a [Paragraph],
}

/// A letter's HTML part.
#[derive(Template)]
#[template(path = "letters/letter.html")]
struct HtmlPart<'a> {
    language: Language,
    paragraphs: &'a [Paragraph],
}

fn build(
    config: &MailConfig,
    to: &str,
    subject: &str,
    language: Language,
    paragraphs: &[Paragraph],
) -> Result<Message, TemplateError> {
    let fail = |e: &dyn std::fmt::Display| TemplateError(e.to_string());
    let from: Mailbox = config.from.parse().map_err(|e| fail(&e))?;
    let to: Mailbox = to.parse().map_err(|e| fail(&e))?;
    let mut builder = Message::builder().from(from).to(to).subject(subject);
    if let Some(reply_to) = &config.reply_to {
        builder = builder.reply_to(reply_to.parse().map_err(|e| fail(&e))?);
    }
    let text = TextPart { paragraphs }.render().map_err(|e| fail(&e))?;
    let html = HtmlPart {
        language,
        paragraphs,
    }
    .render()
    .map_err(|e| fail(&e))?;
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_say_the_same_and_the_html_one_escapes_what_people_typed() {
        let paragraphs = [
            Paragraph::from("Bonjour <b>Zoé</b> & \"Cie\","),
            Paragraph::linked("Annulez-la :", "https://portal.example/x?a=1&b=2"),
        ];
        let text = TextPart {
            paragraphs: &paragraphs,
        }
        .render()
        .unwrap();
        assert_eq!(
            text,
            "Bonjour <b>Zoé</b> & \"Cie\",\n\nAnnulez-la : https://portal.example/x?a=1&b=2"
        );
        let html = HtmlPart {
            language: Language::Fr,
            paragraphs: &paragraphs,
        }
        .render()
        .unwrap();
        assert!(html.contains("<html lang=\"fr\">"), "{html}");
        assert!(
            html.contains("<p>Bonjour &#60;b&#62;Zoé&#60;/b&#62; &#38; &#34;Cie&#34;,</p>"),
            "{html}"
        );
        assert!(
            html.contains("<p>Annulez-la : <a href=\"https://portal.example/x?a=1&#38;b=2\">https://portal.example/x?a=1&#38;b=2</a></p>"),
            "{html}"
        );
        assert!(!html.contains("<b>"));
    }
}
