-- PostgreSQL twin of sqlite/0006_portal.sql.
-- The portal: the customer journey with its audit trail, category history, accounts and sessions,
-- single-use links, information sessions, the email outbox, event skips and VEN provisioning.
-- Tokens are stored only as SHA-256 hashes; passwords only as argon2 hashes.
CREATE TABLE portal_customers (
    household_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES households (id),
    name          TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    postcode      TEXT NOT NULL,
    step          TEXT NOT NULL,
    since         TIMESTAMPTZ NOT NULL,
    left_from     TEXT,
    data          TEXT NOT NULL DEFAULT '{}',  -- JSON: owned technology, profile, plan, installer, visit
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE TABLE portal_audit (
    household_id  TEXT NOT NULL REFERENCES portal_customers (household_id),
    seq           INTEGER NOT NULL,
    from_step     TEXT,
    to_step       TEXT NOT NULL,
    actor         TEXT NOT NULL,
    role          TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (household_id, seq)
);
CREATE TABLE portal_categories (
    household_id  TEXT NOT NULL REFERENCES portal_customers (household_id),
    seq           INTEGER NOT NULL,
    category      TEXT NOT NULL CHECK (category IN ('A', 'B', 'C', 'D')),
    vulnerable    BOOLEAN NOT NULL,
    since         TIMESTAMPTZ NOT NULL,
    reason        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    PRIMARY KEY (household_id, seq)
);
CREATE TABLE portal_accounts (
    email          TEXT COLLATE "C" PRIMARY KEY,
    role           TEXT NOT NULL CHECK (role IN ('householder', 'installer', 'operator')),
    household_id   TEXT REFERENCES portal_customers (household_id),
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE TABLE portal_sessions (
    token_hash  TEXT COLLATE "C" PRIMARY KEY,
    email       TEXT NOT NULL REFERENCES portal_accounts (email),
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE portal_tokens (
    token_hash    TEXT COLLATE "C" PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('applicant', 'invite', 'reset')),
    email         TEXT NOT NULL,
    household_id  TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE TABLE portal_info_sessions (
    id          TEXT COLLATE "C" PRIMARY KEY,
    starts_at   TIMESTAMPTZ NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('face_to_face', 'online')),
    place       TEXT NOT NULL,
    capacity    INTEGER NOT NULL CHECK (capacity > 0),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE portal_bookings (
    session_id    TEXT NOT NULL REFERENCES portal_info_sessions (id),
    household_id  TEXT NOT NULL UNIQUE REFERENCES portal_customers (household_id),
    booked_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, household_id)
);
CREATE TABLE portal_outbox (
    id          TEXT COLLATE "C" PRIMARY KEY,
    to_email    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    send_after  TIMESTAMPTZ NOT NULL,  -- never overnight: the sender holds it until this time
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE portal_skips (
    event_id      TEXT NOT NULL REFERENCES events (event_id),
    household_id  TEXT NOT NULL REFERENCES households (id),
    at            TIMESTAMPTZ NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (event_id, household_id)
);
CREATE TABLE portal_vens (
    household_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES households (id),
    ven_id          TEXT NOT NULL UNIQUE,
    secret_hash     TEXT NOT NULL,
    provisioned_at  TIMESTAMPTZ NOT NULL,
    actor           TEXT NOT NULL
);
