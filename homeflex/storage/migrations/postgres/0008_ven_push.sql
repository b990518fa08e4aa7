-- PostgreSQL twin of sqlite/0008_ven_push.sql.

-- OpenADR 2.0b push: the endpoint a VEN gave at registration (oadrTransportAddress with
-- oadrHttpPullModel false). The VTN posts new events there and falls back to the VEN's polls.
CREATE TABLE ven_push (
    ven_id         TEXT COLLATE "C" PRIMARY KEY REFERENCES vens (ven_id),
    url            TEXT NOT NULL,
    registered_at  TIMESTAMPTZ NOT NULL
);
