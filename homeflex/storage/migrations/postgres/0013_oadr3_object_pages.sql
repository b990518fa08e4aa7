-- PostgreSQL twin of sqlite/0013_oadr3_object_pages.sql: OpenADR 3.1 list operations page VENs,
-- resources, subscriptions and reports in SQL (issue 16): in (created_at, id) order per object type, for
-- business logic; per owning client, for a VEN client's VEN, subscriptions and reports; and a VEN
-- client's resources by their VEN (the document's venID, the expression the query uses).
CREATE INDEX oadr3_objects_page ON oadr3_objects (object_type, created_at, id);
CREATE INDEX oadr3_objects_owner_page ON oadr3_objects (object_type, client_id, created_at, id);
CREATE INDEX oadr3_objects_ven ON oadr3_objects (object_type, (document::jsonb ->> 'venID'));
