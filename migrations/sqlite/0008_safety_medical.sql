-- The safety screen recognises medical emergencies: incidents may record that category.
-- SQLite can't change a CHECK in place, so the table is rebuilt with its rows and indexes.
CREATE TABLE safety_incidents_new (
    id TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NULL REFERENCES coaching_sessions (id) ON DELETE SET NULL,
    user_id TEXT NULL REFERENCES users (id) ON DELETE SET NULL,
    anonymous_id TEXT NULL,
    category TEXT NOT NULL CHECK (category IN ('self_harm', 'suicide', 'abuse', 'violence', 'medical')),
    step TEXT NULL,
    country TEXT NULL, -- ISO 3166-1 alpha-2 used to choose helplines
    resolution TEXT NOT NULL DEFAULT 'open' CHECK (resolution IN ('open', 'resumed', 'closed')),
    created_at BIGINT NOT NULL,
    resolved_at BIGINT NULL
);
INSERT INTO safety_incidents_new (id, session_id, user_id, anonymous_id, category, step, country,
    resolution, created_at, resolved_at)
SELECT id, session_id, user_id, anonymous_id, category, step, country, resolution, created_at,
    resolved_at
FROM safety_incidents;
DROP TABLE safety_incidents;
ALTER TABLE safety_incidents_new RENAME TO safety_incidents;
CREATE INDEX safety_incidents_by_session ON safety_incidents (session_id);
CREATE INDEX safety_incidents_by_user ON safety_incidents (user_id);
CREATE INDEX safety_incidents_by_created ON safety_incidents (created_at);
