//! iCalendar (RFC 5545) for the private action-item feed: one all-day event per dated item,
//! so due dates show up in Google Calendar, Outlook and Apple Calendar.

use crate::dates;

pub struct Event<'a> {
    /// Stable across refreshes so calendars update instead of duplicating.
    pub uid: &'a str,
    pub title: &'a str,
    pub description: Option<&'a str>,
    /// End of the due day (in the calendar's zone); the event covers that day.
    pub due_ms: i64,
    pub completed: bool,
    pub updated_ms: i64,
}

/// TEXT escaping (RFC 5545 §3.3.11).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Content lines are folded at 75 octets, never inside a UTF-8 character (§3.1).
fn push_line(out: &mut String, line: &str) {
    let mut start = 0;
    let mut first = true;
    while start < line.len() {
        let budget = if first { 75 } else { 74 };
        let mut end = (start + budget).min(line.len());
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        if !first {
            out.push(' ');
        }
        out.push_str(&line[start..end]);
        out.push_str("\r\n");
        start = end;
        first = false;
    }
    if line.is_empty() {
        out.push_str("\r\n");
    }
}

fn date(ms: i64) -> String {
    let (y, m, d) = dates::ymd(ms);
    format!("{y:04}{m:02}{d:02}")
}

fn stamp(ms: i64) -> String {
    let (y, m, d) = dates::ymd(ms);
    let secs = ms.rem_euclid(86_400_000) / 1_000;
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3_600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The feed of `events`, each on its due day in `zone` (the person's: an all-day event has no
/// zone of its own, so "Friday" must be their Friday).
pub fn calendar(name: &str, events: &[Event<'_>], now_ms: i64, zone: dates::Zone) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//CoachFlux//Action items//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_line(&mut out, line);
    }
    push_line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{}", e.uid));
        push_line(&mut out, &format!("DTSTAMP:{}", stamp(now_ms)));
        push_line(&mut out, &format!("LAST-MODIFIED:{}", stamp(e.updated_ms)));
        let day = zone.local_ms(e.due_ms);
        push_line(&mut out, &format!("DTSTART;VALUE=DATE:{}", date(day)));
        push_line(
            &mut out,
            &format!("DTEND;VALUE=DATE:{}", date(day + 86_400_000)),
        );
        let title = if e.completed {
            format!("✓ {}", e.title)
        } else {
            e.title.to_owned()
        };
        push_line(&mut out, &format!("SUMMARY:{}", escape(&title)));
        if let Some(d) = e.description {
            push_line(&mut out, &format!("DESCRIPTION:{}", escape(d)));
        }
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_folds_long_lines() {
        let long = "Café, plan; and \\ more ".repeat(10);
        let cal = calendar(
            "My actions",
            &[Event {
                uid: "a1@coachflux",
                title: &long,
                description: Some("line one\nline two"),
                due_ms: 1_768_607_999_999,
                completed: false,
                updated_ms: 0,
            }],
            1_768_471_200_000,
            dates::Zone::UTC,
        );
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
        assert!(cal.contains("DTSTART;VALUE=DATE:20260116\r\n"));
        assert!(cal.contains("DTEND;VALUE=DATE:20260117\r\n"));
        assert!(cal.contains("DTSTAMP:20260115T100000Z"));
        assert!(cal.contains("DESCRIPTION:line one\\nline two"));
        assert!(cal.contains("Café\\, plan\\; and \\\\ more"));
        for line in cal.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
    }

    #[test]
    fn all_day_events_fall_on_the_persons_day() {
        // Thursday 15 January ends at 07:59:59.999 UTC on Friday in Los Angeles.
        let event = Event {
            uid: "a1@coachflux",
            title: "Call Sam",
            description: None,
            due_ms: 1_768_521_599_999 + 8 * 3_600_000,
            completed: false,
            updated_ms: 0,
        };
        let la = dates::Zone::named("America/Los_Angeles").unwrap();
        let cal = calendar("Mine", std::slice::from_ref(&event), 0, la);
        assert!(cal.contains("DTSTART;VALUE=DATE:20260115\r\n"), "{cal}");
        assert!(cal.contains("DTEND;VALUE=DATE:20260116\r\n"));
        let cal = calendar("Mine", &[event], 0, dates::Zone::UTC);
        assert!(cal.contains("DTSTART;VALUE=DATE:20260116\r\n"));
    }
}
