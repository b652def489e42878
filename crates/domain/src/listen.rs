//! Reading what a person wrote the way a coach listens: the heart of an answer (the clause
//! with the feeling or the want, not merely the first sentence), the feelings they named
//! (never ones they didn't), and their words turned around to be said back ("I want" → "you
//! want"). Deterministic and offline; used by the built-in coach.

/// Whether a feeling is a heavy one to carry or a good one to notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Heavy,
    Light,
}

/// Feeling words people use about themselves, as adjectives a coach can say back.
const FEELINGS: &[(&str, Tone)] = &[
    ("afraid", Tone::Heavy),
    ("angry", Tone::Heavy),
    ("annoyed", Tone::Heavy),
    ("anxious", Tone::Heavy),
    ("ashamed", Tone::Heavy),
    ("bored", Tone::Heavy),
    ("burned out", Tone::Heavy),
    ("burnt out", Tone::Heavy),
    ("confused", Tone::Heavy),
    ("disappointed", Tone::Heavy),
    ("discouraged", Tone::Heavy),
    ("drained", Tone::Heavy),
    ("embarrassed", Tone::Heavy),
    ("exhausted", Tone::Heavy),
    ("frustrated", Tone::Heavy),
    ("guilty", Tone::Heavy),
    ("helpless", Tone::Heavy),
    ("hurt", Tone::Heavy),
    ("insecure", Tone::Heavy),
    ("irritated", Tone::Heavy),
    ("jealous", Tone::Heavy),
    ("lonely", Tone::Heavy),
    ("lost", Tone::Heavy),
    ("nervous", Tone::Heavy),
    ("overwhelmed", Tone::Heavy),
    ("resentful", Tone::Heavy),
    ("sad", Tone::Heavy),
    ("scared", Tone::Heavy),
    ("stressed", Tone::Heavy),
    ("stuck", Tone::Heavy),
    ("tense", Tone::Heavy),
    ("tired", Tone::Heavy),
    ("torn", Tone::Heavy),
    ("uncertain", Tone::Heavy),
    ("uneasy", Tone::Heavy),
    ("unsure", Tone::Heavy),
    ("upset", Tone::Heavy),
    ("worried", Tone::Heavy),
    ("calm", Tone::Light),
    ("confident", Tone::Light),
    ("curious", Tone::Light),
    ("determined", Tone::Light),
    ("eager", Tone::Light),
    ("energised", Tone::Light),
    ("energized", Tone::Light),
    ("excited", Tone::Light),
    ("free", Tone::Light),
    ("glad", Tone::Light),
    ("grateful", Tone::Light),
    ("happy", Tone::Light),
    ("hopeful", Tone::Light),
    ("inspired", Tone::Light),
    ("light", Tone::Light),
    ("lighter", Tone::Light),
    ("motivated", Tone::Light),
    ("optimistic", Tone::Light),
    ("proud", Tone::Light),
    ("relieved", Tone::Light),
];

/// Words that turn a feeling around ("not anxious", "no longer stuck").
const NEGATIONS: &[&str] = &["not", "never", "no", "longer", "isn't", "wasn't", "less"];

/// Words that mark the clause that carries the want or the point.
const WANTS: &[&str] = &[
    "want",
    "wants",
    "wish",
    "hope",
    "need",
    "needs",
    "love",
    "like",
    "goal",
    "dream",
    "matters",
    "important",
    "really",
    "most",
    "afraid",
    "worry",
    "but",
    "cried",
    "cry",
    "crying",
    "hate",
    "hated",
    "furious",
    "nobody",
    "alone",
    "never",
    "always",
    "can't",
    "cannot",
    "scared",
    "worried",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('’', "'").to_lowercase())
        .collect()
}

