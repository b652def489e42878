//! The rule for choosing a new password, after NIST SP 800-63B and OWASP ASVS: a length window
//! and a guessability check, and nothing else. No composition rules (they push people towards
//! `Password1!`), no silent truncation (every character the user typed counts), and no
//! trimming (spaces are legitimate characters in a passphrase).

use zxcvbn::{Score, zxcvbn};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// zxcvbn spends time super-linear in the input length; past this many characters a password
/// is not getting any easier to guess, so only this prefix is scored.
const MAX_SCORED_CHARS: usize = 100;

/// Scores below this mean "guessable within about 10^6 attempts": fine for an online attacker
/// facing rate limits, not for anyone holding a leaked hash.
const MIN_SCORE: Score = Score::Two;

/// Pieces of a user input shorter than this are too common to mean "built from your details".
const MIN_PERSONAL_PIECE_CHARS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Use at least 8 characters.")]
    TooShort,
    #[error("Use at most 128 characters.")]
    TooLong,
    /// zxcvbn judged it too easy to guess (a common password, a keyboard pattern, the user's
    /// own email/name...). The String is a short human hint.
    #[error("That password is too easy to guess. {0}")]
    TooGuessable(String),
}

/// Checks a password someone is choosing (sign-up, reset, change).
///
/// Length is counted in Unicode scalar values (chars), so an emoji counts once, as a person
/// would count it. `user_inputs` are the email, name etc. that must not make the password; an
/// email is also broken into its local part and domain labels, because people reuse those.
/// The guessability check rejects zxcvbn scores below [`Score::Two`], and only looks at the
/// first 100 chars (the length checks use the whole password).
pub fn check_new_password(password: &str, user_inputs: &[&str]) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }

    let scored = char_prefix(password, MAX_SCORED_CHARS);
    let personal = personal_words(user_inputs);
    let personal_refs: Vec<&str> = personal.iter().map(String::as_str).collect();
    let entropy = zxcvbn(scored, &personal_refs);
    if entropy.score() >= MIN_SCORE {
        return Ok(());
    }

    // When the password would pass without the user's own details, those details are the
    // problem, and zxcvbn's generic feedback would not say so.
    let hint = if !personal.is_empty() && zxcvbn(scored, &[]).score() >= MIN_SCORE {
        "Avoid your name or email address.".to_owned()
    } else {
        entropy
            .feedback()
            .and_then(|feedback| {
                feedback
                    .warning()
                    .map(|warning| warning.to_string())
                    .or_else(|| feedback.suggestions().first().map(ToString::to_string))
            })
            .unwrap_or_else(|| GENERIC_HINT.to_owned())
    };
    Err(PasswordError::TooGuessable(hint))
}

const GENERIC_HINT: &str = "Try a few unrelated words.";

/// The first `max_chars` chars of `s`, cut on a char boundary.
fn char_prefix(s: &str, max_chars: usize) -> &str {
    s.char_indices()
        .nth(max_chars)
        .map_or(s, |(end, _)| &s[..end])
}

