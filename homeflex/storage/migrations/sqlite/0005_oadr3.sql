-- OpenADR 3.1 beside 2.0b (homeflex/vtn/oadr3/). Programs are the programmes table and events the events
-- table; what 3.1 has beyond 2.0b is kept here.

-- OAuth2 client credentials: 'ven' clients act for one household's VEN, 'bl' clients are the DSO's systems.
CREATE TABLE oadr3_clients (
    client_id     TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,       -- hex SHA-256 of the (random, high-entropy) secret
    role          TEXT NOT NULL CHECK (role IN ('ven', 'bl')),
    created_at    TEXT NOT NULL
);

-- 3.1 VENs (id = the household id), resources, subscriptions and reports as the JSON the API serves.
-- Report values are also written to ven_reports, where 2.0b reports land.
CREATE TABLE oadr3_objects (
    object_type  TEXT NOT NULL CHECK (object_type IN ('VEN', 'RESOURCE', 'SUBSCRIPTION', 'REPORT')),
    id           TEXT NOT NULL,
    client_id    TEXT NOT NULL,        -- the client that owns it (read_ven_objects)
    document     TEXT NOT NULL,        -- JSON object, without the metadata columns below
    created_at   TEXT NOT NULL,
    modified_at  TEXT NOT NULL,
    PRIMARY KEY (object_type, id)
);
