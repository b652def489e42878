//! The terms of use and the privacy notice. The operator's own text wins: Markdown in
//! `<data dir>/pages/terms.md` or `<data dir>/pages/privacy.md`, read on each request so an
//! edit shows at once without a restart; without one, the defaults shipped in the binary.

use crate::error::AppError;
use crate::state::AppState;
use coachflux_domain::markdown::to_safe_html;

/// An operator's page larger than this is refused (and logged) rather than read whole.
const MAX_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Terms,
    Privacy,
}

impl Document {
    pub fn title(self) -> &'static str {
        match self {
            Document::Terms => "Terms of use",
            Document::Privacy => "Privacy",
        }
    }

    /// The file that replaces the default, under the data directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Document::Terms => "terms.md",
            Document::Privacy => "privacy.md",
        }
    }

    fn default_markdown(self) -> &'static str {
        match self {
            Document::Terms => include_str!("../legal/terms.md"),
            Document::Privacy => include_str!("../legal/privacy.md"),
        }
    }
}

pub struct Rendered {
    pub title: &'static str,
    /// Safe HTML: raw HTML in the Markdown is shown as text.
    pub html: String,
    /// Whether the operator's file was used (else the default).
    pub from_operator: bool,
}

/// The page as this server shows it.
pub async fn document(state: &AppState, doc: Document) -> Result<Rendered, AppError> {
    let path = state.config.data_dir.join("pages").join(doc.file_name());
    let operator = match tokio::fs::metadata(&path).await {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(unreadable(&path, &e.to_string())),
        Ok(meta) if meta.len() > MAX_BYTES => {
            return Err(unreadable(
                &path,
                &format!("{} bytes, more than {MAX_BYTES}", meta.len()),
            ));
        }
        Ok(_) => Some(
            tokio::fs::read_to_string(&path)
                .await
                .map_err(|e| unreadable(&path, &e.to_string()))?,
        ),
    };
    Ok(Rendered {
        title: doc.title(),
        html: to_safe_html(operator.as_deref().unwrap_or(doc.default_markdown())),
        from_operator: operator.is_some(),
    })
}

/// The operator wrote a page that can't be shown: showing the default instead would publish
/// terms they replaced, so the page fails and the log says why.
fn unreadable(path: &std::path::Path, why: &str) -> AppError {
    tracing::error!(path = %path.display(), why, "legal page can't be read");
    AppError::Internal(anyhow::anyhow!(
        "legal page {} can't be read",
        path.display()
    ))
}