/// The feelings the person named about themselves, in the order they wrote them, once each.
/// A negated one ("not anxious any more") is left out.
pub fn feelings(text: &str) -> Vec<(&'static str, Tone)> {
    let ws = words(text);
    let mut out: Vec<(&'static str, Tone)> = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let two = ws.get(i + 1).map(|n| format!("{} {n}", ws[i]));
        let hit = FEELINGS.iter().find(|(f, _)| {
            if f.contains(' ') {
                two.as_deref() == Some(*f)
            } else {
                ws[i] == *f
            }
        });
        if let Some(&(word, tone)) = hit {
            let before = &ws[i.saturating_sub(2)..i];
            let negated = before.iter().any(|w| NEGATIONS.contains(&w.as_str()));
            // "lost my job", "free time", "light bulb", "ready to ship": a feeling only when
            // it describes the person (after I/I'm/feel/so/very/and or on its own).
            let ambiguous = matches!(word, "lost" | "free" | "light" | "hurt" | "torn");
            let describes = i == 0
                || before.last().is_some_and(|w| {
                    matches!(
                        w.as_str(),
                        "feel"
                            | "feeling"
                            | "felt"
                            | "i'm"
                            | "im"
                            | "am"
                            | "so"
                            | "very"
                            | "really"
                            | "quite"
                            | "bit"
                            | "and"
                            | "but"
                            | "was"
                            | "been"
                    )
                });
            if !negated && (!ambiguous || describes) && !out.iter().any(|(w, _)| *w == word) {
                out.push((word, tone));
            }
            i += word.split(' ').count();
        } else {
            i += 1;
        }
    }
    out
}

/// How many words `text` has.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The sentences and clauses of an answer, without their closing punctuation.
fn clauses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sentence in text.split_inclusive(['.', '!', '?', '\n', ';']) {
        let s = sentence
            .trim()
            .trim_end_matches(['.', '!', '?', '\n', ';'])
            .trim();
        if s.is_empty() {
            continue;
        }
        // A long sentence splits at its commas and dashes into clauses.
        if word_count(s) > 20 {
            out.extend(
                s.split([',', '—', '–'])
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
        } else {
            out.push(s.to_owned());
        }
    }
    out
}

fn capped(text: &str, max_words: usize) -> String {
    let ws: Vec<&str> = text.split_whitespace().collect();
    if ws.len() <= max_words {
        return ws.join(" ");
    }
    // A whole phrase reads better than a cut one: end at the last clause that fits, when that
    // keeps most of what fits.
    if let Some(end) = (max_words * 2 / 3..max_words)
        .rev()
        .find(|&i| ws[i].ends_with([',', ';', ':']))
    {
        return ws[..=end]
            .join(" ")
            .trim_end_matches([',', ';', ':'])
            .to_owned();
    }
    format!(
        "{}…",
        ws[..max_words].join(" ").trim_end_matches([',', ';', ':'])
    )
}

/// The heart of an answer: a short answer whole (its fragments joined: "Light, proud, like a
/// real researcher"); a longer one by its clause with the feeling or the want in it, else its
/// first sentence; never more than 20 words.
pub fn heart(text: &str) -> String {
    heart_within(text, 20)
}

/// [`heart`] with room for up to `max_words`: a report can say more of an answer than a reply.
pub fn heart_within(text: &str, max_words: usize) -> String {
    let parts = clauses(text);
    if parts.is_empty() {
        return String::new();
    }
    // A short answer made of fragments ("Light. Proud.") is said back whole; a short one
    // with a sentence about the speaker is read like a long one.
    if word_count(text) <= 14 && !parts.iter().any(|p| is_first_person(p)) {
        let mut joined = String::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                joined.push_str(", ");
                joined.push_str(&lower_first(p));
            } else {
                joined.push_str(p);
            }
        }
        return capped(&joined, max_words);
    }
    let score = |c: &str| {
        let ws = words(c);
        let feeling = if feelings(c).is_empty() { 0 } else { 3 };
        let want = ws
            .iter()
            .filter(|w| WANTS.contains(&w.as_str()))
            .count()
            .min(2);
        let personal = usize::from(ws.iter().any(|w| w == "i" || w == "i'm" || w == "my"));
        let substance = usize::from(word_count(c) >= 4);
        feeling + want + personal + substance
    };
    let best = parts
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (score(c), std::cmp::Reverse(*i)))
        .map(|(_, c)| c.as_str())
        .unwrap_or_default();
    // A long sentence often says its point in one part: "If I wait, someone else gets the
    // seat, and I'm scared I'll regret it" → "I'm scared I'll regret it".
    if word_count(best) > 12 && best.contains(',') {
        let part = best
            .split(',')
            .map(|p| strip_joiner(p.trim()))
            .filter(|p| word_count(p) >= 4)
            .enumerate()
            .max_by_key(|(i, p)| (score(p), std::cmp::Reverse(*i)));
        if let Some((_, p)) = part
            && score(p) > score(best.split(',').next().unwrap_or_default())
        {
            return capped(p, max_words);
        }
    }
    capped(best, max_words)
}

