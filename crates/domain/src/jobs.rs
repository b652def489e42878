//! The scheduled jobs: their names, what each does and how often it runs by default. Running
//! them is the application's (`coachflux_app::jobs`); this is the catalogue, shared by the
//! settings that tune it and the pages that list it.

use crate::clock::{DAY_MS, HOUR_MS, MINUTE_MS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Visitor sessions older than their 24 hours, with their reflections.
    AnonymousSessions,
    /// Completed action items archived 90 days after completion.
    ArchiveActions,
    /// One reminder (email if wanted, and an in-app notification) per item due within 24 h.
    ActionReminders,
    /// Expired tokens and device sessions, mail delivered 30+ days ago, job history over 90 days.
    Purge,
    /// Accounts whose 7-day deletion grace period is over: final email, then erasure.
    AccountErasure,
    /// Free members keep their newest sessions (COACHFLUX_FREE_HISTORY); older ones go.
    FreeHistory,
    /// A verified, compressed snapshot into `<data dir>/backups`, keeping 30 days.
    Backup,
}

pub const ALL: [Job; 7] = [
    Job::AnonymousSessions,
    Job::ArchiveActions,
    Job::ActionReminders,
    Job::Purge,
    Job::AccountErasure,
    Job::FreeHistory,
    Job::Backup,
];

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::AnonymousSessions => "anonymous-sessions",
            Job::ArchiveActions => "archive-actions",
            Job::ActionReminders => "action-reminders",
            Job::Purge => "purge",
            Job::AccountErasure => "account-erasure",
            Job::FreeHistory => "free-history",
            Job::Backup => "backup",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Job::AnonymousSessions => "delete visitor sessions 24 h after they started",
            Job::ArchiveActions => "archive action items 90 days after completion",
            Job::ActionReminders => "remind people of open items due within 24 h",
            Job::Purge => {
                "purge expired tokens and device sessions, mail delivered 30+ days ago, job history over 90 days"
            }
            Job::AccountErasure => "erase accounts 7 days after their deletion request",
            Job::FreeHistory => "keep free members' newest sessions (COACHFLUX_FREE_HISTORY)",
            Job::Backup => "snapshot the database into <data dir>/backups, keep 30 days",
        }
    }

    /// How often it runs by default.
    pub fn default_interval_ms(self) -> i64 {
        match self {
            Job::AnonymousSessions => 15 * MINUTE_MS,
            Job::ArchiveActions => 6 * HOUR_MS,
            Job::ActionReminders => 15 * MINUTE_MS,
            Job::Purge => HOUR_MS,
            Job::AccountErasure => HOUR_MS,
            Job::FreeHistory => 6 * HOUR_MS,
            Job::Backup => DAY_MS,
        }
    }

    pub fn from_name(name: &str) -> Option<Job> {
        ALL.into_iter().find(|j| j.name() == name)
    }
}
