-- CoachFlux initial schema: PostgreSQL (13+, tested on 15).
-- Keep in lockstep with migrations/sqlite/0001_init.sql (same tables, columns, order,
-- nullability, types and index names), the schema-drift test fails otherwise.
--
-- Conventions (identical in migrations/sqlite and migrations/postgres, a test compares them):
--   * Tables and columns follow the seed (DATA_SCHEMA_DESIGN.md): table names as in the seed,
--     field names in snake_case (emailVerified -> email_verified).
--   * Only three column types, spelled the same in both engines: TEXT, BIGINT, DOUBLE PRECISION
--     (sqlx's Any driver decodes nothing else portably). No BOOLEAN/UUID/JSONB/SERIAL/TIMESTAMP.
--   * Ids: `id TEXT NOT NULL PRIMARY KEY` holding UUIDv7 strings (frameworks.id is the framework
--     id such as 'GROW'). NOT NULL is explicit because SQLite otherwise allows NULL in a
--     non-INTEGER primary key.
--   * Timestamps: BIGINT milliseconds since the Unix epoch. Money: BIGINT cents.
--   * Booleans: BIGINT 0/1 with CHECK (col IN (0, 1)).
--   * Enums (seed v.union of literals): TEXT with CHECK (col IN (...)).
--   * Arrays and free-form objects (tags, best_for, frameworks_used, steps, state, payload,
--     properties, ...): JSON text, default '[]' for arrays and '{}' for objects.
--   * Nested seed objects are flattened into prefixed columns (email_preferences_*,
--     device_info_*, settings_*).
--   * v.optional fields are NULLable, every other column is NOT NULL.
--   * Seed index `by_x` on table t becomes index `t_by_x`, indexes that would duplicate a primary
--     key are skipped. No partial or expression indexes (keeps the engines comparable).
--   * Columns and tables beyond the seed are marked `-- beyond the seed`.
--   * Tokens are never stored in clear: every `token` / `*_hash` column holds the SHA-256 hex
--     digest of the secret handed to the user.
--   * No transactions here (sqlx wraps each migration), no PRAGMA, no IF NOT EXISTS.

-- ============================================================================================
-- FRAMEWORK METADATA (created first: users and coaching_sessions reference it)
-- ============================================================================================

CREATE TABLE frameworks (
    id TEXT NOT NULL PRIMARY KEY, -- framework id, e.g. 'GROW', 'CLEAR', 'COMPASS'
    name TEXT NOT NULL,
    emoji TEXT NOT NULL,
    tagline TEXT NOT NULL,
    description TEXT NOT NULL,
    best_for TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    steps TEXT NOT NULL DEFAULT '[]', -- JSON array of {name, description, id, questions, fields}
    estimated_time TEXT NOT NULL,
    difficulty TEXT NOT NULL CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    category TEXT NOT NULL CHECK (category IN ('general', 'specialist')),
    tags TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    is_available BIGINT NOT NULL DEFAULT 1 CHECK (is_available IN (0, 1)),
    coming_soon BIGINT NOT NULL DEFAULT 0 CHECK (coming_soon IN (0, 1)),
    usage_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    -- beyond the seed
    expansion TEXT NOT NULL DEFAULT '', -- what the letters stand for
    origin TEXT NOT NULL DEFAULT '', -- attribution: authors, book, year
    position BIGINT NOT NULL DEFAULT 0 -- display order in the catalogue
);
-- Seed index frameworks.by_id is the primary key: no separate index.
CREATE INDEX frameworks_by_category ON frameworks (category);
CREATE INDEX frameworks_by_available ON frameworks (is_available);

-- ============================================================================================
-- USER MANAGEMENT
-- ============================================================================================

CREATE TABLE users (
    id TEXT NOT NULL PRIMARY KEY,
    email TEXT NOT NULL CHECK (email = lower(email)), -- stored lower-case
    email_verified BIGINT NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    name TEXT NULL,
    picture TEXT NULL,
    password_hash TEXT NULL, -- argon2id PHC string
    provider TEXT NULL CHECK (provider IS NULL OR provider IN ('email', 'google', 'linkedin')),
    provider_id TEXT NULL,
    totp_secret TEXT NULL, -- TOTP secret encrypted with the server key, never in clear
    totp_enabled BIGINT NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
    subscription_status TEXT NOT NULL DEFAULT 'free'
        CHECK (subscription_status IN ('free', 'trial', 'active', 'canceled', 'past_due')),
    stripe_customer_id TEXT NULL,
    stripe_subscription_id TEXT NULL,
    email_preferences_product_updates BIGINT NOT NULL DEFAULT 1
        CHECK (email_preferences_product_updates IN (0, 1)),
    email_preferences_newsletter BIGINT NOT NULL DEFAULT 0
        CHECK (email_preferences_newsletter IN (0, 1)),
    email_preferences_action_reminders BIGINT NOT NULL DEFAULT 1
        CHECK (email_preferences_action_reminders IN (0, 1)),
    email_preferences_marketing_emails BIGINT NOT NULL DEFAULT 0
        CHECK (email_preferences_marketing_emails IN (0, 1)),
    onboarding_completed BIGINT NOT NULL DEFAULT 0 CHECK (onboarding_completed IN (0, 1)),
    preferred_framework TEXT NULL REFERENCES frameworks (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NULL,
    last_active_at BIGINT NULL,
    -- beyond the seed
    role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'staff', 'admin')),
    updated_at BIGINT NOT NULL DEFAULT 0,
    disabled_at BIGINT NULL,
    deletion_requested_at BIGINT NULL,
    deletion_reason TEXT NULL,
    totp_last_step BIGINT NULL, -- last accepted TOTP time step (replay protection)
    calendar_token TEXT NULL, -- SHA-256 hex of the calendar feed secret
    trial_ends_at BIGINT NULL,
    country TEXT NULL -- ISO 3166-1 alpha-2, used to pick crisis helplines
);
CREATE UNIQUE INDEX users_by_email ON users (email);
CREATE INDEX users_by_provider ON users (provider, provider_id);
CREATE INDEX users_by_stripe_customer ON users (stripe_customer_id);
CREATE UNIQUE INDEX users_by_calendar_token ON users (calendar_token); -- beyond the seed

