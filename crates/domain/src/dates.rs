//! Due dates from the plain phrases people write on action items ("Call Sam by Friday").
//!
//! Everything works in whole days of the person's [`Zone`] and takes `now_ms` as an argument, so
//! the same sentence always gives the same date, in tests and in scheduled jobs alike. A due
//! date is the *end* of its day there, so that "by Friday" is still not overdue on Friday
//! evening wherever the person is.
//!
//! Slash dates ("01/02/2026") are deliberately not parsed: half the world reads them day-first
//! and half month-first, and a silently wrong deadline is worse than none.

use crate::clock::DAY_MS;
use chrono::{Datelike, NaiveDate};

/// A due date: the end of the due day (23:59:59.999 in the person's [`Zone`]) as a UTC instant in
/// ms, and the words that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub at_ms: i64,
    pub phrase: String,
}

/// A person's time zone (an IANA name such as "Europe/Berlin"): dates they write are days on
/// their own calendar, and a due date ends at the end of *their* day. UTC when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(chrono_tz::Tz);

impl Default for Zone {
    fn default() -> Self {
        Zone::UTC
    }
}

impl Zone {
    pub const UTC: Zone = Zone(chrono_tz::Tz::UTC);

    /// The zone an IANA name names, case-insensitively ("europe/berlin" too); `None` for
    /// anything else, so a bad setting is refused rather than silently read as UTC.
    pub fn named(name: &str) -> Option<Zone> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return None;
        }
        name.parse::<chrono_tz::Tz>().ok().map(Zone).or_else(|| {
            chrono_tz::TZ_VARIANTS
                .iter()
                .find(|tz| tz.name().eq_ignore_ascii_case(name))
                .copied()
                .map(Zone)
        })
    }

    /// The IANA name ("Europe/Berlin").
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The names a person picks from: "Area/City" zones and UTC, without the "US/Pacific" and
    /// "Etc/GMT+5" kinds (some older city spellings, kept by the database as links, remain),
    /// sorted.
    pub fn choices() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .filter(|n| {
                *n == "UTC"
                    || (n.contains('/')
                        && !n.starts_with("Etc/")
                        && !n.starts_with("US/")
                        && !n.starts_with("SystemV/")
                        && n.split('/').next().is_some_and(|area| {
                            matches!(
                                area,
                                "Africa"
                                    | "America"
                                    | "Antarctica"
                                    | "Asia"
                                    | "Atlantic"
                                    | "Australia"
                                    | "Europe"
                                    | "Indian"
                                    | "Pacific"
                            )
                        }))
            })
            .collect();
        names.sort_unstable();
        names
    }

    /// The zone's offset from UTC at the instant `utc_ms`, in ms (summer time included).
    pub fn offset_ms(self, utc_ms: i64) -> i64 {
        use chrono::{Offset, TimeZone};
        chrono::DateTime::from_timestamp_millis(utc_ms).map_or(0, |t| {
            i64::from(
                self.0
                    .offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ) * 1000
        })
    }

    /// The person's wall-clock time at `utc_ms`, written as if it were UTC: the calendar
    /// arithmetic of this module then works on their days.
    pub fn local_ms(self, utc_ms: i64) -> i64 {
        utc_ms.saturating_add(self.offset_ms(utc_ms))
    }

    /// The instant a wall-clock time (as [`Zone::local_ms`] writes it) happens: the later one
    /// when the clocks go back; when they go forward, a skipped time is read with the offset
    /// from before the jump (02:30 becomes 03:30), as calendars do.
    pub fn utc_ms(self, local_ms: i64) -> i64 {
        use chrono::{Offset, TimeZone};
        let Some(naive) = chrono::DateTime::from_timestamp_millis(local_ms).map(|t| t.naive_utc())
        else {
            return local_ms;
        };
        let offset = match self.0.offset_from_local_datetime(&naive) {
            chrono::LocalResult::Single(o) => o.fix(),
            chrono::LocalResult::Ambiguous(_, later) => later.fix(),
            // In a gap the wall-clock time never happens; the offset before the jump moves it
            // on by the size of the jump.
            chrono::LocalResult::None => self
                .0
                .offset_from_utc_datetime(&(naive - chrono::TimeDelta::days(1)))
                .fix(),
        };
        local_ms.saturating_sub(i64::from(offset.local_minus_utc()) * 1000)
    }

    /// A due date found on the person's calendar, as the instant their day ends.
    fn due_at(self, local: Due) -> Due {
        Due {
            at_ms: self.utc_ms(local.at_ms),
            phrase: local.phrase,
        }
    }
}

const MONTH_ABBREVIATIONS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAY_ABBREVIATIONS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const FRIDAY: u32 = 4;
const SUNDAY: u32 = 6;

/// The longest phrase understood is "due by the end of next week" (6 words); `split_due`
/// never needs to look further back than this.
const MAX_PHRASE_WORDS: usize = 8;
/// The calendar's range (chrono's, about ±262,000 years): years beyond it are clamped to it.
const MAX_YEAR: i64 = 262_000;
/// "In 5000 days" is a typo, not a deadline, and the cap keeps the arithmetic far from overflow.
const MAX_COUNT: i64 = 999;
/// Weekday abbreviations that are also ordinary English words: alone at the end of a sentence
/// ("Sit in the sun") they are far more likely to be the word than the day.
const AMBIGUOUS_ABBREVIATIONS: [&str; 4] = ["mon", "wed", "sat", "sun"];

/// Parses a phrase that is only a date: "today", "tonight", "tomorrow", "Friday", "by Friday",
/// "on Friday", "this Friday", "next Friday" (the Friday of next week, weeks running Monday to
/// Sunday), "next week" (Friday of next week: a working-week deadline), "this week" / "end of
/// the week" (the coming Friday, today if it is Friday), "end of next week", "in 3 days",
/// "in three days", "in a day", "in 2 weeks", "in a fortnight", "in a month" (same day number,
/// clamped to the month's length), "end of the month", "next month" (the 1st of next month),
/// ISO "2026-02-01", and "1 Feb", "1st February", "February 1", "Feb 1st" with an optional year
/// (without one: this year, or next year if that day has passed); also "asap" (today), "this
/// weekend" / "by the weekend" / "next weekend" (its Sunday), "by the 20th" (this month's, or
/// the next month's once passed), "end of June", "mid-January" (the 15th), "before Christmas"
/// (24 December), "Q1" / "end of Q1" (the quarter's last day). A time of day after the date
/// ("tomorrow morning", "Monday 9am", "Friday at 3:30 pm") is allowed and leaves the day as it is.
///
/// A bare weekday, or one after "by", "on" or "this", is the coming occurrence, today included.
/// Case-insensitive, tolerant of extra spaces and surrounding punctuation. `None` when the
/// phrase is not a date. Days are the person's: "tomorrow" at 23:30 in Berlin is the day after
/// Berlin's today, whatever the date in UTC.
pub fn parse_due(phrase: &str, now_ms: i64, zone: Zone) -> Option<Due> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    due_from_words(&words, zone.local_ms(now_ms), true).map(|d| zone.due_at(d))
}

/// Finds a due-date phrase in a sentence and returns the rest as the title plus the [`Due`]:
/// at the end ("Email Priya the draft by next Tuesday." -> "Email Priya the draft"), else in the
/// middle after a word that leads a deadline ("Call Mum on Sunday about the trip" -> "Call Mum
/// about the trip"). The longest date phrase wins, so "by" and "next" go with the date rather
/// than the title. `None` when no date phrase is found, or when the whole sentence is the date
/// and no title is left.
pub fn split_due(sentence: &str, now_ms: i64, zone: Zone) -> Option<(String, Due)> {
    let local_now = zone.local_ms(now_ms);
    trailing_due(sentence, local_now)
        .or_else(|| inner_due(sentence, local_now))
        .map(|(title, due)| (title, zone.due_at(due)))
}

