use super::Language;
use crate::error::Refusal;

/// Every word of the built-in pages and JSON messages, in one language. The French comes from
/// the portal's FAQ.
#[derive(Debug)]
#[non_exhaustive]
pub struct Messages {
    /// The language's own name, for the link that switches to it (`Français`, `English`).
    pub language_name: &'static str,
    /// The product's name when `pages.brand.name` is not set.
    pub default_brand_name: &'static str,
    /// The sign-in page's title.
    pub sign_in_title: &'static str,
    /// The user code field's label.
    pub user_code_label: &'static str,
    /// The password field's label.
    pub password_label: &'static str,
    /// The submit button.
    pub submit: &'static str,
    /// After a failed sign-in: the same words whether the code exists or not.
    pub sign_in_failed: &'static str,
    /// Shown while Caps Lock is on in the password field.
    pub caps_lock_on: &'static str,
    /// The troubleshooting tips' heading.
    pub tips_title: &'static str,
    /// The FAQ's troubleshooting tips: case, symbols, numeric keypad, spaces.
    pub tips: [&'static str; 4],
    /// What to do about a lost user code.
    pub lost_code: &'static str,
    /// The link back to the sign-in page on refusal pages.
    pub back_to_sign_in: &'static str,
    /// Sign-in required (401 for non-browsers).
    pub sign_in_required: &'static str,
    /// A temporary password was used: a password must be chosen first.
    pub password_must_be_set: &'static str,
    /// Signed in, but the route needs a service the person does not subscribe to.
    pub missing_service: &'static str,
    /// The link and title of "email me my password" (the FAQ's words).
    pub send_password: &'static str,
    /// What "email me my password" does.
    pub password_request_intro: &'static str,
    /// The button of "email me my password" (the FAQ's ENTRER in French).
    pub send: &'static str,
    /// The FAQ's shared-inbox warning.
    pub shared_inbox_warning: &'static str,
    /// The heading after a credential request.
    pub password_requested_title: &'static str,
    /// The answer to a credential request: the same whether the code exists or not.
    pub password_requested: &'static str,
    /// The choose-password page's title.
    pub choose_password_title: &'static str,
    /// What the choose-password page asks.
    pub choose_password_intro: &'static str,
    /// The new password field's label.
    pub new_password_label: &'static str,
    /// The confirmation field's label.
    pub confirm_password_label: &'static str,
    /// A chosen password shorter than 8 characters.
    pub password_too_short: &'static str,
    /// The two fields differ.
    pub passwords_differ: &'static str,
    /// A chosen password that has the shape of a temporary one, or is the user code.
    pub password_unusable: &'static str,
    /// A normal session on the choose-password page.
    pub nothing_to_choose: &'static str,
    /// The cancel page's title.
    pub cancel_title: &'static str,
    /// What the cancel page explains.
    pub cancel_intro: &'static str,
    /// The cancel button.
    pub cancel_submit: &'static str,
    /// After cancelling a temporary password that was still waiting.
    pub cancelled: &'static str,
    /// After cancelling one that had been used to sign in.
    pub cancelled_used: &'static str,
    /// After cancelling one that had been used to choose a new password.
    pub cancelled_undone: &'static str,
    /// When the link matches nothing (any more).
    pub nothing_to_cancel: &'static str,
    /// The contact person's page: its title.
    pub team_title: &'static str,
    /// What the contact person's page asks (followed by the client's name).
    pub team_intro: &'static str,
    /// A new employee's full name.
    pub team_name_label: &'static str,
    /// A new employee's address.
    pub team_email_label: &'static str,
    /// A link to a form with more rows.
    pub team_more_rows: &'static str,
    /// The contact person's button.
    pub team_submit: &'static str,
    /// After the request was sent: the title.
    pub team_sent_title: &'static str,
    /// After the request was sent (followed by its identifier).
    pub team_sent: &'static str,
    /// Someone who is not the client's contact person.
    pub team_not_contact: &'static str,
    /// A row with an address and no name, or a name that is too long.
    pub team_invalid_name: &'static str,
    /// An address mail cannot be sent to.
    pub team_invalid_email: &'static str,
    /// The same address twice in one request.
    pub team_duplicate_email: &'static str,
    /// An address that is a shared inbox (a role, or already someone else's).
    pub team_shared_email: &'static str,
    /// No one in the request.
    pub team_nobody: &'static str,
    /// More people than one request may hold.
    pub team_too_many: &'static str,
    /// The online password change page's title.
    pub change_title: &'static str,
    /// The current password's label.
    pub current_password_label: &'static str,
    /// A wrong current password.
    pub wrong_current_password: &'static str,
    malformed: &'static str,
    too_large: &'static str,
    media_type: &'static str,
    cross_site: &'static str,
    throttled: &'static str,
    unavailable: &'static str,
    not_found: &'static str,
    method: &'static str,
    invalid_next: &'static str,
    invalid_user_code: &'static str,
    invalid_password: &'static str,
    missing_user_code: &'static str,
    missing_password: &'static str,
}

impl Messages {
    /// The messages in `language`.
    pub fn of(language: Language) -> &'static Self {
        match language {
            Language::Fr => &FR,
            Language::En => &EN,
        }
    }

