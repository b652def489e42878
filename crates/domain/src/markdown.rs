//! Markdown that is safe to put inside one of our pages: text written by an operator (the terms
//! and privacy pages) or by staff (resources) becomes HTML with raw HTML shown as text, links and
//! images kept only to destinations a browser can't run, and headings shifted so that the
//! page's own `<h1>` stays the only one.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// The HTML for `markdown`. Its top heading level becomes `<h2>` and the others follow it, so
/// a document written with `#` or with `##` reads the same under the page's title.
pub fn to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options).collect();
    let top = events
        .iter()
        .filter_map(|e| match e {
            Event::Start(Tag::Heading { level, .. }) => Some(*level as usize),
            _ => None,
        })
        .min()
        .unwrap_or(2);
    let shift = |level: HeadingLevel| -> HeadingLevel {
        let n = (level as usize + 2).saturating_sub(top).clamp(2, 6);
        HeadingLevel::try_from(n).unwrap_or(HeadingLevel::H6)
    };
    let safe = events.into_iter().map(|event| match event {
        // Raw HTML is shown as the text it is, never interpreted.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: shift(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(shift(level))),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, safe);
    out
}

/// `url` when a browser would only fetch or open it (http, https, mailto, tel, or a path, query
/// or fragment on this site); `#` otherwise (`javascript:`, `data:`, `vbscript:` …).
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers drop whitespace and control characters inside a scheme ("java\tscript:").
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let scheme_end = squeezed.find(':');
    let path_start = squeezed.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, path_start) {
        (Some(colon), Some(path)) => colon < path,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !has_scheme {
        return url;
    }
    let scheme = squeezed[..scheme_end.unwrap_or(0)].to_ascii_lowercase();
    if matches!(scheme.as_str(), "http" | "https" | "mailto" | "tel") {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn raw_html_is_shown_as_text() {
        let html =
            to_safe_html("Hello <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn links_keep_only_destinations_that_do_not_run() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html;base64,PGI+eDwvYj4=",
            "vbscript:msgbox",
        ] {
            let html = to_safe_html(&format!("[click](<{bad}>) ![pic](<{bad}>)"));
            assert!(html.contains(r##"<a href="#">click</a>"##), "{bad}: {html}");
            assert!(
                html.contains(r##"<img src="#" alt="pic""##),
                "{bad}: {html}"
            );
        }
        for good in [
            "https://example.org/a?b=1",
            "http://example.org",
            "mailto:privacy@example.org",
            "tel:+441234567",
            "/privacy",
            "#section",
            "notes/page.md",
            "/path/with:colon",
        ] {
            let html = to_safe_html(&format!("[x]({good})"));
            assert!(
                html.contains(&format!(r#"href="{}""#, good.replace('&', "&amp;"))),
                "{good}: {html}"
            );
        }
    }

    #[test]
    fn the_top_heading_becomes_h2_and_the_rest_follow() {
        let html = to_safe_html("# Terms\n\n## Your account\n\ntext\n");
        assert!(html.contains("<h2>Terms</h2>"), "{html}");
        assert!(html.contains("<h3>Your account</h3>"), "{html}");
        let html = to_safe_html("## Data we keep\n\n### Sessions\n\n###### Deep\n");
        assert!(html.contains("<h2>Data we keep</h2>"), "{html}");
        assert!(html.contains("<h3>Sessions</h3>"), "{html}");
        assert!(html.contains("<h6>Deep</h6>"), "{html}");
        assert!(!html.contains("<h1"), "{html}");
    }

    #[test]
    fn lists_tables_and_emphasis_render() {
        let html = to_safe_html("- one\n- **two**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(html.contains("<li><strong>two</strong></li>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }
}
