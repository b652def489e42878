//! SQLite versions from 3.7.0 up to 3.51.2 can corrupt a database in WAL mode when a checkpoint
//! races a WAL reset. The fix shipped in 3.51.3 and was backported to 3.50.7 and 3.44.6. We
//! refuse to open a database with an affected library.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SqliteVersion(pub u32, pub u32, pub u32);

impl SqliteVersion {
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.trim().split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().unwrap_or(Some(0))?;
        Some(Self(major, minor, patch))
    }

    pub fn has_wal_reset_bug(self) -> bool {
        let Self(major, minor, patch) = self;
        if major != 3 || minor < 7 {
            return false;
        }
        match minor {
            44 => patch < 6,
            50 => patch < 7,
            51 => patch < 3,
            m => m < 51,
        }
    }
}

impl std::fmt::Display for SqliteVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Ok when `reported` (the text of `sqlite_version()`) is safe to run in WAL mode.
pub fn check_sqlite_version(reported: &str) -> Result<SqliteVersion, String> {
    let version = SqliteVersion::parse(reported)
        .ok_or_else(|| format!("cannot read the SQLite version {reported:?}"))?;
    if version.has_wal_reset_bug() {
        return Err(format!(
            "SQLite {version} has the WAL-reset corruption bug; CoachFlux needs 3.44.6+, 3.50.7+ or 3.51.3+"
        ));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affected_versions_are_refused() {
        for v in ["3.46.0", "3.7.0", "3.44.5", "3.50.6", "3.51.2", "3.45.3"] {
            assert!(check_sqlite_version(v).is_err(), "{v} should be refused");
        }
    }

    #[test]
    fn fixed_versions_are_accepted() {
        for v in ["3.44.6", "3.50.7", "3.51.3", "3.52.0", "3.6.23", "4.0.0"] {
            assert!(check_sqlite_version(v).is_ok(), "{v} should be accepted");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(check_sqlite_version("banana").is_err());
    }
}