/// Words that lead a deadline in the middle of a sentence. A date phrase there must start with
/// one, so that "Run 5 km" or "Book the May flights" keep their words.
const INNER_LEADS: [&str; 14] = [
    "by", "on", "before", "until", "till", "next", "this", "tomorrow", "today", "tonight", "asap",
    "in", "within", "end",
];

/// Words that may follow a date in the middle of a sentence: the start of a new part of it.
const INNER_FOLLOWERS: [&str; 20] = [
    "about", "to", "for", "with", "and", "that", "so", "then", "at", "in", "on", "before", "after",
    "if", "when", "while", "or", "but", "because", "once",
];

/// A date phrase after a lead word in the middle of a sentence, the longest one at the first
/// place it starts; the title is the words around it.
fn inner_due(sentence: &str, now_ms: i64) -> Option<(String, Due)> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    for start in 1..words.len().saturating_sub(1) {
        let first = normalise_word(words[start]);
        // "at our Tuesday 1:1", "the Thursday review": a weekday after a determiner names a
        // meeting, not a deadline.
        let determined = matches!(
            normalise_word(words[start - 1]).as_str(),
            "a" | "the" | "our" | "my" | "your" | "his" | "her" | "their" | "every" | "each"
        );
        let lead = INNER_LEADS.contains(&first.as_str())
            || (weekday_named(&first).is_some() && first.len() > 3 && !determined);
        // A word ending a clause ("Call Sam, tomorrow…") is still a lead; one that ends a
        // sentence is not the start of this action's date.
        if !lead || words[start - 1].ends_with(['.', '!', '?']) {
            continue;
        }
        // "Swim on Monday and Thursday": the second of two days is no deadline either.
        let second_of_two =
            matches!(normalise_word(words[start - 1]).as_str(), "and" | "or") && start >= 2 && {
                let w = normalise_word(words[start - 2]);
                weekday_named(&w).is_some() || month_named(&w).is_some()
            };
        if second_of_two {
            continue;
        }
        let longest = (start + MAX_PHRASE_WORDS).min(words.len() - 1);
        for end in (start + 1..=longest).rev() {
            // The phrase must end at a word's end, not inside "Friday's".
            // The sentence goes on with a new part ("… on Sunday about the trip", "… by Friday,
            // then …"), not with a noun the date describes ("on the 3rd floor").
            let follower = normalise_word(words[end]);
            let goes_on = words[end - 1].ends_with([',', ';', ':'])
                || INNER_FOLLOWERS.contains(&follower.as_str());
            // "Swim on Monday and Thursday": a second day follows, so neither is a deadline.
            let another_day = matches!(follower.as_str(), "and" | "or")
                && words.get(end + 1).is_some_and(|w| {
                    let w = normalise_word(w);
                    weekday_named(&w).is_some() || month_named(&w).is_some()
                });
            if !goes_on || another_day {
                continue;
            }
            if let Some(due) = due_from_words(&words[start..end], now_ms, false) {
                let before = words[..start].join(" ");
                let after = words[end..].join(" ");
                let before = before.trim_end_matches(is_joint);
                let after = after.trim_start_matches(is_joint);
                if before.is_empty() || after.is_empty() {
                    return None;
                }
                return Some((format!("{before} {after}"), due));
            }
        }
    }
    None
}

fn trailing_due(sentence: &str, now_ms: i64) -> Option<(String, Due)> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    // Starting at 0 lets a sentence that is only a date ("by next Friday") claim all its words,
    // instead of leaving "by" behind as a title.
    let earliest = words.len().saturating_sub(MAX_PHRASE_WORDS);
    for start in earliest..words.len() {
        let first = normalise_word(words[start]);
        // A stray dash or comma belongs with the title's punctuation, not inside the phrase.
        if first.is_empty() {
            continue;
        }
        if start + 1 == words.len() && AMBIGUOUS_ABBREVIATIONS.contains(&first.as_str()) {
            continue;
        }
        if let Some(due) = due_from_words(&words[start..], now_ms, false) {
            let title = words[..start]
                .join(" ")
                .trim_end_matches(is_joint)
                .to_owned();
            return (!title.is_empty()).then_some((title, due));
        }
    }
    None
}

/// "Fri 16 Jan 2026" style short label for pages: the day it is in `zone` at `at_ms`.
pub fn label(at_ms: i64, zone: Zone) -> String {
    let at_ms = zone.local_ms(at_ms);
    let (y, m, d) = ymd(at_ms);
    format!(
        "{} {d} {} {y}",
        WEEKDAY_ABBREVIATIONS[weekday(at_ms) as usize],
        MONTH_ABBREVIATIONS[(m - 1) as usize]
    )
}

/// "7 Dec": the day it is in `zone` at `at_ms`, for chart labels.
pub fn day_month(at_ms: i64, zone: Zone) -> String {
    let (_, m, d) = ymd(zone.local_ms(at_ms));
    format!("{d} {}", MONTH_ABBREVIATIONS[(m - 1) as usize])
}

/// When each of the last `weeks` calendar weeks began (Monday 00:00 on the person's clock),
/// oldest first; the last is the week `now_ms` is in.
pub fn week_starts(now_ms: i64, zone: Zone, weeks: i64) -> Vec<i64> {
    let local = zone.local_ms(now_ms);
    let monday = local.div_euclid(DAY_MS) * DAY_MS - i64::from(weekday(local)) * DAY_MS;
    (0..weeks)
        .rev()
        .map(|k| zone.utc_ms(monday - k * 7 * DAY_MS))
        .collect()
}

/// "Thu 15 Jan 2026, 11:00 CET": a moment as the person's clock shows it, with the zone's
/// abbreviation so that nobody has to guess which clock.
pub fn moment(at_ms: i64, zone: Zone) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .with_timezone(&zone.0)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// The zone an account names, UTC when it names none (or one no longer known).
pub fn zone_of(name: Option<&str>) -> Zone {
    name.and_then(Zone::named).unwrap_or_default()
}

/// "2026-01-16": the day it is in `zone` at `at_ms`, as date inputs and [`parse_due`] take it.
pub fn ymd_string(at_ms: i64, zone: Zone) -> String {
    let (y, m, d) = ymd(zone.local_ms(at_ms));
    format!("{y:04}-{m:02}-{d:02}")
}

/// (year, month 1-12, day 1-31) of a UTC ms time.
pub fn ymd(ms: i64) -> (i64, u32, u32) {
    civil_from_days(ms.div_euclid(DAY_MS))
}

/// The start (00:00 UTC) of a day, in ms. Out-of-range months and days roll over the way
/// JavaScript's `Date.UTC` does (month 13 is January of the next year, day 0 the last day of the
/// previous month), because the arithmetic is linear and callers adding months rely on it.
/// Years beyond the calendar's range are clamped to it.
pub fn from_ymd(y: i64, m: u32, d: u32) -> i64 {
    days_from_ymd(y.clamp(-MAX_YEAR, MAX_YEAR), m, d).saturating_mul(DAY_MS)
}

/// Day of the week of a UTC ms time: 0 = Monday .. 6 = Sunday.
pub fn weekday(ms: i64) -> u32 {
    weekday_of_day(ms.div_euclid(DAY_MS))
}

