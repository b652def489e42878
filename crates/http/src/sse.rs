//! Server-Sent Events for streamed coach replies: `delta` events carry reply text (a JSON
//! string) as it arrives, `reset` (data `{}`) says to drop the text shown so far because
//! another reply replaces it, and one final event (`done` or `error`) closes the stream.

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use coachflux_app::services::coach::{ReplySink, Streamed};
use std::convert::Infallible;
use tokio::sync::mpsc::unbounded_channel;
use tokio::sync::oneshot;

/// Runs `work` in the background with a sink for the reply, and streams what it sends,
/// followed by the `(event, data)` it ends with. The work finishes even if the client leaves.
pub fn stream<F, Fut>(work: F) -> Response
where
    F: FnOnce(ReplySink) -> Fut,
    Fut: Future<Output = (&'static str, String)> + Send + 'static,
{
    let (tx, rx) = unbounded_channel::<Streamed>();
    let (done_tx, done_rx) = oneshot::channel();
    let fut = work(ReplySink::new(tx));
    tokio::spawn(async move {
        let last = fut.await;
        let _ = done_tx.send(last);
    });
    let events = futures_util::stream::unfold((rx, Some(done_rx)), |(mut rx, done)| async move {
        match rx.recv().await {
            Some(streamed) => {
                let event = match streamed {
                    Streamed::Delta(text) => Event::default()
                        .event("delta")
                        .data(serde_json::to_string(&text).unwrap_or_default()),
                    Streamed::Reset => Event::default().event("reset").data("{}"),
                };
                Some((Ok::<_, Infallible>(event), (rx, done)))
            }
            None => {
                let (name, data) = done?.await.unwrap_or((
                    "error",
                    "{\"message\":\"The reply was interrupted.\"}".to_owned(),
                ));
                Some((Ok(Event::default().event(name).data(data)), (rx, None)))
            }
        }
    });
    let mut r = Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

/// Whether the client asked for an event stream.
pub fn wants_stream(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}