/// A clause without the "and"/"but"/"so" that joined it to the one before.
fn strip_joiner(p: &str) -> &str {
    for j in ["and ", "but ", "so ", "because ", "which "] {
        if p.len() > j.len() && p.is_char_boundary(j.len()) && p[..j.len()].eq_ignore_ascii_case(j)
        {
            return p[j.len()..].trim_start();
        }
    }
    p
}

/// `s` with its first letter capitalised ("you want…" → "You want…").
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `s` with a capital that only starts a fragment lowered ("Proud" → "proud"); "I", "I'm" and
/// all-capital words ("UX") keep theirs.
pub fn lower_first(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        // "I" and names keep their capital; a capital that starts a fragment doesn't.
        Some(c) if c.is_uppercase() && !s.starts_with("I ") && !s.starts_with("I'") => {
            let second_upper = cs.clone().next().is_some_and(char::is_uppercase);
            if second_upper {
                s.to_owned()
            } else {
                c.to_lowercase().chain(cs).collect()
            }
        }
        _ => s.to_owned(),
    }
}

/// The person's words turned around to be said back to them: "I want my team to trust me" →
/// "you want your team to trust you". Words that are not about the speaker stay as written.
pub fn second_person(text: &str) -> String {
    let tokens: Vec<&str> = text.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    for (i, tok) in tokens.iter().enumerate() {
        let core = tok.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’');
        let (lead, trail) = match tok.find(core) {
            Some(at) if !core.is_empty() => (&tok[..at], &tok[at + core.len()..]),
            _ => ("", ""),
        };
        let lower = core.replace('’', "'").to_lowercase();
        let prev = i
            .checked_sub(1)
            .map(|j| tokens[j].to_lowercase())
            .unwrap_or_default();
        let swapped = match lower.as_str() {
            "i" => Some("you"),
            "i'm" | "im" => Some("you're"),
            "i've" => Some("you've"),
            "i'd" => Some("you'd"),
            "i'll" => Some("you'll"),
            "me" => Some("you"),
            "my" => Some("your"),
            "mine" => Some("yours"),
            "myself" => Some("yourself"),
            "am" if prev == "i" => Some("are"),
            "was" if prev == "i" => Some("were"),
            "we" => Some("you"),
            "we're" => Some("you're"),
            "we've" => Some("you've"),
            "our" => Some("your"),
            "us" => Some("you"),
            _ => None,
        };
        match swapped {
            // Lower case: the sentence it goes into decides on a capital.
            Some(w) => out.push(format!("{lead}{w}{trail}")),
            None => out.push((*tok).to_owned()),
        }
    }
    out.join(" ")
}

/// Filler that opens a sentence without carrying its meaning.
const FILLER: &[&str] = &[
    "honestly,",
    "honestly",
    "well,",
    "well",
    "so,",
    "so",
    "basically,",
    "basically",
    "to be honest,",
    "tbh",
    "i guess",
    "i think",
    "um,",
    "um",
    "hmm,",
    "ok,",
    "okay,",
    "not quite.",
    "not quite,",
    "not really.",
    "it's more that",
    "it's that",
    "more that",
    "i mean,",
    "i mean",
];

/// `text` without the filler that opens it ("Honestly, I think I'm stuck" → "I'm stuck").
pub fn without_filler(text: &str) -> &str {
    let mut t = text.trim();
    loop {
        let lower = t.to_lowercase();
        let Some(f) = FILLER
            .iter()
            .find(|f| lower.starts_with(*f) && lower[f.len()..].starts_with(' '))
        else {
            return t;
        };
        t = t[f.len()..].trim_start();
    }
}

/// Whether the text is a sentence with the speaker as its subject ("I want …", "we agreed …").
pub fn speaks_as_i(text: &str) -> bool {
    words(without_filler(text)).first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "i" | "i'm" | "im" | "i've" | "i'd" | "i'll" | "we" | "we're" | "we've"
        )
    })
}