-- ============================================================================================
-- AUTHENTICATION
-- ============================================================================================

CREATE TABLE sessions (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token TEXT NOT NULL, -- SHA-256 hex of the session token (the cookie holds the token)
    expires_at BIGINT NOT NULL, -- idle expiry
    last_activity_at BIGINT NOT NULL,
    device_info_user_agent TEXT NOT NULL,
    device_info_ip TEXT NOT NULL,
    device_info_location TEXT NULL,
    is_active BIGINT NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at BIGINT NOT NULL,
    -- beyond the seed
    remember BIGINT NOT NULL DEFAULT 0 CHECK (remember IN (0, 1)),
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT NULL
);
CREATE UNIQUE INDEX sessions_by_token ON sessions (token);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE email_verifications (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token TEXT NOT NULL, -- SHA-256 hex of the verification token
    expires_at BIGINT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    created_at BIGINT NOT NULL,
    -- beyond the seed
    email TEXT NOT NULL -- the address being verified (supports email change)
);
CREATE UNIQUE INDEX email_verifications_by_token ON email_verifications (token);
CREATE INDEX email_verifications_by_user ON email_verifications (user_id);

CREATE TABLE password_resets (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token TEXT NOT NULL, -- SHA-256 hex of the reset token
    expires_at BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX password_resets_by_token ON password_resets (token);
CREATE INDEX password_resets_by_user ON password_resets (user_id);

CREATE TABLE magic_links (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token TEXT NOT NULL, -- SHA-256 hex of the magic-link token
    expires_at BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    created_at BIGINT NOT NULL,
    -- beyond the seed
    browser_binding TEXT NOT NULL -- SHA-256 hex of a cookie nonce binding the link to the requesting browser
);
CREATE UNIQUE INDEX magic_links_by_token ON magic_links (token);
CREATE INDEX magic_links_by_user ON magic_links (user_id); -- beyond the seed (FK cascade, rate checks)

-- ============================================================================================
-- ORGANIZATIONS (future B2B)
-- ============================================================================================

CREATE TABLE organizations (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    domain TEXT NULL,
    logo TEXT NULL,
    plan TEXT NOT NULL CHECK (plan IN ('enterprise', 'team')),
    seat_count BIGINT NOT NULL,
    used_seats BIGINT NOT NULL DEFAULT 0,
    stripe_customer_id TEXT NULL,
    settings_sso_enabled BIGINT NOT NULL DEFAULT 0 CHECK (settings_sso_enabled IN (0, 1)),
    settings_custom_branding BIGINT NOT NULL DEFAULT 0 CHECK (settings_custom_branding IN (0, 1)),
    settings_data_residency TEXT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX organizations_by_slug ON organizations (slug);
CREATE INDEX organizations_by_domain ON organizations (domain);

CREATE TABLE org_members (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at BIGINT NOT NULL
);
CREATE INDEX org_members_by_org ON org_members (org_id);
CREATE INDEX org_members_by_user ON org_members (user_id);
CREATE UNIQUE INDEX org_members_by_org_and_user ON org_members (org_id, user_id);

-- ============================================================================================
-- COACHING SESSIONS
-- ============================================================================================

CREATE TABLE coaching_sessions (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NULL REFERENCES users (id) ON DELETE CASCADE, -- NULL for anonymous sessions
    org_id TEXT NULL REFERENCES organizations (id) ON DELETE SET NULL,
    framework TEXT NOT NULL REFERENCES frameworks (id) ON DELETE RESTRICT,
    step TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}', -- JSON object, framework-specific state
    is_anonymous BIGINT NOT NULL DEFAULT 0 CHECK (is_anonymous IN (0, 1)),
    anonymous_id TEXT NULL,
    closed_at BIGINT NULL,
    expires_at BIGINT NULL, -- anonymous sessions only
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- beyond the seed
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'paused', 'completed', 'abandoned')),
    completed_at BIGINT NULL
);
CREATE INDEX coaching_sessions_by_user ON coaching_sessions (user_id);
CREATE INDEX coaching_sessions_by_org ON coaching_sessions (org_id);
CREATE INDEX coaching_sessions_by_anonymous ON coaching_sessions (anonymous_id);
CREATE INDEX coaching_sessions_by_expiry ON coaching_sessions (expires_at);
CREATE INDEX coaching_sessions_by_created ON coaching_sessions (created_at);

