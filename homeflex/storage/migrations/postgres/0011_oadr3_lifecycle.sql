-- PostgreSQL twin of sqlite/0010_oadr3_lifecycle.sql.

ALTER TABLE programmes ADD COLUMN oadr3_document TEXT;
ALTER TABLE programmes ADD COLUMN modified_at TIMESTAMPTZ;

ALTER TABLE events ADD COLUMN event_name TEXT;
ALTER TABLE events ADD COLUMN oadr3_document TEXT;
ALTER TABLE events ADD COLUMN modified_at TIMESTAMPTZ;
ALTER TABLE events ADD COLUMN ends_ms BIGINT;
UPDATE events SET ends_ms = (extract(epoch FROM start) * 1000)::bigint + duration_s * 1000;

CREATE INDEX events_page ON events (start, event_id);
CREATE INDEX events_programme_page ON events (programme_id, start, event_id);
CREATE INDEX events_ends ON events (ends_ms);
