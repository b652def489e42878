//! Where mail goes: SMTP through lettre, or the log. The `log` transport prints whole messages,
//! links included, so a first run works offline: it is for local use only (staff see only a
//! copy with the links withheld in the admin mail log).

use coachflux_store::outbox::OutboxEmail;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub enum Transport {
    Log,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Why a delivery failed, and whether trying again could help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl Transport {
    pub fn smtp(url: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("COACHFLUX_SMTP_URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        Ok(Self::Smtp(transport))
    }

    pub async fn send(
        &self,
        from: &Mailbox,
        email: &OutboxEmail,
        unsubscribe_url: Option<&str>,
    ) -> Result<(), SendError> {
        match self {
            Transport::Log => {
                tracing::info!(
                    target: "coachflux::mail",
                    id = %email.id,
                    to = %email.to_address,
                    subject = %email.subject,
                    "email (log transport, for local use: it shows the links):\n{}",
                    email.body_text
                );
                Ok(())
            }
            Transport::Smtp(smtp) => {
                let message = build_message(from, email, unsubscribe_url)?;
                smtp.send(message).await.map(|_| ()).map_err(|e| SendError {
                    permanent: e.is_permanent(),
                    message: e.to_string(),
                })
            }
        }
    }
}

pub fn build_message(
    from: &Mailbox,
    email: &OutboxEmail,
    unsubscribe_url: Option<&str>,
) -> Result<Message, SendError> {
    let to: Mailbox = email.to_address.parse().map_err(|_| SendError {
        message: format!("invalid recipient {:?}", email.to_address),
        permanent: true,
    })?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone());
    if let Some(url) = unsubscribe_url {
        // RFC 2369 and RFC 8058 one-click unsubscribe.
        builder = builder
            .raw_header(header::HeaderValue::new(
                header::HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(header::HeaderValue::new(
                header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.body_text.clone(),
            email.body_html.clone(),
        ))
        .map_err(|e| SendError {
            message: format!("cannot build the message: {e}"),
            permanent: true,
        })
}
