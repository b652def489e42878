//! Email: messages rendered from templates (plain text and HTML), enqueued in the outbox inside
//! the caller's transaction, delivered by [`worker::Outbox`] through a [`transport::Transport`].

pub mod messages;
pub mod transport;
pub mod worker;

use crate::crypto::{Keys, Purpose};
use coachflux_store::{Conn, Result, outbox};

/// A mailing list a person can leave with one click. Transactional mail (security, account)
/// belongs to none and is always sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    ProductUpdates,
    Newsletter,
    ActionReminders,
    MarketingEmails,
}

impl List {
    pub const ALL: [List; 4] = [
        List::ProductUpdates,
        List::Newsletter,
        List::ActionReminders,
        List::MarketingEmails,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            List::ProductUpdates => "product_updates",
            List::Newsletter => "newsletter",
            List::ActionReminders => "action_reminders",
            List::MarketingEmails => "marketing_emails",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            List::ProductUpdates => "Product updates",
            List::Newsletter => "Newsletter",
            List::ActionReminders => "Action item reminders",
            List::MarketingEmails => "Offers and marketing",
        }
    }
}

/// One email, as data: who it goes to and what it says.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub user_id: Option<String>,
    /// A stable name for the kind of message (`verify_email`, `magic_link`...).
    pub template: &'static str,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// A button: label and absolute URL.
    pub action: Option<(String, String)>,
    pub after: Vec<String>,
    /// `None` for transactional mail; a list for mail a person can unsubscribe from.
    pub list: Option<List>,
}

/// Everything one message body shows, once its links are decided.
struct Body<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    action: Option<(&'a str, &'a str)>,
    after: &'a [String],
    public_url: &'a str,
    unsubscribe_url: Option<&'a str>,
}

impl Body<'_> {
    fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.greeting);
        for p in self.paragraphs {
            out.push_str(&format!("{p}\n\n"));
        }
        if let Some((label, url)) = self.action {
            out.push_str(&format!("{label}:\n{url}\n\n"));
        }
        for p in self.after {
            out.push_str(&format!("{p}\n\n"));
        }
        out.push_str(&format!("-- \nCoachFlux · {}\n", self.public_url));
        if let Some(url) = self.unsubscribe_url {
            out.push_str(&format!("Unsubscribe from these emails: {url}\n"));
        }
        out
    }

    /// Inline styles only: mail clients drop style sheets.
    fn html(&self, subject: &str) -> String {
        let e = escape;
        let paragraph = |p: &str| format!("<p style=\"margin:0 0 16px;\">{}</p>\n", e(p));
        let mut body = paragraph(self.greeting);
        body.extend(self.paragraphs.iter().map(|p| paragraph(p)));
        if let Some((label, url)) = self.action {
            body.push_str(&format!(
                "<p style=\"margin:24px 0;\"><a href=\"{url}\" style=\"display:inline-block;background:#0f766e;color:#ffffff;text-decoration:none;font-weight:600;padding:12px 22px;border-radius:999px;\">{label}</a></p>\n\
                 <p style=\"margin:0 0 16px;font-size:13px;color:#4b5a5c;\">If the button doesn't work, copy this link into your browser:<br><a href=\"{url}\" style=\"color:#0f766e;word-break:break-all;\">{url}</a></p>\n",
                url = e(url),
                label = e(label),
            ));
        }
        body.extend(self.after.iter().map(|p| paragraph(p)));
        let unsubscribe = self.unsubscribe_url.map_or_else(String::new, |url| {
            format!(
                "<br><a href=\"{}\" style=\"color:#0f766e;\">Unsubscribe from these emails</a>",
                e(url)
            )
        });
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"color-scheme\" content=\"light dark\">\n<title>{subject}</title>\n</head>\n\
             <body style=\"margin:0;padding:0;background:#f4f6f5;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1c2526;\">\n\
             <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f6f5;padding:24px 0;\">\n<tr><td align=\"center\">\n\
             <table role=\"presentation\" width=\"560\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:560px;width:100%;background:#ffffff;border-radius:12px;border:1px solid #d9dedb;\">\n\
             <tr><td style=\"padding:24px 28px 8px;font-size:18px;font-weight:700;color:#0f766e;\">◆ CoachFlux</td></tr>\n\
             <tr><td style=\"padding:8px 28px 24px;font-size:16px;line-height:1.6;\">\n{body}</td></tr>\n\
             <tr><td style=\"padding:16px 28px 24px;border-top:1px solid #e5e9e7;font-size:12px;color:#4b5a5c;\">\n\
             Sent by CoachFlux at <a href=\"{public}\" style=\"color:#0f766e;\">{public}</a>.\n{unsubscribe}\n\
             </td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n",
            subject = e(subject),
            public = e(self.public_url),
        )
    }
}

