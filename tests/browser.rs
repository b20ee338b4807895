//! The sign-in desk in a real browser, as the FAQ's customers use it: the portal example runs
//! as its own process (demo accounts, emails as files in its outbox, the `Secure` cookie) and
//! headless Chromium drives its pages through chromedriver (WebDriver), typing, clicking and
//! reading what a person sees, in the light and the dark scheme, with the keyboard alone, and
//! in either language. Every test also fails if the browser's console shows an error or a
//! Content Security Policy message on any page it visited.
//!
//! `scripts/test.sh` installs `chromium` and `chromium-driver` when they are missing. On
//! failure, `target/browser-failures/` holds the last page's screenshot and source, the
//! browser's console and the portal's log.

#[path = "browser/mod.rs"]
mod harness;

use harness::{
    temporary_password, visit, visit_configured, Browser, Elsewhere, Key, Language, Scheme, AA,
};

/// The demo accounts (README).
const MARIE_PW: &str = "Bonjour-Marie-2026";
const LUC_PW: &str = "Bonjour-Luc-2026";

#[tokio::test]
async fn a_customer_signs_in_through_the_form_in_french() {
    visit("signs-in-in-french", Language::French, |page| async move {
        // She ends on her account page, the portal's own.
        page.visits_the_portal_s_own_pages();
        // Her account page sends her to the sign-in page, which will bring her back.
        page.open("/account").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;
        assert_eq!(page.lang().await, "fr");
        assert_eq!(page.title().await, "Accès au site – Portail clients");
        assert_eq!(page.text("h1").await, "Accès au site");
        assert_eq!(
            page.text("label[for=user_code]").await,
            "Entrez votre code d'utilisateur"
        );
        assert_eq!(
            page.text("label[for=password]").await,
            "Entrez votre mot de passe"
        );
        assert_eq!(
            page.focused().await,
            "user_code",
            "the cursor waits in the first field"
        );

        // She types her code as she always does, with spaces and in lower case.
        page.type_in("#user_code", " acme-001 ").await;
        page.type_in("#password", MARIE_PW).await;
        assert_eq!(page.text("button[type=submit]").await, "ENTRER");
        page.click("button[type=submit]").await;

        page.wait_for_path("/account").await;
        assert_eq!(
            page.cookie("__Host-guichet").await.as_deref(),
            Some("__Host-guichet; Secure; HttpOnly; SameSite=Lax; Path=/"),
            "the browser keeps the Secure session cookie on http://127.0.0.1"
        );
        assert_eq!(page.text("h1").await, "Mon compte");
        let account = page.text("main").await;
        assert!(
            account.contains("Code d'utilisateur : ACME-001"),
            "{account}"
        );
        assert!(account.contains("Marie Tremblay"), "{account}");
    })
    .await;
}

#[tokio::test]
async fn a_customer_signs_in_through_the_form_in_english() {
    visit(
        "signs-in-in-english",
        Language::English,
        |page| async move {
            page.visits_the_portal_s_own_pages();
            page.open("/account").await;
            page.wait_for_path("/auth/login?next=%2Faccount").await;
            assert_eq!(page.lang().await, "en");
            assert_eq!(page.title().await, "Sign in – Customer portal");
            assert_eq!(
                page.text("label[for=user_code]").await,
                "Enter your user code"
            );
            assert_eq!(
                page.text("label[for=password]").await,
                "Enter your password"
            );
            assert_eq!(
                page.text("a[href='/auth/password?next=%2Faccount']").await,
                "Email me my password"
            );

            page.type_in("#user_code", " acme-001 ").await;
            page.type_in("#password", MARIE_PW).await;
            assert_eq!(page.text("button[type=submit]").await, "SIGN IN");
            page.click("button[type=submit]").await;

            page.wait_for_path("/account").await;
            let account = page.text("main").await;
            assert!(account.contains("ACME-001"), "{account}");
            assert!(account.contains("Marie Tremblay"), "{account}");
        },
    )
    .await;
}

