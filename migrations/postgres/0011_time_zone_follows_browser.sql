-- 0010 kept every zone stored before it as chosen. Most were not: sign-in stored the browser's
-- zone, and the settings page filled its field with it, so saving the profile for any reason
-- stored it again. Kept as chosen, they would never follow the browser, which is what 0010 is
-- for. So every stored zone follows the browser until the person picks one in their settings
-- (the zone stays stored for reminders until the next sign-in names another).
UPDATE users SET time_zone_chosen = 0;
