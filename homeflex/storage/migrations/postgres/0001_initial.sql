-- PostgreSQL twin of sqlite/0001_initial.sql: the same tables and columns, with native types.
-- Times the Python side handles as datetimes are timestamptz; times it handles as epoch ms stay BIGINT.
-- Identifiers compare and sort bytewise (COLLATE "C"), as in SQLite, whatever the database's locale.
-- Money stays decimal text: the string the caller stored is the string it reads back.

-- Households enrolled with the VTN (the DSO's view: no devices here).
CREATE TABLE households (
    id          TEXT COLLATE "C" PRIMARY KEY,
    group_name  TEXT COLLATE "C" NOT NULL,
    category    TEXT NOT NULL CHECK (category IN ('A', 'B', 'C', 'D')),
    vulnerable  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL
);

-- OpenADR VEN registrations; one VEN per household.
CREATE TABLE vens (
    ven_id          TEXT COLLATE "C" PRIMARY KEY,
    household_id    TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES households (id),
    ven_name        TEXT NOT NULL,
    registration_id TEXT NOT NULL,
    fingerprint     TEXT,
    registered_at   TIMESTAMPTZ NOT NULL
);

-- DSO flex events. status is the lifecycle; far/near/active/completed follow from the clock.
CREATE TABLE events (
    event_id            TEXT COLLATE "C" PRIMARY KEY,
    modification_number INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    start               TIMESTAMPTZ NOT NULL,
    duration_s          INTEGER NOT NULL CHECK (duration_s > 0),
    reduction_kw        DOUBLE PRECISION NOT NULL CHECK (reduction_kw >= 0),
    price_gbp_per_mwh   DOUBLE PRECISION NOT NULL CHECK (price_gbp_per_mwh >= 0),
    created_at          TIMESTAMPTZ NOT NULL,
    cancelled_at        TIMESTAMPTZ
);

-- Who an event is for, and what each VEN answered (for which modification).
CREATE TABLE event_targets (
    event_id            TEXT COLLATE "C" NOT NULL REFERENCES events (event_id),
    household_id        TEXT COLLATE "C" NOT NULL REFERENCES households (id),
    sent_modification   INTEGER,
    acked_modification  INTEGER,
    opt_type            TEXT CHECK (opt_type IN ('optIn', 'optOut')),
    opt_at              TIMESTAMPTZ,
    PRIMARY KEY (event_id, household_id)
);
CREATE INDEX event_targets_household ON event_targets (household_id);

-- OpenADR report requests the VTN made, so reports keep arriving after a VTN restart.
CREATE TABLE report_requests (
    report_request_id TEXT COLLATE "C" PRIMARY KEY,
    ven_id            TEXT COLLATE "C" NOT NULL REFERENCES vens (ven_id),
    created_at        TIMESTAMPTZ NOT NULL
);

-- Values VENs reported over OpenADR (metered power, W).
CREATE TABLE ven_reports (
    ven_id            TEXT COLLATE "C" NOT NULL,
    r_id              TEXT COLLATE "C" NOT NULL,
    ts_ms             BIGINT NOT NULL,
    value             DOUBLE PRECISION NOT NULL,
    report_request_id TEXT NOT NULL,
    received_ms       BIGINT NOT NULL,
    PRIMARY KEY (ven_id, r_id, ts_ms)
);

-- Raw meter readings: cumulative registers. ts = measured, received = when the platform got it.
CREATE TABLE readings (
    household_id TEXT COLLATE "C" NOT NULL,
    ts_ms        BIGINT NOT NULL,
    import_wh    DOUBLE PRECISION NOT NULL,
    export_wh    DOUBLE PRECISION NOT NULL,
    power_w      DOUBLE PRECISION NOT NULL,
    received_ms  BIGINT NOT NULL,
    PRIMARY KEY (household_id, ts_ms)
);

-- Readings that failed validation, kept with the reason: nothing is dropped silently.
CREATE TABLE rejected_readings (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    household_id TEXT COLLATE "C",
    topic        TEXT NOT NULL,
    payload      BYTEA NOT NULL,
    reason       TEXT NOT NULL,
    message      TEXT NOT NULL,
    received_ms  BIGINT NOT NULL
);

-- Settlement results per event, household and version (late data makes a new version).
CREATE TABLE settlements (
    event_id        TEXT COLLATE "C" NOT NULL REFERENCES events (event_id),
    household_id    TEXT COLLATE "C" NOT NULL REFERENCES households (id),
    version         INTEGER NOT NULL,
    status          TEXT NOT NULL,
    method          TEXT NOT NULL,
    baseline_kw     DOUBLE PRECISION,
    actual_kw       DOUBLE PRECISION,
    instructed_kwh  DOUBLE PRECISION NOT NULL,
    delivered_kwh   DOUBLE PRECISION NOT NULL,
    payment_gbp     TEXT NOT NULL,
    evidence        TEXT NOT NULL,  -- JSON, kept byte for byte (it may hold NaN, which jsonb refuses)
    computed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, household_id, version)
);
CREATE INDEX settlements_household_computed ON settlements (household_id, computed_at);

-- Append-only payment ledger. Amounts are decimal strings in GBP.
CREATE TABLE ledger (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at         TIMESTAMPTZ NOT NULL,
    event_id           TEXT COLLATE "C" NOT NULL,
    household_id       TEXT COLLATE "C" NOT NULL,
    settlement_version INTEGER NOT NULL,
    debit_account      TEXT COLLATE "C" NOT NULL,
    credit_account     TEXT COLLATE "C" NOT NULL,
    amount_gbp         TEXT NOT NULL,
    memo               TEXT NOT NULL,
    UNIQUE (event_id, household_id, settlement_version, debit_account, credit_account)
);
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