    /// The explanation of a refusal.
    pub fn refusal(&self, refusal: &Refusal) -> &'static str {
        match refusal {
            Refusal::MissingField("user_code") => self.missing_user_code,
            Refusal::MissingField("password") => self.missing_password,
            Refusal::InvalidField { field: "next", .. } => self.invalid_next,
            Refusal::InvalidField {
                field: "user_code", ..
            } => self.invalid_user_code,
            Refusal::InvalidField {
                field: "password", ..
            } => self.invalid_password,
            Refusal::MissingField(_) | Refusal::InvalidField { .. } | Refusal::MalformedBody(_) => {
                self.malformed
            }
            Refusal::BodyTooLarge => self.too_large,
            Refusal::UnsupportedMediaType => self.media_type,
            Refusal::CrossSite => self.cross_site,
            Refusal::Throttled { .. } => self.throttled,
            Refusal::Unavailable => self.unavailable,
            Refusal::NotFound => self.not_found,
            Refusal::MethodNotAllowed { .. } => self.method,
        }
    }
}

static FR: Messages = Messages {
    language_name: "Français",
    default_brand_name: "Portail clients",
    sign_in_title: "Accès au site",
    user_code_label: "Entrez votre code d'utilisateur",
    password_label: "Entrez votre mot de passe",
    submit: "ENTRER",
    sign_in_failed: "Code d'utilisateur ou mot de passe invalide.",
    caps_lock_on: "Attention : la touche Verr. Maj. est activée.",
    tips_title: "Votre code d'utilisateur ou votre mot de passe ne fonctionne pas?",
    tips: [
        "La casse que vous utilisez doit être la bonne (majuscules et minuscules) : le mot de passe en tient compte.",
        "Vérifiez que tous les symboles contenus dans votre mot de passe sont utilisés.",
        "Utilisez les touches numériques situées à la droite de votre clavier d'ordinateur (Verr. Num. activé).",
        "N'utilisez pas la barre d'espacement avant ou après le mot de passe.",
    ],
    lost_code: "Vous avez perdu votre code d'utilisateur? Communiquez avec le service à la clientèle : il vous sera envoyé par courriel.",
    back_to_sign_in: "Retour à la page d'accès",
    sign_in_required: "Veuillez vous identifier pour accéder à cette page.",
    password_must_be_set: "Veuillez d'abord choisir votre mot de passe.",
    missing_service: "Vous n'êtes pas abonné(e) à ce service. Communiquez avec le service à la clientèle.",
    send_password: "Envoyez-moi mon mot de passe par courriel SVP",
    send: "ENTRER",
    password_request_intro: "Inscrivez votre code d'utilisateur et cliquez sur ENTRER : un mot de passe temporaire sera envoyé à l'adresse de courriel inscrite à votre dossier-client.",
    shared_inbox_warning: "Si vous avez une adresse courriel partagée, nous recommandons de ne pas demander votre mot de passe par courriel puisque ceci compromet la SÉCURITÉ. Veuillez communiquer avec le service à la clientèle pour l'obtenir verbalement.",
    password_requested_title: "Demande reçue",
    password_requested: "Si ce code d'utilisateur est inscrit avec une adresse de courriel personnelle, un mot de passe temporaire y a été envoyé. Il fonctionne une seule fois, pour une durée limitée. N'oubliez pas de consulter vos courriels!",
    choose_password_title: "Choisissez votre mot de passe",
    choose_password_intro: "Vous êtes entré(e) avec un mot de passe temporaire. Choisissez maintenant votre propre mot de passe (au moins 8 caractères). Vos autres sessions seront fermées.",
    new_password_label: "Nouveau mot de passe",
    confirm_password_label: "Confirmez le nouveau mot de passe",
    password_too_short: "Le mot de passe doit contenir au moins 8 caractères.",
    passwords_differ: "Les deux mots de passe ne sont pas identiques.",
    password_unusable: "Ce mot de passe ne peut pas être utilisé : il ressemble à un mot de passe temporaire ou à votre code d'utilisateur.",
    nothing_to_choose: "Aucun mot de passe à choisir. Pour changer votre mot de passe, communiquez avec le service à la clientèle.",
    team_title: "Demander des codes d'utilisateur",
    team_intro: "Inscrivez le nom complet ainsi que l'adresse courriel de chacun des nouveaux usagers. Le service à la clientèle leur enverra leur code d'utilisateur par courriel. Dossier-client :",
    team_name_label: "Nom complet",
    team_email_label: "Adresse courriel",
    team_more_rows: "Ajouter des lignes",
    team_submit: "ENVOYER LA DEMANDE",
    team_sent_title: "Demande envoyée",
    team_sent: "Votre demande est envoyée au service à la clientèle, qui vous répondra par courriel. Numéro de la demande :",
    team_not_contact: "Seule la personne-ressource inscrite à votre dossier-client peut demander des codes d'utilisateur.",
    team_invalid_name: "Inscrivez le nom complet (100 caractères au plus).",
    team_invalid_email: "Cette adresse courriel n'est pas valide.",
    team_duplicate_email: "Cette adresse courriel figure déjà plus haut : chaque personne a besoin de sa propre adresse.",
    team_shared_email: "Cette adresse courriel est partagée (ou déjà utilisée par un autre usager) : aucun mot de passe n'y sera envoyé. Chaque personne a besoin de sa propre adresse.",
    team_nobody: "Inscrivez au moins une personne.",
    team_too_many: "Une demande compte au plus 20 personnes : envoyez les autres dans une deuxième demande.",
    change_title: "Changer mon mot de passe",
    current_password_label: "Mot de passe actuel",
    wrong_current_password: "Le mot de passe actuel est invalide.",
    cancel_title: "Annuler la demande de mot de passe",
    cancel_intro: "Vous n'avez pas demandé de mot de passe? Annulez la demande : le mot de passe temporaire envoyé par courriel ne fonctionnera plus, et ce qui a été fait avec lui sera défait.",
    cancel_submit: "ANNULER LA DEMANDE",
    cancelled: "C'est fait : le mot de passe temporaire ne fonctionne plus. Votre mot de passe actuel n'a pas changé.",
    cancelled_used: "C'est fait : le mot de passe temporaire avait déjà servi à ouvrir une session. Cette session est fermée et le mot de passe temporaire ne fonctionne plus. Votre mot de passe actuel n'a pas changé. Si ce n'était pas vous, communiquez avec le service à la clientèle.",
    cancelled_undone: "C'est fait : le mot de passe temporaire avait servi à choisir un nouveau mot de passe. Ce changement est défait : votre mot de passe précédent fonctionne de nouveau, et toutes les sessions de votre compte sont fermées. Communiquez avec le service à la clientèle.",
    nothing_to_cancel: "Il n'y a rien à annuler : ce lien ne fonctionne plus (le mot de passe temporaire a déjà été annulé, remplacé par une nouvelle demande, ou il est expiré).",
    malformed: "La demande est mal formée.",
    too_large: "La demande est trop volumineuse.",
    media_type: "Format de demande non pris en charge.",
    cross_site: "Demande refusée : elle ne provient pas de ce site.",
    throttled: "Trop de tentatives. Veuillez réessayer plus tard.",
    unavailable: "Le service est momentanément indisponible. Veuillez réessayer dans quelques instants.",
    not_found: "Page introuvable.",
    method: "Méthode non permise.",
    invalid_next: "L'adresse de retour est invalide.",
    invalid_user_code: "Le code d'utilisateur contient des caractères invalides ou est trop long.",
    invalid_password: "Le mot de passe est trop long ou contient des caractères invalides.",
    missing_user_code: "Entrez votre code d'utilisateur.",
    missing_password: "Entrez votre mot de passe.",
};