/// Each input lower-cased, plus its alphanumeric pieces ("maria.lopez@example.com" also gives
/// "maria.lopez", "maria", "lopez", "example.com", "example"), so that zxcvbn recognises a
/// password built from any of them and not only from the whole string. The top-level domain
/// is left out: "com" or "org" says nothing about the user.
fn personal_words(user_inputs: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut push = |word: &str| {
        let word = word.trim().to_lowercase();
        if word.chars().count() >= MIN_PERSONAL_PIECE_CHARS && !words.contains(&word) {
            words.push(word);
        }
    };
    for input in user_inputs {
        push(input);
        let (local, domain) = input.split_once('@').unwrap_or((input, ""));
        push(local);
        for piece in local.split(|c: char| !c.is_alphanumeric()) {
            push(piece);
        }
        push(domain);
        let mut labels: Vec<&str> = domain.split('.').collect();
        labels.pop();
        for label in labels {
            push(label);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_too_guessable(password: &str, user_inputs: &[&str]) {
        match check_new_password(password, user_inputs) {
            Err(PasswordError::TooGuessable(hint)) => assert!(!hint.is_empty()),
            other => panic!("{password:?} should be too guessable, got {other:?}"),
        }
    }

    #[test]
    fn common_passwords_and_patterns_are_too_guessable() {
        for password in [
            "password",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "aaaaaaaaaa",
        ] {
            assert_too_guessable(password, &[]);
        }
    }

    #[test]
    fn passwords_built_from_the_users_details_are_too_guessable() {
        assert_too_guessable("coachflux2026", &["coachflux", "maria@example.com"]);
        assert_too_guessable("maria.lopez", &["maria.lopez@example.com"]);
        assert_too_guessable("zephyrine.q", &["zephyrine.q@example.com"]);
        assert_eq!(
            check_new_password("zephyrine.q", &["zephyrine.q@example.com"]),
            Err(PasswordError::TooGuessable(
                "Avoid your name or email address.".to_owned()
            ))
        );
    }

    #[test]
    fn the_hint_explains_the_problem() {
        let Err(PasswordError::TooGuessable(hint)) = check_new_password("password", &[]) else {
            panic!("expected TooGuessable");
        };
        assert_eq!(hint, "This is a top-10 common password.");
        assert_eq!(
            PasswordError::TooGuessable(hint).to_string(),
            "That password is too easy to guess. This is a top-10 common password."
        );
    }

    #[test]
    fn length_limits_are_enforced_first() {
        assert_eq!(
            check_new_password("Xk9#mQ2", &[]),
            Err(PasswordError::TooShort)
        );
        assert_eq!(check_new_password("", &[]), Err(PasswordError::TooShort));
        let too_long = "correct horse battery staple ".repeat(5);
        let too_long: String = too_long.chars().take(MAX_PASSWORD_CHARS + 1).collect();
        assert_eq!(too_long.chars().count(), 129);
        assert_eq!(
            check_new_password(&too_long, &[]),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn strong_passwords_are_accepted() {
        assert_eq!(
            check_new_password("correct horse battery staple", &[]),
            Ok(())
        );
        assert_eq!(
            check_new_password("Xk9#mQ2$vL7p", &["maria@example.com"]),
            Ok(())
        );
        assert_eq!(check_new_password("tq4vz8mwp2rk", &[]), Ok(()));
    }

    #[test]
    fn a_128_char_passphrase_is_accepted_whole() {
        let passphrase: String = "velvet lantern orbit quietly sketches harbor "
            .repeat(3)
            .chars()
            .take(MAX_PASSWORD_CHARS)
            .collect();
        assert_eq!(passphrase.chars().count(), 128);
        assert_eq!(check_new_password(&passphrase, &[]), Ok(()));
    }

    #[test]
    fn length_counts_chars_not_bytes() {
        let eight_emoji = "🦀🐙🦊🐢🦉🐝🦄🐳";
        assert_eq!(eight_emoji.chars().count(), 8);
        assert_eq!(eight_emoji.len(), 32);
        assert_eq!(check_new_password(eight_emoji, &[]), Ok(()));
        assert_eq!(
            check_new_password("🦀🐙🦊🐢🦉🐝🦄", &[]),
            Err(PasswordError::TooShort)
        );
        // 128 two-byte chars is 256 bytes but within the limit.
        let accented: String = "éàüöçñßø".repeat(16);
        assert_eq!(accented.chars().count(), 128);
        assert_ne!(
            check_new_password(&accented, &[]),
            Err(PasswordError::TooLong)
        );
        let accented_129 = format!("{accented}é");
        assert_eq!(
            check_new_password(&accented_129, &[]),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn only_a_prefix_is_scored_but_long_inputs_still_work() {
        // A strong start followed by a long repeat: scored on the first 100 chars only,
        // which is enough for a verdict and keeps zxcvbn fast.
        let password = format!("{}{}", "Xk9#mQ2$vL7p", "a".repeat(116));
        assert_eq!(password.chars().count(), 128);
        assert_eq!(check_new_password(&password, &[]), Ok(()));
        assert_eq!(char_prefix("héllo", 2), "hé");
        assert_eq!(char_prefix("hi", 5), "hi");
    }

    #[test]
    fn error_messages_match_the_limits() {
        assert_eq!(
            PasswordError::TooShort.to_string(),
            format!("Use at least {MIN_PASSWORD_CHARS} characters.")
        );
        assert_eq!(
            PasswordError::TooLong.to_string(),
            format!("Use at most {MAX_PASSWORD_CHARS} characters.")
        );
    }

    #[test]
    fn personal_words_include_the_pieces_of_an_email() {
        let words = personal_words(&["Maria.Lopez@Example.com", "Maria Lopez"]);
        for expected in [
            "maria.lopez@example.com",
            "maria.lopez",
            "maria",
            "lopez",
            "example.com",
            "example",
            "maria lopez",
        ] {
            assert!(words.iter().any(|w| w == expected), "missing {expected}");
        }
        assert_eq!(words.iter().filter(|w| *w == "maria").count(), 1);
        assert!(!words.iter().any(|w| w == "com"));
    }
}
