//! Email: messages rendered from templates (plain text and HTML), enqueued in the outbox inside
//! the caller's transaction, delivered by [`worker::Outbox`] through a [`transport::Transport`].

pub mod messages;
pub mod transport;
pub mod worker;

use crate::crypto::{Keys, Purpose};
use askama::Template;
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

#[derive(Template)]
#[template(path = "email/message.txt")]
struct TextBody<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    action: &'a Option<(String, String)>,
    after: &'a [String],
    public_url: &'a str,
    unsubscribe_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/message.html")]
struct HtmlBody<'a> {
    subject: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    action: &'a Option<(String, String)>,
    after: &'a [String],
    public_url: &'a str,
    unsubscribe_url: Option<&'a str>,
}

/// Renders both parts. `unsubscribe_url` is given for list mail.
pub fn render(
    email: &Email,
    public_url: &str,
    unsubscribe_url: Option<&str>,
) -> std::result::Result<(String, String), askama::Error> {
    let text = TextBody {
        greeting: &email.greeting,
        paragraphs: &email.paragraphs,
        action: &email.action,
        after: &email.after,
        public_url,
        unsubscribe_url,
    }
    .render()?;
    let html = HtmlBody {
        subject: &email.subject,
        greeting: &email.greeting,
        paragraphs: &email.paragraphs,
        action: &email.action,
        after: &email.after,
        public_url,
        unsubscribe_url,
    }
    .render()?;
    Ok((text, html))
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
    let template_error =
        |e: askama::Error| coachflux_store::StoreError::Corrupt(format!("email template: {e}"));
    let (text, html) = render(email, public_url, unsubscribe_url).map_err(template_error)?;
    let redacted = redacted_text(email, public_url, unsubscribe_url).map_err(template_error)?;
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
fn redacted_text(
    email: &Email,
    public_url: &str,
    unsubscribe_url: Option<&str>,
) -> std::result::Result<String, askama::Error> {
    let action = email
        .action
        .as_ref()
        .map(|(label, _)| (label.clone(), WITHHELD.to_owned()));
    TextBody {
        greeting: &email.greeting,
        paragraphs: &email.paragraphs,
        action: &action,
        after: &email.after,
        public_url,
        unsubscribe_url: unsubscribe_url.map(|_| WITHHELD),
    }
    .render()
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
        )
        .unwrap();
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
        let (text, html) = render(&reset_mail(), "https://coach.example.test", None).unwrap();
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