CREATE TABLE session_reflections (
    id TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES coaching_sessions (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    user_input TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}', -- JSON object, structured reflection data
    created_at BIGINT NOT NULL
);
CREATE INDEX session_reflections_by_session ON session_reflections (session_id);
CREATE INDEX session_reflections_by_step ON session_reflections (session_id, step);

-- ============================================================================================
-- ACTION ITEMS
-- ============================================================================================

CREATE TABLE action_items (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES coaching_sessions (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NULL,
    due_date BIGINT NULL,
    completed BIGINT NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    completed_at BIGINT NULL,
    priority TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
    tags TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    reminder_sent BIGINT NOT NULL DEFAULT 0 CHECK (reminder_sent IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- beyond the seed
    archived_at BIGINT NULL
);
CREATE INDEX action_items_by_user ON action_items (user_id);
CREATE INDEX action_items_by_session ON action_items (session_id);
CREATE INDEX action_items_by_due_date ON action_items (user_id, due_date);
CREATE INDEX action_items_by_completed ON action_items (user_id, completed);

-- ============================================================================================
-- SUBSCRIPTIONS & BILLING
-- ============================================================================================

CREATE TABLE subscriptions (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stripe_subscription_id TEXT NOT NULL,
    stripe_price_id TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid')),
    current_period_start BIGINT NOT NULL,
    current_period_end BIGINT NOT NULL,
    cancel_at_period_end BIGINT NOT NULL DEFAULT 0 CHECK (cancel_at_period_end IN (0, 1)),
    trial_end BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_by_user ON subscriptions (user_id);
CREATE UNIQUE INDEX subscriptions_by_stripe_id ON subscriptions (stripe_subscription_id);
CREATE INDEX subscriptions_by_status ON subscriptions (status);

CREATE TABLE invoices (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stripe_invoice_id TEXT NOT NULL,
    amount BIGINT NOT NULL, -- cents
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    paid_at BIGINT NULL,
    invoice_pdf TEXT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX invoices_by_user ON invoices (user_id);
CREATE UNIQUE INDEX invoices_by_stripe_id ON invoices (stripe_invoice_id);

CREATE TABLE coupons (
    id TEXT NOT NULL PRIMARY KEY,
    code TEXT NOT NULL,
    stripe_coupon_id TEXT NOT NULL,
    percent_off DOUBLE PRECISION NULL,
    amount_off BIGINT NULL, -- cents
    currency TEXT NULL,
    duration TEXT NOT NULL,
    duration_in_months BIGINT NULL,
    max_redemptions BIGINT NULL,
    times_redeemed BIGINT NOT NULL DEFAULT 0,
    active BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    expires_at BIGINT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX coupons_by_code ON coupons (code);
CREATE INDEX coupons_by_active ON coupons (active);

-- ============================================================================================
-- RESOURCES & CONTENT
-- ============================================================================================

CREATE TABLE resources (
    id TEXT NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('template', 'guide', 'worksheet', 'video')),
    category TEXT NOT NULL,
    file_url TEXT NULL,
    thumbnail_url TEXT NULL,
    access_level TEXT NOT NULL CHECK (access_level IN ('free', 'pro', 'enterprise')),
    download_count BIGINT NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    published BIGINT NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX resources_by_type ON resources (type);
CREATE INDEX resources_by_access ON resources (access_level);
CREATE INDEX resources_by_published ON resources (published);

-- ============================================================================================
-- ANALYTICS & TRACKING
-- ============================================================================================

CREATE TABLE events (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NULL REFERENCES users (id) ON DELETE SET NULL,
    anonymous_id TEXT NULL,
    event_name TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}', -- JSON object
    timestamp BIGINT NOT NULL
);
CREATE INDEX events_by_user ON events (user_id);
CREATE INDEX events_by_event ON events (event_name);
CREATE INDEX events_by_timestamp ON events (timestamp);

CREATE TABLE user_metrics (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sessions_completed BIGINT NOT NULL DEFAULT 0,
    actions_created BIGINT NOT NULL DEFAULT 0,
    actions_completed BIGINT NOT NULL DEFAULT 0,
    frameworks_used TEXT NOT NULL DEFAULT '[]', -- JSON array of framework ids
    last_session_at BIGINT NULL,
    total_time_spent BIGINT NOT NULL DEFAULT 0, -- seconds
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX user_metrics_by_user ON user_metrics (user_id);

-- ============================================================================================
-- FEEDBACK & SUPPORT
-- ============================================================================================

CREATE TABLE feedback (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NULL REFERENCES users (id) ON DELETE SET NULL,
    session_id TEXT NULL REFERENCES coaching_sessions (id) ON DELETE SET NULL,
    type TEXT NOT NULL CHECK (type IN ('bug', 'feature', 'general')),
    rating BIGINT NULL CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
    message TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'reviewed', 'resolved')),
    created_at BIGINT NOT NULL
);
CREATE INDEX feedback_by_user ON feedback (user_id);
CREATE INDEX feedback_by_status ON feedback (status);
CREATE INDEX feedback_by_type ON feedback (type);
CREATE INDEX feedback_by_session ON feedback (session_id); -- beyond the seed (FK SET NULL on session purge)

CREATE TABLE support_tickets (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    priority TEXT NOT NULL DEFAULT 'medium'
        CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    assigned_to TEXT NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT NULL
);
CREATE INDEX support_tickets_by_user ON support_tickets (user_id);
CREATE INDEX support_tickets_by_status ON support_tickets (status);
CREATE INDEX support_tickets_by_assigned ON support_tickets (assigned_to);

-- ============================================================================================
-- NOTIFICATIONS
-- ============================================================================================

CREATE TABLE notifications (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    action_url TEXT NULL,
    read BIGINT NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
    read_at BIGINT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_by_user ON notifications (user_id);
CREATE INDEX notifications_by_read ON notifications (user_id, read);
CREATE INDEX notifications_by_created ON notifications (user_id, created_at);

-- ============================================================================================
-- beyond the seed: identity, security, operations
-- ============================================================================================

-- beyond the seed: external OAuth/OIDC identities linked to a user.
CREATE TABLE oauth_identities (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NULL,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NULL
);
CREATE UNIQUE INDEX oauth_identities_by_issuer_subject ON oauth_identities (issuer, subject);
CREATE INDEX oauth_identities_by_user ON oauth_identities (user_id);

-- beyond the seed: single-use 2FA recovery codes.
CREATE TABLE totp_recovery_codes (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL, -- SHA-256 hex of the recovery code
    used_at BIGINT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX totp_recovery_codes_by_code_hash ON totp_recovery_codes (code_hash);
CREATE INDEX totp_recovery_codes_by_user ON totp_recovery_codes (user_id);

-- beyond the seed: personal API tokens for /api/v1.
CREATE TABLE api_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL, -- SHA-256 hex of the API token
    scopes TEXT NOT NULL CHECK (scopes IN ('read', 'read write')),
    expires_at BIGINT NULL,
    last_used_at BIGINT NULL,
    revoked_at BIGINT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX api_tokens_by_token_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- beyond the seed: security-relevant events (logins, 2FA changes, admin actions, ...).
CREATE TABLE audit_log (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NULL REFERENCES users (id) ON DELETE SET NULL, -- subject of the event
    actor_id TEXT NULL REFERENCES users (id) ON DELETE SET NULL, -- who did it (staff, or the user)
    action TEXT NOT NULL,
    ip TEXT NULL,
    user_agent TEXT NULL,
    details TEXT NOT NULL DEFAULT '{}', -- JSON object
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_by_user ON audit_log (user_id, created_at);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id);
CREATE INDEX audit_log_by_action ON audit_log (action);
CREATE INDEX audit_log_by_created ON audit_log (created_at);

-- beyond the seed: one row per scheduled job, the holder of an unexpired lease runs it
-- (once cluster-wide).
CREATE TABLE job_leases (
    job_name TEXT NOT NULL PRIMARY KEY,
    holder TEXT NULL, -- instance id holding the lease
    lease_until BIGINT NOT NULL DEFAULT 0,
    next_run_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);

-- beyond the seed: history of job runs.
CREATE TABLE job_runs (
    id TEXT NOT NULL PRIMARY KEY,
    job_name TEXT NOT NULL,
    instance TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'failed')),
    counts TEXT NOT NULL DEFAULT '{}', -- JSON object, e.g. {"deleted": 3}
    error TEXT NULL
);
CREATE INDEX job_runs_by_job ON job_runs (job_name, started_at);
CREATE INDEX job_runs_by_started ON job_runs (started_at);

-- beyond the seed: transactional email outbox, delivered by a worker.
CREATE TABLE email_outbox (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NULL REFERENCES users (id) ON DELETE SET NULL,
    to_address TEXT NOT NULL,
    template TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NULL,
    last_error TEXT NULL,
    transactional BIGINT NOT NULL DEFAULT 1 CHECK (transactional IN (0, 1)),
    created_at BIGINT NOT NULL,
    sent_at BIGINT NULL
);
CREATE INDEX email_outbox_by_status ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_by_user ON email_outbox (user_id);
CREATE INDEX email_outbox_by_created ON email_outbox (created_at);

-- beyond the seed: safety-protocol triggers during coaching (crisis signposting).
CREATE TABLE safety_incidents (
    id TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NULL REFERENCES coaching_sessions (id) ON DELETE SET NULL,
    user_id TEXT NULL REFERENCES users (id) ON DELETE SET NULL,
    anonymous_id TEXT NULL,
    category TEXT NOT NULL CHECK (category IN ('self_harm', 'suicide', 'abuse', 'violence')),
    step TEXT NULL,
    country TEXT NULL, -- ISO 3166-1 alpha-2 used to choose helplines
    resolution TEXT NOT NULL DEFAULT 'open' CHECK (resolution IN ('open', 'resumed', 'closed')),
    created_at BIGINT NOT NULL,
    resolved_at BIGINT NULL
);
CREATE INDEX safety_incidents_by_session ON safety_incidents (session_id);
CREATE INDEX safety_incidents_by_user ON safety_incidents (user_id);
CREATE INDEX safety_incidents_by_created ON safety_incidents (created_at);

-- beyond the seed: webhook de-duplication (id = the provider's event id).
CREATE TABLE processed_webhook_events (
    id TEXT NOT NULL PRIMARY KEY,
    provider TEXT NOT NULL DEFAULT 'stripe',
    event_type TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT NULL
);
CREATE INDEX processed_webhook_events_by_received ON processed_webhook_events (received_at);

-- beyond the seed: cluster-wide fixed-window rate limits.
CREATE TABLE rate_limits (
    key TEXT NOT NULL PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    blocked_until BIGINT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_by_updated ON rate_limits (updated_at);

-- beyond the seed: Idempotency-Key support for mutating API requests.
CREATE TABLE idempotency_keys (
    id TEXT NOT NULL PRIMARY KEY,
    owner TEXT NOT NULL, -- user id or API token id the key belongs to
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL, -- SHA-256 hex of method + path + body
    response_status BIGINT NULL,
    response_body TEXT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX idempotency_keys_by_owner_key ON idempotency_keys (owner, idem_key);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at);
