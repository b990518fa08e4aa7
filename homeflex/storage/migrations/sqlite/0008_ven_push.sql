-- OpenADR 2.0b push: the endpoint a VEN gave at registration (oadrTransportAddress with
-- oadrHttpPullModel false). The VTN posts new events there and falls back to the VEN's polls.
CREATE TABLE ven_push (
    ven_id         TEXT PRIMARY KEY REFERENCES vens (ven_id),
    url            TEXT NOT NULL,
    registered_at  TEXT NOT NULL
);
