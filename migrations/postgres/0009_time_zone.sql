-- The person's time zone, an IANA name such as 'Europe/Berlin' (NULL: not chosen yet, read as
-- the browser's or UTC). Dates they write are days on their calendar; a due date ends with
-- their day, and reminders and calendar feeds use the same days.
ALTER TABLE users ADD COLUMN time_zone TEXT NULL;
