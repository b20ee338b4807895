//! guichet's own pages: one compile-time template per page (`templates/pages/`), all in one
//! layout. Templates escape every value they show; nothing here writes HTML by hand.

use askama::Template;

use super::{CancelPage, FormPage, Messages, NoticePage, Pages, RefusalPage, SignInPage, TeamPage};

/// guichet's own pages: plain, accessible HTML with the FAQ's tips and a Caps Lock warning.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinPages;

/// Declares a page's template: the page's data, its words, the words of the language its
/// switch offers (for the link's text, in that language) and the product's name.
macro_rules! page_template {
    ($name:ident, $page:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'p, 'a> {
            page: &'p $page<'a>,
            m: &'static Messages,
            other: &'static Messages,
            name: &'p str,
        }

        impl<'p, 'a> $name<'p, 'a> {
            fn of(page: &'p $page<'a>) -> Self {
                Self {
                    page,
                    m: Messages::of(page.language),
                    other: Messages::of(page.layout.switch.to),
                    name: page.layout.brand.name(page.language),
                }
            }
        }
    };
}

page_template!(SignIn, SignInPage, "pages/sign_in.html");
page_template!(Refusal, RefusalPage, "pages/refusal.html");
page_template!(PasswordRequest, FormPage, "pages/password_request.html");
page_template!(ChoosePassword, FormPage, "pages/choose_password.html");
page_template!(ChangePassword, FormPage, "pages/change_password.html");
page_template!(Cancel, CancelPage, "pages/cancel.html");
page_template!(Notice, NoticePage, "pages/notice.html");
page_template!(Team, TeamPage, "pages/team.html");

/// The page, or (if a template could fail, which writing to a `String` cannot) a logged error
/// and an empty body rather than a panic in the request.
fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|error| {
        tracing::error!(target: "guichet", %error, "a built-in page could not be rendered");
        String::new()
    })
}

impl Pages for BuiltinPages {
    fn sign_in(&self, page: &SignInPage<'_>) -> String {
        render(&SignIn::of(page))
    }

    fn refusal(&self, page: &RefusalPage<'_>) -> String {
        render(&Refusal::of(page))
    }

    fn password_request(&self, page: &FormPage<'_>) -> String {
        render(&PasswordRequest::of(page))
    }

    fn choose_password(&self, page: &FormPage<'_>) -> String {
        render(&ChoosePassword::of(page))
    }

    fn cancel(&self, page: &CancelPage<'_>) -> String {
        render(&Cancel::of(page))
    }

    fn notice(&self, page: &NoticePage<'_>) -> String {
        render(&Notice::of(page))
    }

    fn team(&self, page: &TeamPage<'_>) -> String {
        render(&Team::of(page))
    }

    fn change_password(&self, page: &FormPage<'_>) -> String {
        render(&ChangePassword::of(page))
    }
}