/// Escapes text for HTML element content and double-quoted attributes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders both parts: plain text and HTML. `unsubscribe_url` is given for list mail.
pub fn render(email: &Email, public_url: &str, unsubscribe_url: Option<&str>) -> (String, String) {
    let body = Body {
        greeting: &email.greeting,
        paragraphs: &email.paragraphs,
        action: email
            .action
            .as_ref()
            .map(|(label, url)| (label.as_str(), url.as_str())),
        after: &email.after,
        public_url,
        unsubscribe_url,
    };
    (body.text(), body.html(&email.subject))
}

/// What staff see instead of a link in the mail log: links may sign someone in.
pub const WITHHELD: &str = "[link withheld: only the recipient sees it]";

/// Renders and stores the email in the outbox on `conn` (normally inside the transaction of
/// the change that causes it). The worker delivers it after the commit. Both parts are sealed
/// with the server key (they may carry a sign-in or reset link); a plain-text copy with every
/// link withheld is kept for the staff mail log.
pub async fn enqueue(
    conn: &mut Conn,
    keys: &Keys,
    email: &Email,
    public_url: &str,
    unsubscribe_url: Option<&str>,
    now: i64,
) -> Result<()> {
    let (text, html) = render(email, public_url, unsubscribe_url);
    let redacted = redacted_text(email, public_url, unsubscribe_url);
    let id = coachflux_domain::ids::new_id();
    outbox::enqueue(
        conn,
        &outbox::NewEmail {
            id: &id,
            user_id: email.user_id.as_deref(),
            to: &email.to,
            template: email.template,
            subject: &email.subject,
            body_text: &keys.seal(Purpose::MailBody, text.as_bytes()),
            body_html: &keys.seal(Purpose::MailBody, html.as_bytes()),
            body_redacted: &redacted,
            transactional: email.list.is_none(),
            now,
        },
    )
    .await
}

/// The plain text with the button's link and the unsubscribe link withheld.
fn redacted_text(email: &Email, public_url: &str, unsubscribe_url: Option<&str>) -> String {
    Body {
        greeting: &email.greeting,
        paragraphs: &email.paragraphs,
        action: email
            .action
            .as_ref()
            .map(|(label, _)| (label.as_str(), WITHHELD)),
        after: &email.after,
        public_url,
        unsubscribe_url: unsubscribe_url.map(|_| WITHHELD),
    }
    .text()
}

/// The deliverable message: `email` with its bodies opened. `None` when a sealed body doesn't
/// open with this key (the server key changed since it was queued).
pub fn opened(keys: &Keys, email: &outbox::OutboxEmail) -> Option<outbox::OutboxEmail> {
    let open = |body: &str| -> Option<String> {
        if body.starts_with("v2.") {
            String::from_utf8(keys.open(Purpose::MailBody, body)?).ok()
        } else {
            // Queued before bodies were sealed.
            Some(body.to_owned())
        }
    };
    Some(outbox::OutboxEmail {
        body_text: open(&email.body_text)?,
        body_html: open(&email.body_html)?,
        ..email.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reset_mail() -> Email {
        messages::password_reset(
            &messages::To {
                email: "ada@example.com",
                user_id: Some("u1"),
                name: Some("Ada"),
            },
            "https://coach.example.test/reset-password?token=SECRET123",
        )
    }

    #[test]
    fn the_redacted_copy_keeps_the_words_and_withholds_every_link() {
        let e = reset_mail();
        let text = redacted_text(
            &e,
            "https://coach.example.test",
            Some("https://coach.example.test/unsubscribe?u=u1&s=SIG"),
        );
        assert!(text.contains("Choose a new password"), "{text}");
        assert!(text.contains(WITHHELD));
        assert!(
            !text.contains("SECRET123") && !text.contains("SIG"),
            "{text}"
        );
    }

    #[test]
    fn sealed_bodies_open_with_the_key_and_legacy_ones_pass_through() {
        let keys = Keys::from_secret(&"ab".repeat(32));
        let (text, html) = render(&reset_mail(), "https://coach.example.test", None);
        let stored = outbox::OutboxEmail {
            id: "m1".into(),
            user_id: None,
            to_address: "ada@example.com".into(),
            template: "password_reset".into(),
            subject: "Reset".into(),
            body_text: keys.seal(Purpose::MailBody, text.as_bytes()),
            body_html: keys.seal(Purpose::MailBody, html.as_bytes()),
            body_redacted: String::new(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: 0,
            locked_until: None,
            last_error: None,
            transactional: true,
            created_at: 0,
            sent_at: None,
        };
        assert!(!stored.body_text.contains("SECRET123"));
        let open = opened(&keys, &stored).unwrap();
        assert!(open.body_text.contains("token=SECRET123"));
        assert!(open.body_html.contains("token=SECRET123"));
        let other = Keys::from_secret(&"cd".repeat(32));
        assert!(opened(&other, &stored).is_none());
        let legacy = outbox::OutboxEmail {
            body_text: "Hi,\n".into(),
            body_html: "<p>Hi</p>".into(),
            ..stored
        };
        assert_eq!(opened(&other, &legacy).unwrap().body_text, "Hi,\n");
    }
}
