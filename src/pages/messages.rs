use super::Language;
use crate::error::Refusal;

/// Every word of the built-in pages and JSON messages, in one language. The French comes from
/// the portal's FAQ.
#[derive(Debug)]
#[non_exhaustive]
pub struct Messages {
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
            Refusal::MethodNotAllowed => self.method,
        }
    }
}

static FR: Messages = Messages {
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
