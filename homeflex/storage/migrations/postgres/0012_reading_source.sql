-- Where each reading came from: the household's meter, or an uploaded file. A meter reading replaces an
-- upload's reading for the same time (an upload never replaces the meter's); existing rows came from meters.
ALTER TABLE readings ADD COLUMN source TEXT NOT NULL DEFAULT 'meter' CHECK (source IN ('meter', 'upload'));