static EN: Messages = Messages {
    language_name: "English",
    default_brand_name: "Customer portal",
    sign_in_title: "Sign in",
    user_code_label: "Enter your user code",
    password_label: "Enter your password",
    submit: "SIGN IN",
    sign_in_failed: "Invalid user code or password.",
    caps_lock_on: "Caps Lock is on.",
    tips_title: "Your user code or password does not work?",
    tips: [
        "Letter case matters in the password (capitals and small letters).",
        "Check that you typed every symbol your password contains.",
        "Use the number keys on the right of your keyboard (Num Lock on).",
        "Do not type a space before or after the password.",
    ],
    lost_code: "Lost your user code? Contact customer service: it will be sent to you by email.",
    back_to_sign_in: "Back to sign-in",
    sign_in_required: "Please sign in to see this page.",
    password_must_be_set: "Please choose your password first.",
    missing_service: "You do not subscribe to this service. Contact customer service.",
    send_password: "Email me my password",
    send: "SEND",
    password_request_intro: "Enter your user code and press SEND: a temporary password will be sent to the email address on your client file.",
    shared_inbox_warning: "If your email address is shared with others, we recommend not asking for your password by email, as this compromises SECURITY. Please call customer service to get it verbally.",
    password_requested_title: "Request received",
    password_requested: "If this user code is registered with a personal email address, a temporary password has been sent to it. It works once, for a limited time. Remember to check your email!",
    choose_password_title: "Choose your password",
    choose_password_intro: "You signed in with a temporary password. Now choose your own password (at least 8 characters). Your other sessions will be closed.",
    new_password_label: "New password",
    confirm_password_label: "Confirm the new password",
    password_too_short: "The password must be at least 8 characters long.",
    passwords_differ: "The two passwords are not the same.",
    password_unusable: "This password cannot be used: it looks like a temporary password or your user code.",
    nothing_to_choose: "There is no password to choose. To change your password, contact customer service.",
    team_title: "Ask for user codes",
    team_intro: "Enter the full name and the email address of each new user. Customer service will email them their user code. Client:",
    team_name_label: "Full name",
    team_email_label: "Email address",
    team_more_rows: "Add rows",
    team_submit: "SEND THE REQUEST",
    team_sent_title: "Request sent",
    team_sent: "Your request was sent to customer service, who will answer by email. Request number:",
    team_not_contact: "Only the contact person on your client file can ask for user codes.",
    team_invalid_name: "Enter the full name (at most 100 characters).",
    team_invalid_email: "This email address is not valid.",
    team_duplicate_email: "This email address is already above: each person needs their own address.",
    team_shared_email: "This email address is shared (or already another user's): no password is ever sent there. Each person needs their own address.",
    team_nobody: "Enter at least one person.",
    team_too_many: "A request holds at most 20 people: send the others in a second request.",
    change_title: "Change my password",
    current_password_label: "Current password",
    wrong_current_password: "The current password is wrong.",
    cancel_title: "Cancel the password request",
    cancel_intro: "Did not ask for a password? Cancel the request: the temporary password sent by email will stop working, and whatever was done with it will be undone.",
    cancel_submit: "CANCEL THE REQUEST",
    cancelled: "Done: the temporary password no longer works. Your current password has not changed.",
    cancelled_used: "Done: the temporary password had already been used to sign in. That session is closed and the temporary password no longer works. Your current password has not changed. If it was not you, please call customer service.",
    cancelled_undone: "Done: the temporary password had been used to choose a new password. That change is undone: your previous password works again, and every session of your account is closed. Please call customer service.",
    nothing_to_cancel: "Nothing to cancel: this link no longer works (the temporary password was already cancelled, replaced by a newer request, or has expired).",
    malformed: "The request is malformed.",
    too_large: "The request is too large.",
    media_type: "Unsupported request format.",
    cross_site: "Request refused: it does not come from this site.",
    throttled: "Too many attempts. Please try again later.",
    unavailable: "The service is temporarily unavailable. Please try again in a moment.",
    not_found: "Page not found.",
    method: "Method not allowed.",
    invalid_next: "The return address is invalid.",
    invalid_user_code: "The user code holds invalid characters or is too long.",
    invalid_password: "The password is too long or holds invalid characters.",
    missing_user_code: "Enter your user code.",
    missing_password: "Enter your password.",
};