#[tokio::test]
async fn the_sign_in_page_shows_the_tips_and_warns_while_caps_lock_is_on() {
    visit("tips-and-caps-lock", Language::French, |page| async move {
        page.open("/auth/login").await;

        // The tips: their heading is on the page, one click opens them.
        assert_eq!(
            page.text(".tips summary").await,
            "Votre code d'utilisateur ou votre mot de passe ne fonctionne pas?"
        );
        page.click(".tips summary").await;
        let tips = page.text(".tips").await;
        for tip in [
            "La casse que vous utilisez doit être la bonne",
            "Vérifiez que tous les symboles contenus dans votre mot de passe sont utilisés.",
            "Verr. Num. activé",
            "N'utilisez pas la barre d'espacement avant ou après le mot de passe.",
            "Vous avez perdu votre code d'utilisateur?",
        ] {
            assert!(tips.contains(tip), "missing tip {tip:?} in:\n{tips}");
        }

        // No warning while she types normally.
        assert!(!page.shows("#caps").await, "the warning is hidden at first");
        page.type_in("#password", "bonjour").await;
        assert!(!page.shows("#caps").await, "no Caps Lock, no warning");

        // Caps Lock on: the warning appears while she types.
        page.press_with_caps_lock("#password", "CapsLock", true)
            .await;
        page.press_with_caps_lock("#password", "B", true).await;
        assert!(
            page.shows("#caps").await,
            "the warning shows with Caps Lock on"
        );
        assert_eq!(
            page.text("#caps").await,
            "Attention : la touche Verr. Maj. est activée."
        );

        // Caps Lock off again: it goes away with the next key.
        page.press_with_caps_lock("#password", "CapsLock", false)
            .await;
        assert!(
            !page.shows("#caps").await,
            "the warning goes with Caps Lock off"
        );
        page.press_with_caps_lock("#password", "B", true).await;
        assert!(page.shows("#caps").await);
        page.type_in("#password", "x").await;
        assert!(
            !page.shows("#caps").await,
            "a real key without Caps Lock hides it"
        );

        // And it never stays on screen once she leaves the field.
        page.press_with_caps_lock("#password", "B", true).await;
        assert!(page.shows("#caps").await);
        page.click("#user_code").await;
        assert!(!page.shows("#caps").await, "leaving the field hides it");
    })
    .await;
}

#[tokio::test]
async fn a_failed_sign_in_shows_the_error_and_the_tips_and_keeps_the_user_code() {
    visit("failed-sign-in", Language::French, |page| async move {
        // She ends on her account page, the portal's own.
        page.visits_the_portal_s_own_pages();
        page.open("/account").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;
        assert!(!page.shows(".error").await, "no error before trying");
        assert!(
            !page.shows(".tips li").await,
            "the tips are folded at first"
        );

        // The FAQ's classic: the password typed in the wrong case. (The refusal is a 401 with
        // the page, which the browser notes in its console.)
        page.expect_http_error("/auth/login", 401);
        page.type_in("#user_code", " acme-001 ").await;
        page.type_in("#password", "bonjour-marie-2026").await;
        page.click("button[type=submit]").await;

        page.wait_for_path("/auth/login").await;
        assert_eq!(
            page.text(".error[role=alert]").await,
            "Code d'utilisateur ou mot de passe invalide."
        );
        assert!(page.shows(".tips li").await, "the tips open by themselves");
        let tips = page.text(".tips").await;
        assert!(tips.contains("(majuscules et minuscules)"), "{tips}");
        assert_eq!(
            page.value("#user_code").await,
            "ACME-001",
            "her code is kept"
        );
        assert_eq!(page.value("#password").await, "", "the password is not");
        assert_eq!(
            page.focused().await,
            "password",
            "the cursor waits where she must type again"
        );

        // She types it right and lands where she was going.
        page.type_in("#password", MARIE_PW).await;
        page.click("button[type=submit]").await;
        page.wait_for_path("/account").await;
        assert!(page.text("main").await.contains("ACME-001"));
    })
    .await;
}