/// Day 0 (1970-01-01) was a Thursday, which is 3 counting from Monday.
fn weekday_of_day(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// Days since 1970-01-01 with month and day normalised first (see [`from_ymd`]).
fn days_from_ymd(y: i64, m: u32, d: u32) -> i64 {
    let months = y.saturating_mul(12) + i64::from(m) - 1;
    let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    days_from_civil(y, m, 1) + i64::from(d) - 1
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

/// Days since 1970-01-01 of a proleptic Gregorian date, for `m` in 1..=12 (`d` may run past the
/// month's end: it is counted on from its first day).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let year = i32::try_from(y.clamp(-MAX_YEAR, MAX_YEAR)).unwrap_or(0);
    let month = u32::try_from(m.clamp(1, 12)).unwrap_or(1);
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("a month within the calendar");
    first.signed_duration_since(epoch()).num_days() + d - 1
}

/// The date `days` after 1970-01-01 as (year, month 1-12, day 1-31), clamped to the calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let lowest = days_from_civil(-MAX_YEAR, 1, 1);
    let highest = days_from_civil(MAX_YEAR, 12, 31);
    let date = chrono::TimeDelta::try_days(days.clamp(lowest, highest))
        .and_then(|delta| epoch().checked_add_signed(delta))
        .unwrap_or_else(epoch);
    (i64::from(date.year()), date.month(), date.day())
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `whole`: the words are the whole answer (not the end of a sentence), so forms that also
/// occur in titles ("the weekend", "the 20th") count as dates without "by" or "on".
fn due_from_words(words: &[&str], now_ms: i64, whole: bool) -> Option<Due> {
    let normalised: Vec<String> = words
        .iter()
        .map(|w| normalise_word(w))
        .filter(|w| !w.is_empty())
        .collect();
    let normalised: Vec<&str> = normalised.iter().map(String::as_str).collect();
    let day = day_of(&normalised, now_ms.div_euclid(DAY_MS), whole)?;
    let at_ms = day.checked_mul(DAY_MS)?.checked_add(DAY_MS - 1)?;
    let phrase = words
        .join(" ")
        .trim_matches(|c| is_edge_punctuation(c) || is_dash(c))
        .to_owned();
    Some(Due { at_ms, phrase })
}

/// What joins a date to the rest of its sentence and goes with neither: spaces, commas, dashes.
fn is_joint(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '\u{2013}' | '\u{2014}')
}

fn is_edge_punctuation(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | ','
                | '!'
                | '?'
                | ';'
                | ':'
                | '('
                | ')'
                | '['
                | ']'
                | '"'
                | '\''
                | '\u{2018}'
                | '\u{2019}'
                | '\u{201C}'
                | '\u{201D}'
        )
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2013}' | '\u{2014}')
}

/// Lower-cased, with surrounding punctuation removed. Inner punctuation stays, so that
/// "Friday's" is not mistaken for "Friday" and ISO dates keep their dashes. Edge dashes stay
/// too, so that "-3" is not read as 3; a word that is only dashes is empty.
fn normalise_word(word: &str) -> String {
    let word = word.trim_matches(is_edge_punctuation);
    if word.chars().all(is_dash) {
        return String::new();
    }
    word.to_lowercase()
}

/// Words for a part of the day, which a whole-day due date leaves aside.
fn is_part_of_day(word: &str) -> bool {
    matches!(
        word,
        "morning" | "afternoon" | "evening" | "night" | "lunchtime" | "lunch" | "noon" | "midday"
    )
}

/// A clock time: "9am", "9:30", "9:30pm", "15:00" (a bare "9" or "15" is not one: it may be a
/// day of the month).
fn is_clock(word: &str) -> bool {
    let (time, meridiem) = match word.strip_suffix("am").or_else(|| word.strip_suffix("pm")) {
        Some(t) => (t, true),
        None => (word, false),
    };
    let (hour, minute) = match time.split_once(':') {
        Some((h, m)) => (h, Some(m)),
        None => (time, None),
    };
    let hour_ok = |max: u32| digits::<u32>(hour).is_some_and(|h| h <= max) && hour.len() <= 2;
    match minute {
        Some(m) => m.len() == 2 && digits::<u32>(m).is_some_and(|m| m < 60) && hour_ok(23),
        None => meridiem && hour_ok(12),
    }
}

