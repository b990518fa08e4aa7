-- OpenADR 3.1 programs and events as first-class objects (issue 16): what the 3.1 document stores beyond
-- the 2.0b columns, when they were last modified, and what list queries filter and page on.

-- The program's 3.1 document (descriptions, interval period, payload descriptors, targets, attributes, ...)
-- beside the settlement columns; NULL for a programme made only by the operator.
ALTER TABLE programmes ADD COLUMN oadr3_document TEXT;
ALTER TABLE programmes ADD COLUMN modified_at TEXT;

-- An event's name, its 3.1 document as given (NULL: made by the operator API), its last modification
-- and its end in ms, so `active` is an indexed comparison rather than arithmetic on every row.
ALTER TABLE events ADD COLUMN event_name TEXT;
ALTER TABLE events ADD COLUMN oadr3_document TEXT;
ALTER TABLE events ADD COLUMN modified_at TEXT;
ALTER TABLE events ADD COLUMN ends_ms INTEGER;
UPDATE events SET ends_ms = CAST(strftime('%s', start) AS INTEGER) * 1000 + duration_s * 1000;

-- GET /events pages in (start, event_id) order, optionally of one program.
CREATE INDEX events_page ON events (start, event_id);
CREATE INDEX events_programme_page ON events (programme_id, start, event_id);
CREATE INDEX events_ends ON events (ends_ms);
