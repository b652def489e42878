-- The safety screen recognises medical emergencies: incidents may record that category.
ALTER TABLE safety_incidents DROP CONSTRAINT safety_incidents_category_check;
ALTER TABLE safety_incidents ADD CONSTRAINT safety_incidents_category_check
    CHECK (category IN ('self_harm', 'suicide', 'abuse', 'violence', 'medical'));
