-- Data lifecycle: account deletion with a 7-day grace period, and the deletion ledger that a
-- restore from backup re-applies, so erased people never come back.

-- Accounts whose deletion is pending, found by the erasure job.
CREATE INDEX users_by_deletion_requested ON users (deletion_requested_at);

-- One row per erasure (an account after its grace period, a coaching session a member
-- deleted). Holds a SHA-256 of the subject's id, never the id itself.
CREATE TABLE deletion_ledger (
    id TEXT NOT NULL PRIMARY KEY,
    subject TEXT NOT NULL CHECK (subject IN ('user', 'coaching_session')),
    subject_hash TEXT NOT NULL,
    deleted_at BIGINT NOT NULL
);
CREATE INDEX deletion_ledger_by_deleted ON deletion_ledger (deleted_at);
CREATE INDEX deletion_ledger_by_subject ON deletion_ledger (subject, subject_hash);
