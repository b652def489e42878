//! Text people type, cleaned where it enters: control characters (NUL, escapes, a line break
//! in a one-line field) and invisible format characters (bidi overrides, zero-width spaces,
//! the byte-order mark) are removed, so what is stored is what a reader sees. A title can't
//! hide a NUL that PostgreSQL refuses, nor a name read backwards on someone else's screen.

/// Unicode's format characters (general category Cf): invisible, and able to reorder or hide
/// the text around them.
pub fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}'
    )
}

/// Zero-width (non-)joiners shape Persian, Arabic and Indic words and join emoji sequences:
/// they stay between two such characters, and go anywhere else (between Latin letters they
/// only serve to make look-alikes).
fn joiner_kept(prev: Option<char>, c: char, next: Option<char>) -> bool {
    let joinable = |x: Option<char>| {
        x.is_some_and(|x| !x.is_ascii() && !x.is_whitespace() && !x.is_control() && !is_format(x))
    };
    matches!(c, '\u{200C}' | '\u{200D}') && joinable(prev) && joinable(next)
}

fn clean(s: &str, line_breaks: bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        match c {
            '\r' if next == Some('\n') => {}
            '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{0085}' => {
                out.push(if line_breaks { '\n' } else { ' ' });
            }
            '\t' => out.push(if line_breaks { '\t' } else { ' ' }),
            c if c.is_control() => {}
            c if is_format(c) && !joiner_kept(prev, c, next) => {}
            c => out.push(c),
        }
    }
    out
}

/// A one-line field (a name, a title, a tag): line breaks and tabs become spaces, other
/// control and format characters go, and the ends are trimmed.
pub fn single_line(s: &str) -> String {
    clean(s, false).trim().to_owned()
}

/// Free text (an answer, a note): line breaks (as `\n`) and tabs stay, other control and
/// format characters go, and the ends are trimmed.
pub fn multi_line(s: &str) -> String {
    clean(s, true).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_fields_lose_controls_breaks_and_invisible_characters() {
        assert_eq!(single_line("Call\0 Sam\r\nat 9"), "Call Sam at 9");
        assert_eq!(single_line("  Ada\u{202E}ecilA  "), "AdaecilA");
        assert_eq!(single_line("ad\u{200B}min"), "admin");
        assert_eq!(single_line("a\u{200D}d\u{200C}min"), "admin");
        assert_eq!(single_line("\u{FEFF}Zoë\u{2066}\u{2069}"), "Zoë");
        assert_eq!(single_line("tab\there\u{1b}[31m"), "tab here[31m");
        assert_eq!(single_line("x\u{E0041}\u{E007F}y"), "xy");
    }

    #[test]
    fn free_text_keeps_its_lines() {
        assert_eq!(
            multi_line("one\r\ntwo\rthree\u{2028}four"),
            "one\ntwo\nthree\nfour"
        );
        assert_eq!(multi_line("a\tb\0c\u{7f}d"), "a\tbcd");
        assert_eq!(multi_line("\n  keep me \u{200F}\n"), "keep me");
    }

    #[test]
    fn joiners_that_shape_words_and_emoji_stay() {
        // Persian "mi-khaham" is written with a zero-width non-joiner.
        let persian = "می\u{200C}خواهم";
        assert_eq!(single_line(persian), persian);
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(single_line(family), family);
        // At an edge or beside ASCII they go.
        assert_eq!(single_line("\u{200D}👩"), "👩");
        assert_eq!(single_line("👩\u{200D}a"), "👩a");
    }

    #[test]
    fn nothing_invisible_or_controlling_survives_any_input() {
        // Every character of the BMP and the format planes, in one string.
        let all: String = (0u32..0x3_0000)
            .chain(0xE_0000..0xE_0080)
            .filter_map(char::from_u32)
            .collect();
        for out in [single_line(&all), multi_line(&all)] {
            let mut prev: Option<char> = None;
            let chars: Vec<char> = out.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                assert!(
                    !c.is_control() || *c == '\n' || *c == '\t',
                    "control {:?} kept",
                    c
                );
                if is_format(*c) {
                    assert!(
                        joiner_kept(prev, *c, chars.get(i + 1).copied()),
                        "format U+{:04X} kept",
                        *c as u32
                    );
                }
                prev = Some(*c);
            }
        }
        assert!(!single_line(&all).contains(['\n', '\t']));
    }
}
