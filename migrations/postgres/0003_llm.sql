-- The LLM coach: one row per model call, for cost, latency and outcome (metrics, the per-session
-- totals staff see, and the per-person daily call budget). Never the prompt or the answer.
CREATE TABLE llm_calls (
    id TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NULL REFERENCES coaching_sessions (id) ON DELETE SET NULL,
    user_id TEXT NULL REFERENCES users (id) ON DELETE SET NULL,
    -- SHA-256 hex of the visitor id, so a visitor's budget can be counted without storing it
    anonymous_key TEXT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('turn', 'repair', 'report', 'check')),
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    latency_ms BIGINT NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'invalid', 'guarded', 'timeout', 'http_error', 'unreachable')),
    created_at BIGINT NOT NULL
);
CREATE INDEX llm_calls_by_session ON llm_calls (session_id);
CREATE INDEX llm_calls_by_user_created ON llm_calls (user_id, created_at);
CREATE INDEX llm_calls_by_anonymous_created ON llm_calls (anonymous_key, created_at);
