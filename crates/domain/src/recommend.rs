//! "Which framework fits me?": a few answers in, one recommendation out, with the reason.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// A goal to reach.
    Goal,
    /// A change happening to the person.
    Change,
    /// A tangled situation, maybe with feelings involved.
    Situation,
    /// A wish or habit.
    Habit,
    /// Something already partly working, to build on.
    Progress,
    /// A conversation with someone they manage.
    Managing,
}

impl Focus {
    pub const ALL: [(Focus, &'static str, &'static str); 6] = [
        (Focus::Goal, "goal", "A goal I want to reach"),
        (Focus::Change, "change", "A change that's happening to me"),
        (
            Focus::Situation,
            "situation",
            "A tricky situation I want to untangle",
        ),
        (
            Focus::Habit,
            "habit",
            "A wish or a habit I keep putting off",
        ),
        (
            Focus::Progress,
            "progress",
            "Something that's partly working already",
        ),
        (Focus::Managing, "managing", "Coaching someone on my team"),
    ];

    pub fn parse(s: &str) -> Option<Focus> {
        Self::ALL
            .iter()
            .find(|(_, code, _)| *code == s)
            .map(|(f, _, _)| *f)
    }
}

/// What to start when the recommendation is locked for this person: GROW, which fits almost
/// anything.
pub const FALLBACK: (&str, &str) = (
    "GROW",
    "GROW fits almost any goal: from where you are now to a committed next step, in about 20 minutes.",
);

/// The recommended framework id and why.
pub fn recommend(focus: Focus, minutes: u32) -> (&'static str, &'static str) {
    if minutes <= 10 {
        return (
            "WOOP",
            "You have about ten minutes: WOOP turns one wish into an if-then plan quickly.",
        );
    }
    match focus {
        Focus::Goal => (
            "GROW",
            "GROW takes a clear goal from where you are to a committed next step.",
        ),
        Focus::Change => (
            "COMPASS",
            "COMPASS is built for facing a change: it grows your confidence and ends with one concrete action.",
        ),
        Focus::Situation => (
            "CLEAR",
            "CLEAR slows down to listen and explore before deciding what to do.",
        ),
        Focus::Habit => (
            "WOOP",
            "WOOP pairs the wish with the obstacle inside you and an if-then plan.",
        ),
        Focus::Progress => (
            "OSKAR",
            "OSKAR builds on what already works instead of dissecting the problem.",
        ),
        Focus::Managing => (
            "FUEL",
            "FUEL gives a manager a simple structure for a coaching conversation.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_focus_has_a_framework_and_short_time_means_woop() {
        assert_eq!(recommend(Focus::Goal, 20).0, "GROW");
        assert_eq!(recommend(Focus::Change, 25).0, "COMPASS");
        assert_eq!(recommend(Focus::Situation, 25).0, "CLEAR");
        assert_eq!(recommend(Focus::Progress, 20).0, "OSKAR");
        assert_eq!(recommend(Focus::Managing, 20).0, "FUEL");
        assert_eq!(recommend(Focus::Goal, 10).0, "WOOP");
        assert_eq!(Focus::parse("change"), Some(Focus::Change));
        assert_eq!(Focus::parse("nope"), None);
    }
}
