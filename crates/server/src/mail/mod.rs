//! Email: messages rendered from templates (plain text and HTML), enqueued in the outbox inside
//! the caller's transaction, delivered by [`worker::Outbox`] through a [`transport::Transport`].

pub mod messages;
pub mod transport;
pub mod worker;

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

/// Renders and stores the email in the outbox on `conn` (normally inside the transaction of
/// the change that causes it). The worker delivers it after the commit.
pub async fn enqueue(
    conn: &mut Conn,
    email: &Email,
    public_url: &str,
    unsubscribe_url: Option<&str>,
    now: i64,
) -> Result<()> {
    let (text, html) = render(email, public_url, unsubscribe_url)
        .map_err(|e| coachflux_store::StoreError::Corrupt(format!("email template: {e}")))?;
    let id = coachflux_domain::ids::new_id();
    outbox::enqueue(
        conn,
        &outbox::NewEmail {
            id: &id,
            user_id: email.user_id.as_deref(),
            to: &email.to,
            template: email.template,
            subject: &email.subject,
            body_text: &text,
            body_html: &html,
            transactional: email.list.is_none(),
            now,
        },
    )
    .await
}
