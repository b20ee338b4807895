use std::fmt::Write;

use super::{
    escape, CancelPage, FormPage, Messages, NoticePage, Pages, RefusalPage, SignInPage, TeamPage,
};

fn error(out: &mut String, error: Option<&str>) {
    if let Some(error) = error {
        let _ = write!(
            out,
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(error)
        );
    }
}

/// guichet's own pages: plain, accessible HTML with the FAQ's tips and a Caps Lock warning.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinPages;

/// The stylesheet served at `{prefix}/assets/guichet.css`.
pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}\
label{display:block;margin-top:1rem;font-weight:600}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1.5rem;padding:.6rem 1.5rem;font-size:1rem;font-weight:700}\
.error{background:#fdecea;border-left:4px solid #c62828;padding:.6rem}\
.caps{color:#b71c1c;font-weight:600}[hidden]{display:none}.tips{margin-top:2rem;font-size:.95rem}";

/// Served at `{prefix}/assets/guichet.js`: shows the Caps Lock warning while typing in any
/// password field of the page.
pub(crate) const SCRIPT: &str = "(function(){var w=document.getElementById('caps');if(!w){return;}\
function c(e){if(e.getModifierState){w.hidden=!e.getModifierState('CapsLock');}}\
var f=document.querySelectorAll('input[type=password]');for(var i=0;i<f.length;i++){\
f[i].addEventListener('keydown',c);f[i].addEventListener('keyup',c);f[i].addEventListener('blur',function(){w.hidden=true;});}})();";

/// A hidden username field, so a password manager files the new password under the code.
fn username_field(user_code: Option<&str>) -> String {
    user_code.map_or_else(String::new, |code| {
        format!(
            "<input type=\"text\" name=\"username\" autocomplete=\"username\" value=\"{}\" hidden readonly>",
            escape(code)
        )
    })
}

fn head(out: &mut String, lang: &str, title: &str, assets: &str) {
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{assets}/guichet.css\"></head><body>",
        title = escape(title),
        assets = escape(assets),
    );
}

impl Pages for BuiltinPages {
    fn sign_in(&self, page: &SignInPage<'_>) -> String {
        let m = Messages::of(page.language);
        let mut out = String::with_capacity(4096);
        head(&mut out, page.language.tag(), m.sign_in_title, page.assets);
        let _ = write!(out, "<main><h1>{}</h1>", escape(m.sign_in_title));
        if page.failed {
            let _ = write!(
                out,
                "<p class=\"error\" role=\"alert\">{}</p>",
                escape(m.sign_in_failed)
            );
        }
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{action}\">\
             <label for=\"user_code\">{code_label}</label>\
             <input id=\"user_code\" name=\"user_code\" autocomplete=\"username\" autocapitalize=\"characters\" \
             spellcheck=\"false\" required maxlength=\"64\" value=\"{code}\"{code_focus}>\
             <label for=\"password\">{pw_label}</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{pw_focus}>\
             <p id=\"caps\" class=\"caps\" role=\"status\" hidden>{caps}</p>",
            action = escape(page.action),
            code_label = escape(m.user_code_label),
            code = escape(page.user_code.unwrap_or("")),
            code_focus = if page.user_code.is_none() { " autofocus" } else { "" },
            pw_label = escape(m.password_label),
            pw_focus = if page.user_code.is_some() { " autofocus" } else { "" },
            caps = escape(m.caps_lock_on),
        );
        if let Some(next) = page.next {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"next\" value=\"{}\">",
                escape(next)
            );
        }
        let _ = write!(
            out,
            "<button type=\"submit\">{}</button></form><p><a href=\"{}\">{}</a></p>",
            escape(m.submit),
            escape(page.password_request),
            escape(m.send_password)
        );
        let open = if page.failed { " open" } else { "" };
        let _ = write!(
            out,
            "<details class=\"tips\"{open}><summary>{}</summary><ul>",
            escape(m.tips_title)
        );
        for tip in m.tips {
            let _ = write!(out, "<li>{}</li>", escape(tip));
        }
        let _ = write!(
            out,
            "</ul><p>{}</p></details></main><script src=\"{}/guichet.js\"></script></body></html>",
            escape(m.lost_code),
            escape(page.assets)
        );
        out
    }

    fn password_request(&self, page: &FormPage<'_>) -> String {
        let m = Messages::of(page.language);
        let mut out = String::with_capacity(2048);
        head(&mut out, page.language.tag(), m.send_password, page.assets);
        let _ = write!(out, "<main><h1>{}</h1>", escape(m.send_password));
        error(&mut out, page.error);
        let _ = write!(
            out,
            "<p>{intro}</p><p class=\"error\" role=\"note\"><strong>{warning}</strong></p>\
             <form method=\"post\" action=\"{action}\"><label for=\"user_code\">{label}</label>\
             <input id=\"user_code\" name=\"user_code\" autocomplete=\"username\" autocapitalize=\"characters\" \
             spellcheck=\"false\" required maxlength=\"64\" autofocus><button type=\"submit\">{submit}</button></form>\
             <p><a href=\"{sign_in}\">{back}</a></p></main></body></html>",
            intro = escape(m.password_request_intro),
            warning = escape(m.shared_inbox_warning),
            action = escape(page.action),
            label = escape(m.user_code_label),
            submit = escape(m.send),
            sign_in = escape(page.sign_in),
            back = escape(m.back_to_sign_in),
        );
        out
    }

    fn choose_password(&self, page: &FormPage<'_>) -> String {
        let m = Messages::of(page.language);
        let mut out = String::with_capacity(2048);
        head(
            &mut out,
            page.language.tag(),
            m.choose_password_title,
            page.assets,
        );
        let _ = write!(out, "<main><h1>{}</h1>", escape(m.choose_password_title));
        error(&mut out, page.error);
        let _ = write!(
            out,
            "<p>{intro}</p><form method=\"post\" action=\"{action}\">{username}\
             <label for=\"password\">{new}</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required autofocus>\
             <label for=\"confirm\">{confirm}</label>\
             <input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required>\
             <p id=\"caps\" class=\"caps\" role=\"status\" hidden>{caps}</p>",
            intro = escape(m.choose_password_intro),
            action = escape(page.action),
            username = username_field(page.user_code),
            new = escape(m.new_password_label),
            confirm = escape(m.confirm_password_label),
            caps = escape(m.caps_lock_on),
        );
        if let Some(next) = page.next {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"next\" value=\"{}\">",
                escape(next)
            );
        }
        let _ = write!(
            out,
            "<button type=\"submit\">{}</button></form></main><script src=\"{}/guichet.js\"></script></body></html>",
            escape(m.submit),
            escape(page.assets)
        );
        out
    }

    fn cancel(&self, page: &CancelPage<'_>) -> String {
        let m = Messages::of(page.language);
        let mut out = String::with_capacity(1024);
        head(&mut out, page.language.tag(), m.cancel_title, page.assets);
        let _ = write!(
            out,
            "<main><h1>{title}</h1><p>{intro}</p><form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"code\" value=\"{code}\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <button type=\"submit\">{submit}</button></form></main></body></html>",
            title = escape(m.cancel_title),
            intro = escape(m.cancel_intro),
            action = escape(page.action),
            code = escape(page.user_code),
            token = escape(page.token),
            submit = escape(m.cancel_submit),
        );
        out
    }

    fn team(&self, page: &TeamPage<'_>) -> String {
        let m = Messages::of(page.language);
        let mut out = String::with_capacity(4096);
        head(&mut out, page.language.tag(), m.team_title, page.assets);
        let _ = write!(
            out,
            "<main><h1>{}</h1><p>{} <strong>{}</strong></p>",
            escape(m.team_title),
            escape(m.team_intro),
            escape(page.client)
        );
        error(&mut out, page.error);
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{}\">",
            escape(page.action)
        );
        for (i, row) in page.rows.iter().enumerate() {
            let n = i + 1;
            let _ = write!(
                out,
                "<fieldset class=\"person\"><legend>{n}</legend>\
                 <label for=\"name-{n}\">{name_label}</label>\
                 <input id=\"name-{n}\" name=\"name\" autocomplete=\"off\" maxlength=\"100\" value=\"{name}\">\
                 <label for=\"email-{n}\">{email_label}</label>\
                 <input id=\"email-{n}\" name=\"email\" type=\"email\" autocomplete=\"off\" maxlength=\"254\" value=\"{email}\"{described}>",
                name_label = escape(m.team_name_label),
                name = escape(row.name),
                email_label = escape(m.team_email_label),
                email = escape(row.email),
                described = if row.error.is_some() { format!(" aria-describedby=\"error-{n}\" aria-invalid=\"true\"") } else { String::new() },
            );
            if let Some(problem) = row.error {
                let _ = write!(
                    out,
                    "<p id=\"error-{n}\" class=\"error\">{}</p>",
                    escape(problem)
                );
            }
            out.push_str("</fieldset>");
        }
        let _ = write!(
            out,
            "<button type=\"submit\">{}</button></form>",
            escape(m.team_submit)
        );
        if let Some(more) = page.more_rows {
            let _ = write!(
                out,
                "<p><a href=\"{}\">{}</a></p>",
                escape(more),
                escape(m.team_more_rows)
            );
        }
        out.push_str("</main></body></html>");
        out
    }

    fn change_password(&self, page: &FormPage<'_>) -> String {
        let m = Messages::of(page.language);
        let mut out = String::with_capacity(2048);
        head(&mut out, page.language.tag(), m.change_title, page.assets);
        let _ = write!(out, "<main><h1>{}</h1>", escape(m.change_title));
        error(&mut out, page.error);
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{action}\">{username}\
             <label for=\"current\">{current}</label>\
             <input id=\"current\" name=\"current\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
             <label for=\"password\">{new}</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required>\
             <label for=\"confirm\">{confirm}</label>\
             <input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required>\
             <p id=\"caps\" class=\"caps\" role=\"status\" hidden>{caps}</p>",
            action = escape(page.action),
            username = username_field(page.user_code),
            current = escape(m.current_password_label),
            new = escape(m.new_password_label),
            confirm = escape(m.confirm_password_label),
            caps = escape(m.caps_lock_on),
        );
        if let Some(next) = page.next {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"next\" value=\"{}\">",
                escape(next)
            );
        }
        let _ = write!(
            out,
            "<button type=\"submit\">{}</button></form></main><script src=\"{}/guichet.js\"></script></body></html>",
            escape(m.submit),
            escape(page.assets)
        );
        out
    }

    fn notice(&self, page: &NoticePage<'_>) -> String {
        let m = Messages::of(page.language);
        let mut out = String::with_capacity(1024);
        head(&mut out, page.language.tag(), page.title, page.assets);
        let _ = write!(
            out,
            "<main><h1>{}</h1><p role=\"status\">{}</p><p><a href=\"{}\">{}</a></p></main></body></html>",
            escape(page.title),
            escape(page.message),
            escape(page.sign_in),
            escape(m.back_to_sign_in)
        );
        out
    }

    fn refusal(&self, page: &RefusalPage<'_>) -> String {
        let m = Messages::of(page.language);
        let mut out = String::with_capacity(1024);
        let title = page.status.canonical_reason().unwrap_or("Error");
        head(&mut out, page.language.tag(), title, page.assets);
        let _ = write!(
            out,
            "<main><h1>{status}</h1><p role=\"alert\">{message}</p><p><a href=\"{link}\">{back}</a></p></main></body></html>",
            status = page.status.as_u16(),
            message = escape(page.message),
            link = escape(page.sign_in),
            back = escape(m.back_to_sign_in),
        );
        out
    }
}
