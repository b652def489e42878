//! What kind of account someone has: their role, and where their subscription stands. Stored
//! as text (with a CHECK in the schema), compared only as these enums.

use std::fmt;

/// What an account may do beyond its own things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Member,
    /// Manages frameworks, resources, support; sees the staff pages.
    Staff,
    /// Staff, and may change other people's roles.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Member, Role::Staff, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff and admins see the staff pages (with their second factor).
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Staff | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an account's subscription stands (the seed's `subscriptionStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    Free,
    Trial,
    Active,
    Canceled,
    PastDue,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 5] = [
        SubscriptionStatus::Free,
        SubscriptionStatus::Trial,
        SubscriptionStatus::Active,
        SubscriptionStatus::Canceled,
        SubscriptionStatus::PastDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Free => "free",
            SubscriptionStatus::Trial => "trial",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::PastDue => "past_due",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the account is on the free plan's terms (never paid, or no longer paying).
    pub fn is_free_plan(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Free | SubscriptionStatus::Canceled
        )
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_and_unknown_text_is_refused() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for s in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(SubscriptionStatus::parse("paid"), None);
        assert!(Role::Admin.is_staff() && !Role::Member.is_staff());
        assert!(SubscriptionStatus::Canceled.is_free_plan());
        assert!(!SubscriptionStatus::Trial.is_free_plan());
    }
}