/// The words without a time of day after the date ("tomorrow morning", "Saturday afternoon",
/// "Monday 9am", "Friday at 3:30 pm", "Thursday by noon"): a due date is a whole day.
fn without_time_of_day<'a>(words: &'a [&'a str]) -> &'a [&'a str] {
    let mut rest = words;
    let mut cut = false;
    loop {
        rest = match rest {
            [before @ .., n, "am" | "pm"]
                if digits::<u32>(n).is_some_and(|h| (1..=12).contains(&h))
                    || (n.contains(':') && is_clock(n)) =>
            {
                before
            }
            [before @ .., last] if is_part_of_day(last) || is_clock(last) => before,
            // "Tuesday at 10": an hour after "at" is a time, not a day of the month.
            [before @ .., "at", n] if digits::<u32>(n).is_some_and(|h| h <= 23) => before,
            [
                before @ ..,
                "the" | "in" | "at" | "by" | "around" | "about" | "early" | "late",
            ] if cut => before,
            _ => break,
        };
        cut = true;
    }
    if rest.is_empty() { words } else { rest }
}

/// The due day (days since 1970-01-01) named by normalised words, relative to `today`.
fn day_of(words: &[&str], today: i64, whole: bool) -> Option<i64> {
    let words = without_time_of_day(words);
    let (led, words) = match words {
        ["due", "by" | "on", rest @ ..] | ["due" | "by" | "on", rest @ ..] => (true, rest),
        // "at" only makes sense before "the end of ..." (or "the weekend").
        ["at", rest @ ..] if matches!(rest.first(), Some(&("the" | "end"))) => (true, rest),
        _ => (false, words),
    };
    // "Plan the weekend" and "Celebrate the 20th" are titles, not deadlines.
    let sure = whole || led;
    // "Sit in the sun (in the afternoon)": a lone "sun" or "sat" ending a title is the word.
    if let [only] = words
        && !sure
        && AMBIGUOUS_ABBREVIATIONS.contains(only)
    {
        return None;
    }
    match words {
        ["today" | "tonight" | "asap"] => Some(today),
        ["tomorrow"] => Some(today + 1),
        // Horizons people give for a goal: the end of the year named, a few weeks or months.
        ["this", "year"] => end_of(&["year"], today),
        ["next", "year"] => {
            let (y, _, _) = civil_from_days(today);
            Some(days_from_civil(y + 1, 12, 31))
        }
        ["in", "the", "next", "few", unit] | ["the", "next", "few", unit] | ["a", "few", unit]
            if sure && is_unit(unit) =>
        {
            after(&["3", unit], today)
        }
        // A weekend's deadline is its Sunday.
        ["this", "weekend"] | ["over", "the", "weekend"] => Some(coming(today, SUNDAY)),
        ["weekend"] | ["the", "weekend"] if sure => Some(coming(today, SUNDAY)),
        ["next", "weekend"] => Some(in_next_week(today, SUNDAY)),
        ["christmas" | "xmas"] | ["christmas" | "xmas", "day"] if sure => next_date(today, 12, 25),
        ["before", "christmas" | "xmas"] | ["christmas" | "xmas", "eve"] => {
            next_date(today, 12, 24)
        }
        // "Write the report for Q4" is a title; "by Q4" and "end of Q4" are deadlines.
        [q] if sure && quarter(q).is_some() => end_of_quarter(today, quarter(q)?),
        ["end", "of", q] | ["the", "end", "of", q] if quarter(q).is_some() => {
            end_of_quarter(today, quarter(q)?)
        }
        [mid] if mid.starts_with("mid-") => next_date(today, month_named(&mid[4..])?, 15),
        ["mid", month] | ["mid", "of", month] => next_date(today, month_named(month)?, 15),
        ["the", nth] | [nth] if sure && nth.len() > 2 && day_number(nth).is_some() => {
            day_of_month(today, day_number(nth)?)
        }
        ["this", "week"] => Some(coming(today, FRIDAY)),
        ["next", "week"] => Some(in_next_week(today, FRIDAY)),
        ["this", "month"] => Some(end_of_month(today, 0)),
        ["next", "month"] => Some(end_of_month(today, 0) + 1),
        ["next", day] => Some(in_next_week(today, weekday_named(day)?)),
        [day, "next", "week"] => Some(in_next_week(today, weekday_named(day)?)),
        [day] | ["this" | "coming", day] | ["this", "coming", day]
            if weekday_named(day).is_some() =>
        {
            Some(coming(today, weekday_named(day)?))
        }
        // "by June", "in June": the end of that month ("Ask if Sam may" keeps its "may").
        ["in", month] if month_named(month).is_some() => end_of(&[month], today),
        [month] if sure && month_named(month).is_some() => end_of(&[month], today),
        ["in" | "within", rest @ ..] => after(rest, today),
        [n, unit] if whole && count_named(n).is_some() && is_unit(unit) => after(&[n, unit], today),
        ["end", "of", rest @ ..] | ["the", "end", "of", rest @ ..] => end_of(rest, today),
        _ => calendar_date(words, today),
    }
}

/// The next day (today included) that falls on `weekday`.
fn coming(today: i64, weekday: u32) -> i64 {
    today + i64::from((weekday + 7 - weekday_of_day(today)) % 7)
}

/// `weekday` in the Monday-to-Sunday week after this one.
fn in_next_week(today: i64, weekday: u32) -> i64 {
    today + 7 - i64::from(weekday_of_day(today)) + i64::from(weekday)
}

/// The last day of the month `months_ahead` after today's.
fn end_of_month(today: i64, months_ahead: i64) -> i64 {
    let (y, m, _) = civil_from_days(today);
    let months = y * 12 + i64::from(m) - 1 + months_ahead;
    let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    days_from_civil(y, m, 1) + i64::from(days_in_month(y, m as u32)) - 1
}

/// The same day number `months` later, clamped to that month's length (Jan 31 + 1 month is
/// Feb 28), which is what people mean by "in a month" near a month's end.
fn add_months(today: i64, months: i64) -> i64 {
    let (y, m, d) = civil_from_days(today);
    let total = y * 12 + i64::from(m) - 1 + months;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let d = d.min(days_in_month(y, m as u32));
    days_from_civil(y, m, i64::from(d))
}

/// A unit of time that [`after`] counts in.
fn is_unit(word: &str) -> bool {
    matches!(
        word,
        "day"
            | "days"
            | "week"
            | "weeks"
            | "fortnight"
            | "fortnights"
            | "month"
            | "months"
            | "year"
            | "years"
    )
}

/// "3 days", "a fortnight", "two weeks' time", "a couple of months" after `in`/`within`.
fn after(words: &[&str], today: i64) -> Option<i64> {
    let (count, rest) = match words {
        ["a", "couple", "of", rest @ ..] => (2, rest),
        ["a" | "an", rest @ ..] => (1, rest),
        [n, rest @ ..] => (count_named(n)?, rest),
        [] => return None,
    };
    let unit = match rest {
        [unit] | [unit, "time"] => *unit,
        _ => return None,
    };
    match unit {
        "day" | "days" => Some(today + count),
        "week" | "weeks" => Some(today + 7 * count),
        "fortnight" | "fortnights" => Some(today + 14 * count),
        "month" | "months" => Some(add_months(today, count)),
        "year" | "years" => Some(add_months(today, 12 * count)),
        _ => None,
    }
}

/// "end of" + the week (the coming Friday), next week, the month, next month, the year, the day.
fn end_of(words: &[&str], today: i64) -> Option<i64> {
    match words {
        ["day" | "today"] | ["the", "day"] => Some(today),
        ["week"] | ["the" | "this", "week"] => Some(coming(today, FRIDAY)),
        ["next", "week"] => Some(in_next_week(today, FRIDAY)),
        ["month"] | ["the" | "this", "month"] => Some(end_of_month(today, 0)),
        ["next", "month"] => Some(end_of_month(today, 1)),
        [month] if month_named(month).is_some() => {
            Some(end_of_named_month(today, month_named(month)?))
        }
        ["year"] | ["the" | "this", "year"] => {
            let (y, _, _) = civil_from_days(today);
            Some(days_from_civil(y, 12, 31))
        }
        _ => None,
    }
}

/// ISO "2026-02-01", or a day and a month in either order with an optional year: "1 Feb",
/// "1st of February 2027", "February 1, 2027", "the 1st of March". A leading weekday, as in our
/// own labels ("Fri 16 Jan 2026"), is accepted only when it matches the date.
fn calendar_date(words: &[&str], today: i64) -> Option<i64> {
    if let [iso] = words {
        return iso_date(iso);
    }
    if let [day, rest @ ..] = words
        && let Some(named) = weekday_named(day)
    {
        let date = calendar_date(rest, today)?;
        return (weekday_of_day(date) == named).then_some(date);
    }
    let words = words.strip_prefix(&["the"]).unwrap_or(words);
    let (day, month, year) = match words {
        [d, "of", m, rest @ ..] | [d, m, rest @ ..] if day_number(d).is_some() => {
            (day_number(d)?, month_named(m)?, rest)
        }
        [m, d, rest @ ..] => (day_number(d)?, month_named(m)?, rest),
        _ => return None,
    };
    match year {
        [] => {
            let (this_year, _, _) = civil_from_days(today);
            // Feb 29 may be up to eight years away (1896 to 1904); anything else is this year
            // or next.
            (this_year..=this_year + 8)
                .filter(|&y| day <= days_in_month(y, month))
                .map(|y| days_from_civil(y, i64::from(month), i64::from(day)))
                .find(|&date| date >= today)
        }
        [y] => {
            let y = year_number(y)?;
            (day <= days_in_month(y, month))
                .then(|| days_from_civil(y, i64::from(month), i64::from(day)))
        }
        _ => None,
    }
}

/// The next `month`/`day` from today (today included): this year's, or next year's once it
/// has passed.
fn next_date(today: i64, month: u32, day: u32) -> Option<i64> {
    let (y, _, _) = civil_from_days(today);
    let this = days_from_civil(y, i64::from(month), i64::from(day));
    Some(if this >= today {
        this
    } else {
        days_from_civil(y + 1, i64::from(month), i64::from(day))
    })
}

/// "the 20th": that day of this month, or of the next month that has it once it has passed.
fn day_of_month(today: i64, day: u32) -> Option<i64> {
    let (y, m, _) = civil_from_days(today);
    (0..=12)
        .map(|ahead| {
            let months = y * 12 + i64::from(m) - 1 + ahead;
            (months.div_euclid(12), months.rem_euclid(12) as u32 + 1)
        })
        .filter(|&(y, m)| day <= days_in_month(y, m))
        .map(|(y, m)| days_from_civil(y, i64::from(m), i64::from(day)))
        .find(|&date| date >= today)
}

/// "q1".."q4".
fn quarter(word: &str) -> Option<u32> {
    match word {
        "q1" => Some(1),
        "q2" => Some(2),
        "q3" => Some(3),
        "q4" => Some(4),
        _ => None,
    }
}

/// The last day of quarter `q`: this year's, or next year's once it has passed.
fn end_of_quarter(today: i64, q: u32) -> Option<i64> {
    Some(end_of_named_month(today, q * 3))
}

/// The last day of `month` (1-12): this year's, or next year's once it has passed.
fn end_of_named_month(today: i64, month: u32) -> i64 {
    let (y, _, _) = civil_from_days(today);
    let last =
        |y: i64| days_from_civil(y, i64::from(month), 1) + i64::from(days_in_month(y, month)) - 1;
    if last(y) >= today {
        last(y)
    } else {
        last(y + 1)
    }
}

/// Strict ISO 8601 calendar date, YYYY-MM-DD.
fn iso_date(word: &str) -> Option<i64> {
    let mut parts = word.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let y = year_number(y)?;
    let m: u32 = digits(m)?;
    let d: u32 = digits(d)?;
    ((1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d))
        .then(|| days_from_civil(y, i64::from(m), i64::from(d)))
}

/// Parses ASCII digits only, so that signs and spaces never sneak through `str::parse`.
fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn year_number(word: &str) -> Option<i64> {
    (word.len() == 4).then(|| digits(word)).flatten()
}

/// "1", "01", "1st", "22nd", "3rd", "4th": 1..=31.
fn day_number(word: &str) -> Option<u32> {
    let number = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix))
        .unwrap_or(word);
    let n: u32 = if number.len() <= 2 {
        digits(number)?
    } else {
        return None;
    };
    (1..=31).contains(&n).then_some(n)
}

