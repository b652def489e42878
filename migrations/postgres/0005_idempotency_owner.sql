-- Idempotency records name the account they belong to, so an account's export lists them and
-- its erasure removes them (the `owner` column is the rate-limit bucket: a token, a device
-- session or a visitor). Their stored responses are encrypted with the server key, so the id of
-- what the first request created is kept beside them: deleting that frees the key.
ALTER TABLE idempotency_keys ADD COLUMN user_id TEXT NULL REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT NULL;
CREATE INDEX idempotency_keys_by_user ON idempotency_keys (user_id);
CREATE INDEX idempotency_keys_by_resource ON idempotency_keys (resource_id);