#[tokio::test]
async fn a_customer_gets_a_temporary_password_by_email_chooses_her_own_and_signs_out() {
    visit("password-by-email", Language::French, |page| async move {
        // She ends on her account page, the portal's own.
        page.visits_the_portal_s_own_pages();
        const CHOSEN: &str = "Mon-nouveau-mot-2026";

        page.open("/account").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;
        page.click_link("Envoyez-moi mon mot de passe par courriel SVP")
            .await;
        page.wait_for_path("/auth/password?next=%2Faccount").await;
        assert!(
            page.text("main")
                .await
                .contains("adresse courriel partagée"),
            "the shared-inbox warning"
        );
        page.type_in("#user_code", " acme-002 ").await;
        page.click("button[type=submit]").await;
        page.wait_for_text("h1", "Demande reçue").await;
        assert!(page
            .text("[role=status]")
            .await
            .contains("un mot de passe temporaire y a été envoyé"));

        // The email, in French like the page she asked from.
        let email = page.email(1).await;
        assert!(email.contains("To: luc@acme.example"), "{email}");
        assert!(email.contains("Bonjour Luc Gagnon,"), "{email}");
        let temporary = temporary_password(&email);
        assert!(
            email.contains(&format!("Votre mot de passe temporaire : {temporary}")),
            "{email}"
        );

        // Signing in with it opens only the "choose your password" door, still on her way to
        // her account (the way through "email me my password" kept `next`).
        page.click_link("Retour à la page d'accès").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;
        page.type_in("#user_code", "acme-002").await;
        page.type_in("#password", &temporary).await;
        page.click("button[type=submit]").await;
        page.wait_for_path("/auth/password/set?next=%2Faccount")
            .await;
        assert_eq!(page.text("h1").await, "Choisissez votre mot de passe");
        page.open("/account").await;
        page.wait_for_path("/auth/password/set").await;
        page.back().await;
        page.wait_for_path("/auth/password/set?next=%2Faccount")
            .await;

        page.type_in("#password", CHOSEN).await;
        page.type_in("#confirm", CHOSEN).await;
        page.click("button[type=submit]").await;
        page.wait_for_path("/account").await;
        assert!(page.text("main").await.contains("ACME-002"));

        // The sign-out button.
        page.click("form[action='/auth/logout'] button").await;
        page.wait_for_path("/auth/login").await;
        assert_eq!(
            page.cookie("__Host-guichet").await,
            None,
            "the cookie is gone"
        );
        page.open("/account").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;

        // Her old password is over; the one she chose works.
        page.expect_http_error("/auth/login", 401);
        page.type_in("#user_code", "ACME-002").await;
        page.type_in("#password", LUC_PW).await;
        page.click("button[type=submit]").await;
        page.wait_for_path("/auth/login").await;
        assert!(page.shows(".error").await, "the old password is refused");
        page.type_in("#password", CHOSEN).await;
        page.click("button[type=submit]").await;
        page.wait_for_path("/account").await;
        assert!(page.text("main").await.contains("ACME-002"));
    })
    .await;
}

/// Fails with every text of the page that is not readable (WCAG AA) in `scheme`.
async fn assert_readable(page: &Browser, scheme: Scheme, what: &str) {
    let unreadable = page.unreadable_texts(AA).await;
    assert!(
        unreadable.is_empty(),
        "{what}, {scheme:?} scheme: texts under {AA}:1:\n  {}",
        unreadable.join("\n  ")
    );
}