/// Whether the text speaks about the speaker (so it can be said back as "you …").
pub fn is_first_person(text: &str) -> bool {
    words(without_filler(text)).first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "i" | "i'm" | "im" | "i've" | "i'd" | "i'll" | "my" | "we" | "we're" | "our"
        )
    })
}

/// Whether a goal or outcome names something a person could see or count. It is vague when
/// it speaks only of a state ("feel better", "be happier", "less stressed") with no number,
/// date, frequency or observable change in it.
pub fn is_measurable(text: &str) -> bool {
    if text.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let ws = words(text);
    const VAGUE: &[&str] = &[
        "better",
        "happier",
        "happy",
        "less",
        "more",
        "good",
        "fine",
        "ok",
        "okay",
        "feel",
        "feeling",
        "confident",
        "clearer",
        "clear",
        "calm",
        "calmer",
        "sorted",
        "improve",
        "improved",
        "fitter",
        "healthier",
        "balanced",
        "balance",
        "stressed",
        "tense",
        "easier",
        "positive",
        "successful",
        "progress",
    ];
    if !ws.iter().any(|w| VAGUE.contains(&w.as_str())) {
        return true;
    }
    const CUES: &[&str] = &[
        "every",
        "each",
        "daily",
        "weekly",
        "monthly",
        "per",
        "times",
        "once",
        "twice",
        "by",
        "until",
        "before",
        "within",
        "percent",
        "hours",
        "minutes",
        "days",
        "weeks",
        "months",
        "km",
        "miles",
        "kg",
        "least",
        "half",
        "double",
        "two",
        "three",
        "four",
        "five",
        "ten",
        "finish",
        "finished",
        "submit",
        "submitted",
        "launch",
        "launched",
        "sign",
        "signed",
        "hired",
        "promoted",
        "published",
        "run",
        "paid",
        "saved",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "tomorrow",
        "week",
        "month",
        "year",
        "summer",
        "spring",
        "autumn",
        "winter",
    ];
    ws.iter().any(|w| CUES.contains(&w.as_str()))
}

/// Whether an answer to "anything else?" says there is nothing more.
pub fn is_done(text: &str) -> bool {
    let t = words(text).join(" ");
    const DONE: &[&str] = &[
        "no",
        "nope",
        "nah",
        "none",
        "nothing",
        "nothing else",
        "no more",
        "that's all",
        "thats all",
        "that's it",
        "thats it",
        "that is all",
        "that's everything",
        "i'm done",
        "done",
        "no that's all",
        "no that's it",
        "not really",
        "i think that's it",
        "i think that's all",
        "can't think of anything else",
        "i can't think of anything else",
        "nothing comes to mind",
    ];
    DONE.contains(&t.as_str())
        || t.starts_with("no that's")
        || t.starts_with("that's all")
        || t.starts_with("nothing else")
}

/// Whether an answer says there is nothing to say ("nothing really", "not sure", "no idea").
pub fn is_nothing(text: &str) -> bool {
    let t = words(text).join(" ");
    is_done(text)
        || [
            "nothing really",
            "not sure",
            "i'm not sure",
            "im not sure",
            "no idea",
            "i don't know",
            "dont know",
            "don't know",
            "dunno",
            "idk",
            "no clue",
        ]
        .contains(&t.as_str())
}

