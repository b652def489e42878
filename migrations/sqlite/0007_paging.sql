-- Lists are paged in SQL with keyset cursors: each list's order has an index that starts with
-- whose rows they are, so a page reads only its own rows, however long the list.

-- Action items, newest first (the API) and soonest due first (the page; the seed's
-- by_due_date index stays for the reminder job's (user, due date) lookups).
CREATE INDEX action_items_by_user_created ON action_items (user_id, created_at, id);
CREATE INDEX action_items_by_user_due ON action_items (user_id, due_date, created_at, id);

-- Coaching sessions, newest first, for members and for visitors.
CREATE INDEX coaching_sessions_by_user_created ON coaching_sessions (user_id, created_at, id);
CREATE INDEX coaching_sessions_by_anonymous_created ON coaching_sessions (anonymous_id, created_at, id);

-- Personal API tokens and signed-in devices, newest first.
CREATE INDEX api_tokens_by_user_created ON api_tokens (user_id, created_at, id);
CREATE INDEX sessions_by_user_created ON sessions (user_id, created_at, id);

-- The staff mail log, newest first.
CREATE INDEX email_outbox_by_created_id ON email_outbox (created_at, id);
