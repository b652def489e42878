-- Security hardening.
--
-- Each device session records when it last proved who is using it (the sign-in itself, or a
-- re-authentication) and when it proved a second factor: sensitive changes need a recent proof,
-- the staff pages a session that proved the second factor.
ALTER TABLE sessions ADD COLUMN authenticated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN second_factor_at BIGINT NULL;
UPDATE sessions SET authenticated_at = created_at;

-- A verification link signs in the browser that signed up (SHA-256 hex of a cookie nonce).
ALTER TABLE email_verifications ADD COLUMN browser_binding TEXT NULL;

-- Mail bodies carry one-time links: they are sealed with the server key from now on, and staff
-- read `body_redacted`, a copy with those links withheld. Delivered mail keeps no clear copy.
ALTER TABLE email_outbox ADD COLUMN body_redacted TEXT NOT NULL DEFAULT '';
UPDATE email_outbox SET body_text = '', body_html = '' WHERE status IN ('sent', 'failed');

-- A sign-in that proved its first factor (password, email link or provider) and waits for the
-- second: usable once, for a few minutes.
CREATE TABLE two_factor_challenges (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token TEXT NOT NULL, -- SHA-256 hex of the challenge (the cookie or API client holds it)
    method TEXT NOT NULL, -- how the first factor was proved: password, magic_link, oidc
    remember BIGINT NOT NULL DEFAULT 0 CHECK (remember IN (0, 1)),
    expires_at BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX two_factor_challenges_by_token ON two_factor_challenges (token);
CREATE INDEX two_factor_challenges_by_user ON two_factor_challenges (user_id);