/// Whether a reply agrees ("yes", "exactly", "that's right").
pub fn is_yes(text: &str) -> bool {
    let ws = words(text);
    ws.first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "yes"
                | "yeah"
                | "yep"
                | "yup"
                | "exactly"
                | "right"
                | "correct"
                | "absolutely"
                | "definitely"
                | "sure"
        )
    }) || ws.join(" ").starts_with("that's right")
        || ws.join(" ").starts_with("pretty much")
        || ws.join(" ").starts_with("that's it")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_capped_answer_ends_at_a_whole_phrase_when_it_can() {
        let text = "alpha beta gamma delta epsilon zeta eta theta, iota kappa lambda mu";
        assert_eq!(
            super::capped(text, 10),
            "alpha beta gamma delta epsilon zeta eta theta"
        );
        // No clause ends near enough: cut, and said to be cut.
        let text = "alpha beta, gamma delta epsilon zeta eta theta iota kappa lambda mu";
        assert_eq!(
            super::capped(text, 10),
            "alpha beta, gamma delta epsilon zeta eta theta iota kappa…"
        );
        assert_eq!(super::capped("short and whole", 10), "short and whole");
    }

    use super::*;

    #[test]
    fn feelings_are_the_ones_named_not_negated_not_invented() {
        let names = |t: &str| feelings(t).into_iter().map(|(w, _)| w).collect::<Vec<_>>();
        assert_eq!(
            names("Honestly I feel guilty and scared, and a bit guilty again"),
            ["guilty", "scared"]
        );
        assert_eq!(
            names("Light. Proud. Like a real researcher and not a fraud."),
            ["light", "proud"]
        );
        assert_eq!(names("I'm not anxious any more, just tired"), ["tired"]);
        assert_eq!(
            names("I lost my job and the light bulb went"),
            Vec::<&str>::new()
        );
        assert_eq!(names("I feel lost"), ["lost"]);
        assert_eq!(names("Completely burned out"), ["burned out"]);
        assert_eq!(names("We ship the release on Friday"), Vec::<&str>::new());
        assert_eq!(feelings("proud")[0].1, Tone::Light);
        assert_eq!(feelings("so frustrated")[0].1, Tone::Heavy);
    }

    #[test]
    fn the_heart_is_the_clause_with_the_feeling_or_the_want() {
        assert_eq!(
            heart("Light. Proud. Like a real researcher and not a fraud."),
            "Light, proud, like a real researcher and not a fraud"
        );
        assert_eq!(
            heart(
                "We had a reorg in March and the team moved buildings. Nobody told us much. \
                 I want to lead the platform team by the summer."
            ),
            "I want to lead the platform team by the summer"
        );
        assert_eq!(
            heart(
                "The project slipped twice this year, the budget got cut, and the launch moved. \
                 Honestly I feel guilty about the delays. My manager has been kind about it."
            ),
            "Honestly I feel guilty about the delays"
        );
        assert_eq!(
            heart(
                "My company just opened a research team. If I wait another cycle someone \
                 else gets the seat, and honestly I'm scared I'll regret it."
            ),
            "honestly I'm scared I'll regret it"
        );
        // Never more than 20 words.
        let long = "I want ".to_owned() + &"very ".repeat(40) + "much";
        assert!(heart(&long).ends_with('…'));
        assert!(word_count(&heart(&long)) <= 20);
        assert_eq!(heart("   "), "");
    }

    #[test]
    fn words_are_turned_around_to_be_said_back() {
        assert_eq!(
            second_person("I want my team to trust me"),
            "you want your team to trust you"
        );
        assert_eq!(
            second_person("I'm stuck, and I was tired"),
            "you're stuck, and you were tired"
        );
        assert_eq!(
            second_person("My manager (and I) agree."),
            "your manager (and you) agree."
        );
        assert_eq!(second_person("Our plan is mine"), "your plan is yours");
        assert!(is_first_person("I want to run"));
        assert!(is_first_person("My manager saying yes"));
        assert!(!speaks_as_i("My manager saying yes"));
        assert!(speaks_as_i("Honestly, I'm stuck"));
        assert!(!is_first_person("Running a marathon"));
    }

    #[test]
    fn measurable_done_and_yes() {
        assert!(is_measurable("Run 5 km without stopping"));
        assert!(is_measurable("Lead the team by the summer"));
        assert!(is_measurable("Write every morning"));
        assert!(is_measurable("Going down stairs without holding the rail"));
        assert!(!is_measurable("Feel less tense about it"));
        assert!(!is_measurable("Be happier at work"));
        assert!(!is_measurable("Get fitter"));
        assert!(is_done("No, that's all."));
        assert!(is_done("nothing else"));
        assert!(is_done("That's it"));
        assert!(!is_done("No budget for a coach, but I could ask Sam"));
        assert!(is_yes("Yes, exactly"));
        assert!(is_yes("pretty much"));
        assert!(!is_yes("Not quite: it's about trust"));
    }
}
