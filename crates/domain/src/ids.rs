//! Opaque identifiers. Rows are keyed by UUIDv7 strings: sortable by creation time, unguessable
//! enough for URLs, and the same text on both database engines.

use uuid::Uuid;

pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// A UUIDv7 for the instant `at_ms` with the given random part: for generated data, where
/// the randomness comes from a seeded generator (never for anything secret).
pub fn id_at(at_ms: i64, random: [u8; 10]) -> String {
    uuid::Builder::from_unix_timestamp_millis(u64::try_from(at_ms).unwrap_or(0), &random)
        .into_uuid()
        .to_string()
}

/// Whether `s` has the shape of an id this system hands out. Used to answer 404 early for
/// malformed ids instead of querying with them.
pub fn looks_like_id(s: &str) -> bool {
    Uuid::try_parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_time_ordered() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert!(looks_like_id(&a));
        assert!(a < b, "UUIDv7 sort by creation time: {a} !< {b}");
        assert!(!looks_like_id("../etc/passwd"));
    }
}
