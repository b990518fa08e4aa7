-- The outbox's delivery over SMTP (homeflex/portal/mailer.py), at most once: a message is claimed
-- (claimed_at) before it is handed to the SMTP server and marked sent_at once the server took it. A
-- claim without sent_at or failed_at after a crash is "in doubt" and never sent again by itself.
ALTER TABLE portal_outbox ADD COLUMN claimed_at TEXT;
ALTER TABLE portal_outbox ADD COLUMN sent_at TEXT;
ALTER TABLE portal_outbox ADD COLUMN failed_at TEXT;  -- the server refused it for good (5xx)
ALTER TABLE portal_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE portal_outbox ADD COLUMN last_error TEXT;
