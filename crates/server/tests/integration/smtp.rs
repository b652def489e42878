//! The SMTP transport against a real SMTP server on loopback: a small sink written here that
//! speaks enough of RFC 5321 for lettre, and can refuse the first attempts with a 451.

use crate::harness::{Engine, spawn_with};
use crate::identity::signup;
use coachflux_domain::Clock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Default)]
pub struct Sink {
    pub messages: Arc<Mutex<Vec<String>>>,
    pub fail_next: Arc<AtomicUsize>,
}

impl Sink {
    pub async fn start() -> (Self, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = Sink::default();
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(stream).await;
                });
            }
        });
        (sink, port)
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        while let Some(line) = lines.next_line().await? {
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
                "HELO" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                "MAIL" => {
                    if self.fail_next.load(Ordering::SeqCst) > 0 {
                        self.fail_next.fetch_sub(1, Ordering::SeqCst);
                        b"451 4.3.0 try again later\r\n"
                    } else {
                        b"250 OK\r\n"
                    }
                }
                "DATA" => {
                    write.write_all(b"354 go ahead\r\n").await?;
                    let mut message = String::new();
                    while let Some(l) = lines.next_line().await? {
                        if l == "." {
                            break;
                        }
                        message.push_str(&l);
                        message.push('\n');
                    }
                    self.messages.lock().unwrap().push(message);
                    b"250 queued\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => b"502 5.5.1 command not recognised\r\n",
            };
            write.write_all(reply).await?;
        }
        Ok(())
    }
}

async fn delivers_multipart_mail_through_smtp(engine: Engine) {
    let (sink, port) = Sink::start().await;
    let url = format!("smtp://127.0.0.1:{port}");
    let Some(app) = spawn_with(
        engine,
        &[
            ("COACHFLUX_SMTP_URL", &url),
            (
                "COACHFLUX_MAIL_FROM",
                "CoachFlux <hello@coach.example.test>",
            ),
        ],
    )
    .await
    else {
        return;
    };
    signup(&app, &app.browser, "ada@example.com").await;
    assert_eq!(app.outbox.deliver_due().await.unwrap(), 1);
    let messages = sink.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(
        m.contains("Subject: Confirm your email address for CoachFlux"),
        "{m}"
    );
    assert!(m.contains("To: ada@example.com"), "{m}");
    assert!(
        m.contains("From: CoachFlux <hello@coach.example.test>"),
        "{m}"
    );
    assert!(
        m.contains("multipart/alternative") && m.contains("text/plain") && m.contains("text/html"),
        "{m}"
    );
    assert!(
        !m.contains("List-Unsubscribe"),
        "transactional mail has no unsubscribe header"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM email_outbox")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(status, "sent");
    app.stop().await;
}

async fn retries_with_backoff_after_a_temporary_failure(engine: Engine) {
    let (sink, port) = Sink::start().await;
    sink.fail_next.store(1, Ordering::SeqCst);
    let url = format!("smtp://127.0.0.1:{port}");
    let Some(app) = spawn_with(engine, &[("COACHFLUX_SMTP_URL", &url)]).await else {
        return;
    };
    signup(&app, &app.browser, "ada@example.com").await;
    assert_eq!(app.outbox.deliver_due().await.unwrap(), 0);
    let (status, attempts, error, next): (String, i64, Option<String>, i64) =
        sqlx::query_as("SELECT status, attempts, last_error, next_attempt_at FROM email_outbox")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert!(error.unwrap().contains("451"));
    assert!(
        next >= app.clock.now_ms() + 30_000,
        "backs off at least 30 s"
    );
    assert_eq!(app.outbox.deliver_due().await.unwrap(), 0, "not due yet");
    app.clock.advance_ms(40_000);
    assert_eq!(app.outbox.deliver_due().await.unwrap(), 1);
    assert_eq!(sink.messages.lock().unwrap().len(), 1);
    app.stop().await;
}

crate::on_both_engines!(delivers_multipart_mail_through_smtp);
crate::on_both_engines!(retries_with_backoff_after_a_temporary_failure);
