-- Identity: a long-lived device cookie (stored hashed) recognises a returning browser, so a
-- login from a new device can raise a security alert.
ALTER TABLE sessions ADD COLUMN device_id TEXT NULL;
CREATE INDEX sessions_by_user_device ON sessions (user_id, device_id);