fn month_named(word: &str) -> Option<u32> {
    Some(match word {
        "jan" | "january" => 1,
        "feb" | "february" => 2,
        "mar" | "march" => 3,
        "apr" | "april" => 4,
        "may" => 5,
        "jun" | "june" => 6,
        "jul" | "july" => 7,
        "aug" | "august" => 8,
        "sep" | "sept" | "september" => 9,
        "oct" | "october" => 10,
        "nov" | "november" => 11,
        "dec" | "december" => 12,
        _ => return None,
    })
}

fn weekday_named(word: &str) -> Option<u32> {
    Some(match word {
        "monday" | "mon" => 0,
        "tuesday" | "tue" | "tues" => 1,
        "wednesday" | "wed" => 2,
        "thursday" | "thu" | "thur" | "thurs" => 3,
        "friday" | "fri" => 4,
        "saturday" | "sat" => 5,
        "sunday" | "sun" => 6,
        _ => return None,
    })
}

fn count_named(word: &str) -> Option<i64> {
    let n = match word {
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        _ if word.len() <= 3 => digits(word)?,
        _ => return None,
    };
    // "In 0 days" is not something people write on purpose.
    (1..=MAX_COUNT).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn weeks_are_calendar_weeks_on_the_persons_clock() {
        const HOUR: i64 = crate::clock::HOUR_MS;
        let paris = Zone::named("Europe/Paris").unwrap();
        // Monday 7 Dec 2026, 00:30 in Paris is still Sunday 23:30 in UTC.
        let now = from_ymd(2026, 12, 6) + 23 * HOUR + 30 * 60_000;
        let weeks = week_starts(now, paris, 3);
        assert_eq!(weeks.len(), 3);
        assert_eq!(
            weeks[2],
            from_ymd(2026, 12, 6) + 23 * HOUR,
            "Mon 7 Dec 00:00 CET"
        );
        assert_eq!(weeks[1], weeks[2] - 7 * DAY_MS);
        assert_eq!(day_month(weeks[2], paris), "7 Dec");
        assert_eq!(day_month(weeks[0], paris), "23 Nov");
        // In UTC it is still Sunday: that week began on Monday 30 Nov.
        assert_eq!(
            week_starts(now, Zone::default(), 1),
            vec![from_ymd(2026, 11, 30)]
        );
        // Across the end of summer time the week starts at local midnight, 25 hours earlier.
        let after = from_ymd(2026, 10, 27) + 12 * HOUR; // Tue 27 Oct, after the change on the 25th
        let w = week_starts(after, paris, 2);
        assert_eq!(
            w[1],
            from_ymd(2026, 10, 25) + 23 * HOUR,
            "Mon 26 Oct 00:00 CET"
        );
        assert_eq!(
            w[0],
            from_ymd(2026, 10, 18) + 22 * HOUR,
            "Mon 19 Oct 00:00 CEST"
        );
    }

    use super::*;

    /// 2026-01-15T10:00:00Z, a Thursday.
    const NOW: i64 = 1_768_471_200_000;

    fn end(y: i64, m: u32, d: u32) -> i64 {
        from_ymd(y, m, d) + DAY_MS - 1
    }

    fn due(phrase: &str) -> Option<i64> {
        parse_due(phrase, NOW, Zone::UTC).map(|d| d.at_ms)
    }

    #[track_caller]
    fn assert_due(phrase: &str, y: i64, m: u32, d: u32) {
        assert_eq!(
            due(phrase).map(|at| label(at, Zone::UTC)),
            Some(label(end(y, m, d), Zone::UTC)),
            "phrase {phrase:?}"
        );
        assert_eq!(due(phrase), Some(end(y, m, d)), "phrase {phrase:?}");
    }

    /// What people write for a deadline, and the day each means on Thursday 15 January 2026.
    const PHRASES: &[(&str, i64, u32, u32)] = &[
        ("today", 2026, 1, 15),
        ("tonight", 2026, 1, 15),
        ("asap", 2026, 1, 15),
        ("ASAP!", 2026, 1, 15),
        ("end of day", 2026, 1, 15),
        ("tomorrow", 2026, 1, 16),
        ("by tomorrow", 2026, 1, 16),
        ("tomorrow morning", 2026, 1, 16),
        ("tomorrow night", 2026, 1, 16),
        ("tomorrow at lunchtime", 2026, 1, 16),
        ("tomorrow by noon", 2026, 1, 16),
        ("Thursday by noon", 2026, 1, 15),
        ("by Friday", 2026, 1, 16),
        ("due by Fri", 2026, 1, 16),
        ("Friday at 3:30pm", 2026, 1, 16),
        ("Friday at 3:30 pm", 2026, 1, 16),
        ("Friday afternoon", 2026, 1, 16),
        ("Saturday afternoon", 2026, 1, 17),
        ("Saturday in the morning", 2026, 1, 17),
        ("Sunday evening", 2026, 1, 18),
        ("Monday 9am", 2026, 1, 19),
        ("Monday 9 am", 2026, 1, 19),
        ("on Monday", 2026, 1, 19),
        ("Wednesday at 15:00", 2026, 1, 21),
        ("next Tuesday at 10", 2026, 1, 20),
        ("next Tuesday morning", 2026, 1, 20),
        ("next Friday", 2026, 1, 23),
        ("Friday next week", 2026, 1, 23),
        ("this week", 2026, 1, 16),
        ("end of the week", 2026, 1, 16),
        ("next week", 2026, 1, 23),
        ("end of next week", 2026, 1, 23),
        ("this weekend", 2026, 1, 18),
        ("by the weekend", 2026, 1, 18),
        ("the weekend", 2026, 1, 18),
        ("over the weekend", 2026, 1, 18),
        ("at the weekend", 2026, 1, 18),
        ("next weekend", 2026, 1, 25),
        ("in 3 days", 2026, 1, 18),
        ("in three days", 2026, 1, 18),
        ("in 10 days", 2026, 1, 25),
        ("within a week", 2026, 1, 22),
        ("in 2 weeks", 2026, 1, 29),
        ("in a couple of weeks", 2026, 1, 29),
        ("in a fortnight", 2026, 1, 29),
        ("in a month", 2026, 2, 15),
        ("in a year", 2027, 1, 15),
        ("by the 20th", 2026, 1, 20),
        ("the 20th", 2026, 1, 20),
        ("on the 15th", 2026, 1, 15),
        ("the 14th", 2026, 2, 14),
        ("by the 31st", 2026, 1, 31),
        ("end of the month", 2026, 1, 31),
        ("next month", 2026, 2, 1),
        ("end of next month", 2026, 2, 28),
        ("end of January", 2026, 1, 31),
        ("end of June", 2026, 6, 30),
        ("by June", 2026, 6, 30),
        ("in June", 2026, 6, 30),
        ("June", 2026, 6, 30),
        ("by January", 2026, 1, 31),
        ("May", 2026, 5, 31),
        ("in May", 2026, 5, 31),
        ("by the end of December", 2026, 12, 31),
        ("mid-January", 2026, 1, 15),
        ("mid-February", 2026, 2, 15),
        ("mid March", 2026, 3, 15),
        ("before Christmas", 2026, 12, 24),
        ("Christmas", 2026, 12, 25),
        ("by Christmas Eve", 2026, 12, 24),
        ("Q1", 2026, 3, 31),
        ("end of Q1", 2026, 3, 31),
        ("by the end of Q2", 2026, 6, 30),
        ("q4", 2026, 12, 31),
        ("by Q4", 2026, 12, 31),
        ("this year", 2026, 12, 31),
        ("next year", 2027, 12, 31),
        ("6 months", 2026, 7, 15),
        ("six months", 2026, 7, 15),
        ("in the next few months", 2026, 4, 15),
        ("a few weeks", 2026, 2, 5),
        ("end of the year", 2026, 12, 31),
        ("15 March", 2026, 3, 15),
        ("March 15", 2026, 3, 15),
        ("the 1st of March", 2026, 3, 1),
        ("Feb 1st", 2026, 2, 1),
        ("February 1, 2027", 2027, 2, 1),
        ("1st of February 2027", 2027, 2, 1),
        ("2026-02-01", 2026, 2, 1),
        ("Fri 16 Jan 2026", 2026, 1, 16),
    ];

    #[test]
    fn phrases_people_write_for_a_deadline() {
        assert!(PHRASES.len() >= 60, "{} phrases", PHRASES.len());
        for &(phrase, y, m, d) in PHRASES {
            assert_due(phrase, y, m, d);
        }
        for not_a_date in [
            "someday",
            "soon",
            "later",
            "when I can",
            "in the morning",
            "at 9am",
            "20",
            "lunch",
        ] {
            assert_eq!(due(not_a_date), None, "{not_a_date:?}");
        }
    }

    #[test]
    fn a_time_of_day_or_a_weekend_ends_a_title_only_as_a_deadline() {
        let split = |s: &str| {
            split_due(s, NOW, Zone::UTC).map(|(title, d)| (title, label(d.at_ms, Zone::UTC)))
        };
        assert_eq!(
            split("Go for a run tomorrow morning"),
            Some(("Go for a run".into(), "Fri 16 Jan 2026".into()))
        );
        assert_eq!(
            split("Call Sam on Monday at 9am"),
            Some(("Call Sam".into(), "Mon 19 Jan 2026".into()))
        );
        assert_eq!(
            split("Clear the garage this weekend"),
            Some(("Clear the garage".into(), "Sun 18 Jan 2026".into()))
        );
        assert_eq!(
            split("Send the invoice by the 20th"),
            Some(("Send the invoice".into(), "Tue 20 Jan 2026".into()))
        );
        assert_eq!(
            split("Visit Rome in May"),
            Some(("Visit Rome".into(), "Sun 31 May 2026".into()))
        );
        assert_eq!(split("Ask if Sam may"), None);
        assert_eq!(split("Plan the weekend"), None);
        assert_eq!(split("Sit in the sun in the afternoon"), None);
        assert_eq!(split("Write the report for Q4"), None);
        assert_eq!(split("Buy presents for Christmas"), None);
        assert_eq!(
            split("Send the forecast by Q4"),
            Some(("Send the forecast".into(), "Thu 31 Dec 2026".into()))
        );
        assert_eq!(split("Celebrate the 20th"), None);
        assert_eq!(split("Book lunch"), None);
    }

    #[test]
    fn now_is_a_thursday_in_january_2026() {
        assert_eq!(ymd(NOW), (2026, 1, 15));
        assert_eq!(weekday(NOW), 3);
        assert_eq!(from_ymd(2026, 1, 15) + 10 * crate::clock::HOUR_MS, NOW);
    }

    #[test]
    fn civil_conversions_round_trip_across_eras_and_leap_days() {
        assert_eq!(from_ymd(1970, 1, 1), 0);
        assert_eq!(ymd(0), (1970, 1, 1));
        assert_eq!(ymd(-1), (1969, 12, 31));
        assert_eq!(weekday(0), 3);
        assert_eq!(ymd(from_ymd(2000, 2, 29)), (2000, 2, 29));
        assert_eq!(ymd(from_ymd(2100, 2, 29)), (2100, 3, 1));
        assert_eq!(ymd(from_ymd(1600, 3, 1)), (1600, 3, 1));
        for day in -800_000..800_000_i64 {
            let ms = day * DAY_MS;
            let (y, m, d) = ymd(ms);
            assert_eq!(from_ymd(y, m, d), ms);
            assert_eq!(ymd(ms + DAY_MS - 1), (y, m, d));
        }
    }

    #[test]
    fn from_ymd_rolls_over_like_date_utc() {
        assert_eq!(from_ymd(2026, 13, 1), from_ymd(2027, 1, 1));
        assert_eq!(from_ymd(2026, 3, 0), from_ymd(2026, 2, 28));
        assert_eq!(from_ymd(2026, 0, 1), from_ymd(2025, 12, 1));
        assert_eq!(from_ymd(2026, 1, 32), from_ymd(2026, 2, 1));
    }

    #[test]
    fn labels_are_short_and_day_first() {
        assert_eq!(label(NOW, Zone::UTC), "Thu 15 Jan 2026");
        assert_eq!(label(end(2026, 1, 16), Zone::UTC), "Fri 16 Jan 2026");
        assert_eq!(label(from_ymd(2024, 2, 29), Zone::UTC), "Thu 29 Feb 2024");
        assert_eq!(label(0, Zone::UTC), "Thu 1 Jan 1970");
    }

    #[test]
    fn today_tonight_tomorrow() {
        assert_due("today", 2026, 1, 15);
        assert_due("Tonight", 2026, 1, 15);
        assert_due("by tomorrow", 2026, 1, 16);
        assert_due("  TOMORROW!  ", 2026, 1, 16);
        assert_due("end of day", 2026, 1, 15);
        assert_eq!(due("by Friday"), Some(end(2026, 1, 16)));
        assert_eq!(due("by Friday"), Some(1_768_607_999_999));
    }

    #[test]
    fn weekdays_are_the_coming_occurrence_today_included() {
        assert_due("Friday", 2026, 1, 16);
        assert_due("by Friday.", 2026, 1, 16);
        assert_due("on friday", 2026, 1, 16);
        assert_due("this Friday", 2026, 1, 16);
        assert_due("due by Fri", 2026, 1, 16);
        assert_due("Thursday", 2026, 1, 15);
        assert_due("by thurs", 2026, 1, 15);
        assert_due("Wednesday", 2026, 1, 21);
        assert_due("on Monday", 2026, 1, 19);
        assert_due("Sunday", 2026, 1, 18);
        assert_due("this coming Tuesday", 2026, 1, 20);
    }

    #[test]
    fn next_weekday_is_in_next_monday_to_sunday_week() {
        assert_due("next Friday", 2026, 1, 23);
        assert_due("by next Friday", 2026, 1, 23);
        assert_due("next Thursday", 2026, 1, 22);
        assert_due("next Monday", 2026, 1, 19);
        assert_due("next Sunday", 2026, 1, 25);
        assert_due("Friday next week", 2026, 1, 23);
        // On a Sunday, next week starts tomorrow.
        let sunday = from_ymd(2026, 1, 18) + 1;
        assert_eq!(
            parse_due("next Monday", sunday, Zone::UTC).map(|d| d.at_ms),
            Some(end(2026, 1, 19))
        );
    }

    #[test]
    fn weeks_end_on_friday() {
        assert_due("next week", 2026, 1, 23);
        assert_due("end of next week", 2026, 1, 23);
        assert_due("by the end of next week", 2026, 1, 23);
        assert_due("this week", 2026, 1, 16);
        assert_due("end of the week", 2026, 1, 16);
        assert_due("by the end of the week", 2026, 1, 16);
        assert_due("at the end of this week", 2026, 1, 16);
        let friday = from_ymd(2026, 1, 16) + 1;
        assert_eq!(
            parse_due("end of the week", friday, Zone::UTC).map(|d| d.at_ms),
            Some(end(2026, 1, 16))
        );
        // At the weekend, the working week has gone: the coming Friday it is.
        let saturday = from_ymd(2026, 1, 17);
        assert_eq!(
            parse_due("this week", saturday, Zone::UTC).map(|d| d.at_ms),
            Some(end(2026, 1, 23))
        );
    }

    #[test]
    fn counted_days_weeks_and_months() {
        assert_due("in 3 days", 2026, 1, 18);
        assert_due("in three days", 2026, 1, 18);
        assert_due("in a day", 2026, 1, 16);
        assert_due("in 1 day", 2026, 1, 16);
        assert_due("within 10 days", 2026, 1, 25);
        assert_due("in 2 weeks", 2026, 1, 29);
        assert_due("in two weeks' time", 2026, 1, 29);
        assert_due("in a week", 2026, 1, 22);
        assert_due("in a fortnight", 2026, 1, 29);
        assert_due("in a couple of days", 2026, 1, 17);
        assert_due("in a month", 2026, 2, 15);
        assert_due("in 2 months", 2026, 3, 15);
        assert_due("in twelve months", 2027, 1, 15);
        assert_due("in a year", 2027, 1, 15);
        assert_eq!(due("in 0 days"), None);
        assert_eq!(due("in 1000 days"), None);
        assert_eq!(due("in -3 days"), None);
        assert_eq!(due("in 3"), None);
    }

    #[test]
    fn months_clamp_to_their_length() {
        let jan_31 = from_ymd(2026, 1, 31) + 10 * crate::clock::HOUR_MS;
        let at = |p: &str| parse_due(p, jan_31, Zone::UTC).map(|d| d.at_ms);
        assert_eq!(at("in a month"), Some(end(2026, 2, 28)));
        assert_eq!(at("in 2 months"), Some(end(2026, 3, 31)));
        assert_eq!(at("in 3 months"), Some(end(2026, 4, 30)));
        let leap = from_ymd(2028, 1, 31);
        assert_eq!(
            parse_due("in a month", leap, Zone::UTC).map(|d| d.at_ms),
            Some(end(2028, 2, 29))
        );
        let dec_31 = from_ymd(2026, 12, 31);
        assert_eq!(
            parse_due("in 2 months", dec_31, Zone::UTC).map(|d| d.at_ms),
            Some(end(2027, 2, 28))
        );
    }

    #[test]
    fn month_ends_and_next_month() {
        assert_due("end of the month", 2026, 1, 31);
        assert_due("by end of month", 2026, 1, 31);
        assert_due("this month", 2026, 1, 31);
        assert_due("end of next month", 2026, 2, 28);
        assert_due("next month", 2026, 2, 1);
        assert_due("by the end of the year", 2026, 12, 31);
        let dec = from_ymd(2026, 12, 10);
        assert_eq!(
            parse_due("next month", dec, Zone::UTC).map(|d| d.at_ms),
            Some(end(2027, 1, 1))
        );
    }

    #[test]
    fn calendar_dates() {
        assert_due("2026-02-01", 2026, 2, 1);
        assert_due("by 2026-02-01.", 2026, 2, 1);
        assert_due("1 Feb", 2026, 2, 1);
        assert_due("1st February", 2026, 2, 1);
        assert_due("February 1", 2026, 2, 1);
        assert_due("Feb 1st", 2026, 2, 1);
        assert_due("on the 1st of March", 2026, 3, 1);
        assert_due("February 1, 2027", 2027, 2, 1);
        assert_due("1 Feb 2027", 2027, 2, 1);
        assert_due("Sept 22nd", 2026, 9, 22);
        assert_due("15 Jan", 2026, 1, 15);
        // Our own labels read back.
        assert_due("Fri 16 Jan 2026", 2026, 1, 16);
        assert_eq!(due("Sat 16 Jan 2026"), None);
    }

    #[test]
    fn dates_already_past_roll_to_next_year() {
        assert_due("1 Jan", 2027, 1, 1);
        assert_due("by January 14th", 2027, 1, 14);
        assert_due("29 Feb", 2028, 2, 29);
        // An explicit year is taken as written, even in the past: that is an overdue item.
        assert_due("1 Jan 2026", 2026, 1, 1);
    }

    #[test]
    fn invalid_calendar_dates_are_not_dates() {
        assert_eq!(due("2026-02-30"), None);
        assert_eq!(due("2026-13-01"), None);
        assert_eq!(due("2026-2-1"), None);
        assert_eq!(due("30 Feb 2026"), None);
        assert_eq!(due("32 Jan"), None);
        assert_eq!(due("0 Jan"), None);
        assert_eq!(due("+1 Jan"), None);
    }

    #[test]
    fn slashes_are_never_parsed() {
        assert_eq!(due("01/02/2026"), None);
        assert_eq!(due("by 1/2"), None);
    }

    #[test]
    fn non_dates_are_none() {
        for phrase in [
            "",
            "   ",
            "banana",
            "in the office",
            "Friday's meeting notes",
            "by",
            "next",
            "next time",
            "soon",
            "someday",
            "in a while",
            "week",
            "end of the road",
        ] {
            assert_eq!(parse_due(phrase, NOW, Zone::UTC), None, "phrase {phrase:?}");
        }
    }

    #[test]
    fn phrase_keeps_the_words_as_written() {
        let d = parse_due("  by   next Friday!  ", NOW, Zone::UTC).unwrap();
        assert_eq!(d.phrase, "by next Friday");
        assert_eq!(
            parse_due("Tomorrow.", NOW, Zone::UTC).unwrap().phrase,
            "Tomorrow"
        );
    }

    fn split(sentence: &str) -> Option<(String, String, String)> {
        split_due(sentence, NOW, Zone::UTC)
            .map(|(title, due)| (title, due.phrase, label(due.at_ms, Zone::UTC)))
    }

    #[test]
    fn split_due_takes_the_longest_date_phrase_at_the_end() {
        let cases = [
            (
                "Email Priya the draft by next Tuesday.",
                "Email Priya the draft",
                "by next Tuesday",
                "Tue 20 Jan 2026",
            ),
            (
                "Call Sam by Friday",
                "Call Sam",
                "by Friday",
                "Fri 16 Jan 2026",
            ),
            (
                "Book the venue in 3 days",
                "Book the venue",
                "in 3 days",
                "Sun 18 Jan 2026",
            ),
            (
                "Send the invoice tomorrow",
                "Send the invoice",
                "tomorrow",
                "Fri 16 Jan 2026",
            ),
            (
                "Ask for feedback by 1 March",
                "Ask for feedback",
                "by 1 March",
                "Sun 1 Mar 2026",
            ),
            (
                "Update the CV by the end of the week!",
                "Update the CV",
                "by the end of the week",
                "Fri 16 Jan 2026",
            ),
            (
                "Draft the plan, next week",
                "Draft the plan",
                "next week",
                "Fri 23 Jan 2026",
            ),
            (
                "Ship v2 - 2026-03-01",
                "Ship v2",
                "2026-03-01",
                "Sun 1 Mar 2026",
            ),
            (
                "Talk to my manager on Monday",
                "Talk to my manager",
                "on Monday",
                "Mon 19 Jan 2026",
            ),
            (
                "Review goals in a month",
                "Review goals",
                "in a month",
                "Sun 15 Feb 2026",
            ),
            (
                "Plan the day by Friday",
                "Plan the day",
                "by Friday",
                "Fri 16 Jan 2026",
            ),
        ];
        for (sentence, title, phrase, at) in cases {
            assert_eq!(
                split(sentence),
                Some((title.into(), phrase.into(), at.into())),
                "sentence {sentence:?}"
            );
        }
    }

    #[test]
    fn split_due_finds_a_date_in_the_middle_after_a_lead_word() {
        for (sentence, title, phrase, day) in [
            (
                "Call Mum on Sunday about the trip",
                "Call Mum about the trip",
                "on Sunday",
                "Sun 18 Jan 2026",
            ),
            (
                "Tell the team by Friday that I'm leaving",
                "Tell the team that I'm leaving",
                "by Friday",
                "Fri 16 Jan 2026",
            ),
            (
                "Book the venue next week for the party",
                "Book the venue for the party",
                "next week",
                "Fri 23 Jan 2026",
            ),
            (
                "Ask Sam tomorrow morning about the budget",
                "Ask Sam about the budget",
                "tomorrow morning",
                "Fri 16 Jan 2026",
            ),
            (
                "Send the invoices in 3 days to accounting",
                "Send the invoices to accounting",
                "in 3 days",
                "Sun 18 Jan 2026",
            ),
            (
                "Finish the draft, by the end of the month, and send it to Ana",
                "Finish the draft and send it to Ana",
                "by the end of the month",
                "Sat 31 Jan 2026",
            ),
            (
                "Call Priya Monday about the offer",
                "Call Priya about the offer",
                "Monday",
                "Mon 19 Jan 2026",
            ),
        ] {
            assert_eq!(
                split(sentence),
                Some((title.into(), phrase.into(), day.into())),
                "sentence {sentence:?}"
            );
        }
    }

    #[test]
    fn words_in_the_middle_that_only_look_like_dates_stay_in_the_title() {
        for sentence in [
            "Go on holiday with the kids",
            "Run 5 km in the park",
            "Read this book with Sam",
            "Prepare for our Tuesday 1:1 with Tom",
            "Review the Thursday agenda with Tom",
            "Meet Sam on the 3rd floor about the lease",
            "Walk in the morning before work",
            "Ask for help. Tomorrow is another day and I rest",
            "Stay in touch with the team",
            "Plan this weekend's hike with Jo",
            "Swim on Monday and Thursday with Jo",
        ] {
            assert_eq!(split(sentence), None, "sentence {sentence:?}");
        }
    }

    #[test]
    fn zones_are_found_by_name_and_offer_the_usual_choices() {
        assert_eq!(
            Zone::named("Europe/Berlin").map(Zone::name),
            Some("Europe/Berlin")
        );
        assert_eq!(
            Zone::named(" europe/berlin ").map(Zone::name),
            Some("Europe/Berlin")
        );
        assert_eq!(Zone::named("UTC"), Some(Zone::UTC));
        for bad in [
            "",
            "Mars/Olympus_Mons",
            "Berlin",
            "+02:00",
            &"x".repeat(100),
        ] {
            assert_eq!(Zone::named(bad), None, "{bad:?}");
        }
        let choices = Zone::choices();
        assert!(choices.contains(&"Europe/Berlin") && choices.contains(&"UTC"));
        assert!(choices.contains(&"America/Argentina/Buenos_Aires"));
        assert!(!choices.contains(&"US/Pacific") && !choices.contains(&"Etc/GMT+5"));
        assert!(choices.windows(2).all(|w| w[0] < w[1]));
        assert!(choices.iter().all(|c| Zone::named(c).is_some()));
    }

    #[test]
    fn dates_are_days_on_the_persons_calendar_and_end_with_their_day() {
        let zone = |n: &str| Zone::named(n).unwrap();
        let at = |y, m, d, h: i64| from_ymd(y, m, d) + h * 3_600_000;
        // 20:00 UTC on Thursday is 09:00 on Friday in Auckland (UTC+13 in January).
        let auckland = zone("Pacific/Auckland");
        let now = at(2026, 1, 15, 20);
        let d = parse_due("tomorrow", now, auckland).unwrap();
        assert_eq!(label(d.at_ms, auckland), "Sat 17 Jan 2026");
        assert_eq!(
            d.at_ms,
            at(2026, 1, 17, 11) - 1,
            "the end of Saturday in Auckland"
        );
        assert_eq!(
            parse_due("tomorrow", now, Zone::UTC).map(|d| d.at_ms),
            Some(at(2026, 1, 16, 24) - 1)
        );
        // 03:00 UTC on Friday is still Thursday evening in Los Angeles (UTC-8).
        let la = zone("America/Los_Angeles");
        let now = at(2026, 1, 16, 3);
        let d = parse_due("today", now, la).unwrap();
        assert_eq!(label(d.at_ms, la), "Thu 15 Jan 2026");
        assert_eq!(label(d.at_ms, Zone::UTC), "Fri 16 Jan 2026");
        assert_eq!(d.at_ms, at(2026, 1, 16, 8) - 1);
        assert_eq!(ymd_string(d.at_ms, la), "2026-01-15");
        assert!(d.at_ms > now, "not overdue on the evening it is due");
        // Summer time: Berlin's clocks go forward on 29 March 2026, so that day ends at 22:00 UTC.
        let berlin = zone("Europe/Berlin");
        let d = parse_due("29 March", NOW, berlin).unwrap();
        assert_eq!(d.at_ms, at(2026, 3, 29, 22) - 1);
        let d = parse_due("28 March", NOW, berlin).unwrap();
        assert_eq!(d.at_ms, at(2026, 3, 28, 23) - 1);
        // A sentence splits the same way in every zone; only the day moves.
        let (title, d) = split_due("Call Sam tomorrow about the lease", now, la).unwrap();
        assert_eq!(title, "Call Sam about the lease");
        assert_eq!(label(d.at_ms, la), "Fri 16 Jan 2026");
    }

    #[test]
    fn moments_read_on_the_persons_clock_with_its_name() {
        assert_eq!(moment(NOW, Zone::UTC), "Thu 15 Jan 2026, 10:00 UTC");
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(moment(NOW, berlin), "Thu 15 Jan 2026, 11:00 CET");
        let la = Zone::named("America/Los_Angeles").unwrap();
        assert_eq!(moment(NOW, la), "Thu 15 Jan 2026, 02:00 PST");
        assert_eq!(zone_of(Some("Europe/Berlin")), berlin);
        assert_eq!(zone_of(Some("Nowhere/Else")), Zone::UTC);
        assert_eq!(zone_of(None), Zone::UTC);
    }

    #[test]
    fn wall_clock_times_that_clocks_skip_or_repeat_have_one_instant() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        let local = |y, m, d, h: i64, min: i64| from_ymd(y, m, d) + h * 3_600_000 + min * 60_000;
        // 02:30 on 29 March 2026 never happens in Berlin: it is read as 03:30 summer time.
        assert_eq!(
            berlin.utc_ms(local(2026, 3, 29, 2, 30)),
            local(2026, 3, 29, 1, 30)
        );
        // 02:30 on 25 October 2026 happens twice: the later one (winter time, UTC+1).
        assert_eq!(
            berlin.utc_ms(local(2026, 10, 25, 2, 30)),
            local(2026, 10, 25, 1, 30)
        );
        assert_eq!(berlin.offset_ms(local(2026, 7, 1, 12, 0)), 2 * 3_600_000);
        assert_eq!(Zone::UTC.utc_ms(12_345), 12_345);
        // Far east of UTC too: Sydney's clocks go forward at 02:00 on 4 October 2026.
        let sydney = Zone::named("Australia/Sydney").unwrap();
        assert_eq!(
            sydney.utc_ms(local(2026, 10, 4, 2, 30)),
            local(2026, 10, 4, 3, 30) - 11 * 3_600_000,
            "02:30 is read as 03:30 summer time"
        );
    }

    #[test]
    fn split_due_is_none_without_a_trailing_date_or_a_title() {
        for sentence in [
            "Friday's meeting notes",
            "Prepare for Friday's review",
            "Book a table in the office",
            "Sit in the sun",
            "Leave it where it sat",
            "Prepare for May",
            "tomorrow",
            "by next Friday",
            "- Friday",
            "",
        ] {
            assert_eq!(split(sentence), None, "sentence {sentence:?}");
        }
        // Unambiguous abbreviations are fine on their own, ambiguous ones after "by"/"on".
        assert_eq!(
            split("Call Sam fri").map(|s| s.2),
            Some("Fri 16 Jan 2026".into())
        );
        assert_eq!(
            split("Call Sam on sat").map(|s| s.2),
            Some("Sat 17 Jan 2026".into())
        );
    }

    #[test]
    fn extreme_clocks_do_not_panic() {
        for now in [i64::MIN, i64::MIN / 2, -1, 0, i64::MAX / 2, i64::MAX] {
            for phrase in [
                "tomorrow",
                "in 999 years",
                "next month",
                "1 Jan",
                "end of the year",
            ] {
                let _ = parse_due(phrase, now, Zone::UTC);
                let _ = split_due(&format!("Do it {phrase}"), now, Zone::UTC);
            }
        }
    }
}
