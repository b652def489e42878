//! Email addresses as the sign-in identity. Parsing normalises (trim, lower-case) so that one
//! person cannot end up with two accounts that differ only by case or stray spaces, and rejects
//! anything a mail server would not deliver to an ordinary mailbox. Deliverability itself is
//! only proven by the verification email, so the rules here stay deliberately simple.

use std::fmt;

/// RFC 5321 path limit (256 octets) minus the angle brackets.
const MAX_ADDRESS_BYTES: usize = 254;
/// RFC 5321 local-part limit.
const MAX_LOCAL_BYTES: usize = 64;
/// RFC 1035 label limit.
const MAX_DOMAIN_LABEL_BYTES: usize = 63;

/// A trimmed, lower-cased, syntactically ordinary email address (`local@domain.tld`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("That doesn't look like an email address.")]
    Invalid,
    #[error("That email address is too long.")]
    TooLong,
}

impl EmailAddress {
    /// Trims, lower-cases, validates. Accepts ordinary addresses (`local@domain.tld`); rejects
    /// empty input, more than 254 bytes, a local part over 64 bytes, a missing or repeated `@`,
    /// whitespace or control characters, a domain without a dot or with empty labels, and
    /// leading, trailing or doubled dots. Lengths are in bytes because that is what the SMTP
    /// limits count; for ASCII addresses bytes and characters are the same.
    pub fn parse(s: &str) -> Result<Self, EmailError> {
        let normalised = s.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(EmailError::Empty);
        }
        if normalised.len() > MAX_ADDRESS_BYTES {
            return Err(EmailError::TooLong);
        }
        if normalised
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(EmailError::Invalid);
        }
        let Some((local, domain)) = normalised.split_once('@') else {
            return Err(EmailError::Invalid);
        };
        if domain.contains('@') {
            return Err(EmailError::Invalid);
        }
        if local.len() > MAX_LOCAL_BYTES {
            return Err(EmailError::TooLong);
        }
        if !is_valid_local_part(local) || !is_valid_domain(domain) {
            return Err(EmailError::Invalid);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, e.g. to spot disposable-mail domains or company sign-ups.
    pub fn domain(&self) -> &str {
        // `parse` guarantees exactly one '@'.
        self.0.split_once('@').map_or("", |(_local, domain)| domain)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dot-atom (RFC 5322) of the characters mail providers actually hand out, plus non-ASCII
/// letters and digits for internationalised mailboxes (RFC 6531). Quoted local parts are
/// legal but nobody uses them for a real inbox, and they would complicate every later use.
fn is_valid_local_part(local: &str) -> bool {
    !local.is_empty()
        && local.split('.').all(|atom| !atom.is_empty())
        && local
            .chars()
            .all(|c| c == '.' || c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
}

/// A host name with at least two labels. Labels are letters, digits and inner hyphens
/// (non-ASCII letters allowed for internationalised domains); the top-level label is not
/// all digits, which rules out bare IP addresses.
fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let Some(top_level) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels.iter().all(|label| is_valid_domain_label(label))
        && !top_level.chars().all(|c| c.is_ascii_digit())
}

fn is_valid_domain_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_DOMAIN_LABEL_BYTES
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c == '-' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_accepted_and_normalised() {
        let email = EmailAddress::parse("  Maria.Lopez+coach@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "maria.lopez+coach@example.com");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.to_string(), "maria.lopez+coach@example.com");

        for ok in [
            "a@b.co",
            "first_last@mail.example.org",
            "o'neil@example.ie",
            "user-1@sub-domain.example.co.uk",
            "josé@correo.es",
            "user@xn--bcher-kva.example",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok} should be accepted");
        }
    }

    #[test]
    fn case_and_spacing_variants_are_the_same_address() {
        assert_eq!(
            EmailAddress::parse("Coach@Example.com").unwrap(),
            EmailAddress::parse(" coach@example.com ").unwrap()
        );
    }

    #[test]
    fn empty_input_is_reported_as_empty() {
        assert_eq!(EmailAddress::parse(""), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("   \t"), Err(EmailError::Empty));
    }

    #[test]
    fn malformed_addresses_are_invalid() {
        for bad in [
            "plainaddress",
            "@example.com",
            "user@",
            "user@@example.com",
            "a@b@example.com",
            "user@localhost",
            "user@example.",
            "user@.example.com",
            "user@example..com",
            ".user@example.com",
            "user.@example.com",
            "us..er@example.com",
            "us er@example.com",
            "user@exa mple.com",
            "user\u{0}@example.com",
            "user\u{7}@example.com",
            "user\u{85}@example.com",
            "user\u{200b}@example.com",
            "user@exam\u{202e}ple.com",
            "user@-example.com",
            "user@example-.com",
            "user@1.2.3.4",
            "user@[127.0.0.1]",
            "\"quoted\"@example.com",
            "user<x>@example.com",
            "user,x@example.com",
            "user@exam_ple.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(EmailError::Invalid),
                "{bad:?} should be invalid"
            );
        }
    }

    #[test]
    fn overlong_addresses_are_too_long() {
        let local_64 = "a".repeat(64);
        assert!(EmailAddress::parse(&format!("{local_64}@example.com")).is_ok());
        let local_65 = "a".repeat(65);
        assert_eq!(
            EmailAddress::parse(&format!("{local_65}@example.com")),
            Err(EmailError::TooLong)
        );

        // 254 bytes exactly: 64 + 1 + 189 (three 61-byte labels, three dots, "com").
        let label = "b".repeat(61);
        let at_limit = format!("{local_64}@{label}.{label}.{label}.com");
        assert_eq!(at_limit.len(), 254);
        assert!(EmailAddress::parse(&at_limit).is_ok());
        let over_limit = format!("{local_64}@{label}.{label}.{label}.info");
        assert_eq!(over_limit.len(), 255);
        assert_eq!(EmailAddress::parse(&over_limit), Err(EmailError::TooLong));

        let long_label = "c".repeat(64);
        assert_eq!(
            EmailAddress::parse(&format!("user@{long_label}.com")),
            Err(EmailError::Invalid)
        );
    }

    #[test]
    fn errors_read_as_user_facing_messages() {
        assert_eq!(EmailError::Empty.to_string(), "Enter your email address.");
        assert_eq!(
            EmailError::Invalid.to_string(),
            "That doesn't look like an email address."
        );
        assert_eq!(
            EmailError::TooLong.to_string(),
            "That email address is too long."
        );
    }
}