#[tokio::test]
async fn every_text_of_the_pages_is_readable_in_the_light_and_the_dark_scheme() {
    visit("contrast", Language::French, |page| async move {
        page.expect_http_error("/auth/login", 401);
        page.expect_http_error("/auth/nowhere", 404);
        for (scheme, background) in [
            (Scheme::Light, "rgb(255, 255, 255)"),
            (Scheme::Dark, "rgb(19, 19, 20)"),
        ] {
            page.prefer(scheme).await;
            page.open("/auth/login").await;
            assert_eq!(
                page.style("body", "background-color").await,
                background,
                "the page follows the {scheme:?} scheme"
            );
            page.click(".tips summary").await;
            assert!(page.shows(".tips li").await);
            assert_readable(&page, scheme, "the sign-in page, tips open").await;

            page.type_in("#user_code", "acme-001").await;
            page.type_in("#password", "pas-le-bon").await;
            page.click("button[type=submit]").await;
            page.wait_for_text(
                ".error[role=alert]",
                "Code d'utilisateur ou mot de passe invalide.",
            )
            .await;
            assert_readable(&page, scheme, "a failed sign-in").await;

            page.open("/auth/password").await;
            assert_readable(&page, scheme, "email me my password, with its warning").await;
            page.type_in("#user_code", "acme-404").await;
            page.click("button[type=submit]").await;
            page.wait_for_text("h1", "Demande reçue").await;
            assert_readable(&page, scheme, "the answer to a request").await;

            page.open("/auth/nowhere").await;
            page.wait_for_text("h1", "404").await;
            assert_readable(&page, scheme, "a refusal").await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_sign_in_page_works_with_the_keyboard_alone_and_without_scripts() {
    visit("keyboard", Language::French, |page| async move {
        // She ends on her account page, the portal's own.
        page.visits_the_portal_s_own_pages();
        page.scripts(false).await;
        page.open("/account").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;

        // From the user code, Tab goes through the form in reading order, and every stop
        // shows where the focus is.
        let mut stops = Vec::new();
        for _ in 0..5 {
            let (focused, visible) = page.focus().await;
            assert!(visible, "the focus on {focused} does not show");
            stops.push(focused);
            page.press(&Key::Tab).await;
        }
        assert_eq!(
            stops,
            [
                "input#user_code",
                "input#password",
                "button[type=submit]",
                "a",
                "summary"
            ]
        );

        // The FAQ's tips open from the keyboard, without a script.
        page.press(&(Key::Shift + &Key::Tab)).await;
        let (focused, _) = page.focus().await;
        assert_eq!(focused, "summary", "Shift+Tab comes back");
        assert!(!page.shows(".tips li").await, "folded at first");
        page.press(&Key::Enter).await;
        assert!(page.shows(".tips li").await, "Enter opens the tips");
        assert!(page
            .text(".tips")
            .await
            .contains("La casse que vous utilisez doit être la bonne"));

        // No script ran: the Caps Lock warning (guichet.js) stays off.
        page.press_with_caps_lock("#password", "B", true).await;
        assert!(!page.shows("#caps").await, "scripts are off in this test");

        // Typing, Tab, typing, Enter: she is signed in and where she was going.
        page.open("/auth/login?next=%2Faccount").await;
        page.press(" acme-001 ").await;
        page.press(&Key::Tab).await;
        page.press(MARIE_PW).await;
        page.press(&Key::Enter).await;
        page.wait_for_path("/account").await;
        assert!(page.text("main").await.contains("ACME-001"));
    })
    .await;
}

#[tokio::test]
async fn the_language_switch_changes_the_page_and_is_remembered() {
    visit("language-switch", Language::French, |page| async move {
        // She ends on her account page, the portal's own.
        page.visits_the_portal_s_own_pages();
        page.open("/account").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;
        assert_eq!(page.lang().await, "fr");

        page.click_link("English").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;
        assert_eq!(page.lang().await, "en");
        assert_eq!(page.text("h1").await, "Sign in");
        assert_eq!(
            page.cookie("guichet-lang").await.as_deref(),
            Some("guichet-lang; Secure; HttpOnly; SameSite=Lax; Path=/")
        );

        // The next page is in English too, although the browser asks for French.
        page.click_link("Email me my password").await;
        page.wait_for_path("/auth/password?next=%2Faccount").await;
        assert_eq!(page.lang().await, "en");
        assert_eq!(page.text("h1").await, "Email me my password");

        // And back to French, still on her way to her account.
        page.click_link("Français").await;
        page.wait_for_path("/auth/password?next=%2Faccount").await;
        assert_eq!(page.lang().await, "fr");
        page.click_link("Retour à la page d'accès").await;
        page.wait_for_path("/auth/login?next=%2Faccount").await;
        page.type_in("#user_code", "acme-001").await;
        page.type_in("#password", MARIE_PW).await;
        page.click("button[type=submit]").await;
        page.wait_for_path("/account").await;
    })
    .await;
}

#[tokio::test]
async fn a_portal_with_a_brand_shows_its_name_logo_and_accent_under_the_strict_policy() {
    // The logo and the stylesheet come from another origin, which the CSP must allow (and the
    // harness fails on any CSP message).
    let elsewhere = Elsewhere::start().await;
    let config = format!(
        r##"[pages.brand]
name = "Groupecho"
logo = "{origin}/logo.svg"
accent = "#1b5e20"
stylesheet = "{origin}/portal.css"
"##,
        origin = elsewhere.origin
    );
    visit_configured(
        "brand",
        Language::French,
        Some(&config),
        |page| async move {
            for scheme in [Scheme::Light, Scheme::Dark] {
                page.prefer(scheme).await;
                page.open("/auth/login").await;
                assert_eq!(page.title().await, "Accès au site – Groupecho");
                assert!(page.image_loaded("header img.logo").await, "the logo shows");
                assert_eq!(page.attr("header img.logo", "alt").await, "Groupecho");
                assert_eq!(
                    page.style("button[type=submit]", "background-color").await,
                    "rgb(27, 94, 32)",
                    "the accent, in the {scheme:?} scheme"
                );
                assert_eq!(
                    page.style("h1", "font-style").await,
                    "italic",
                    "the portal's own stylesheet applies"
                );
                assert_readable(&page, scheme, "the branded sign-in page").await;
            }
        },
    )
    .await;
    drop(elsewhere);
}
