-- Whether the person chose their time zone (1) or it follows their browser (0): the zone a
-- browser names at sign-in is stored for reminders and calendar feeds, and replaced at the next
-- sign-in from another zone, until the person picks one in their settings. Zones stored before
-- this migration are kept as chosen, so that no one's setting changes under them.
ALTER TABLE users ADD COLUMN time_zone_chosen BIGINT NOT NULL DEFAULT 0 CHECK (time_zone_chosen IN (0, 1));
UPDATE users SET time_zone_chosen = 1 WHERE time_zone IS NOT NULL;
