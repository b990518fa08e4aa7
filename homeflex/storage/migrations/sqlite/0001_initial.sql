-- Households enrolled with the VTN (the DSO's view: no devices here).
CREATE TABLE households (
    id          TEXT PRIMARY KEY,
    group_name  TEXT NOT NULL,
    category    TEXT NOT NULL CHECK (category IN ('A', 'B', 'C', 'D')),
    vulnerable  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

-- OpenADR VEN registrations; one VEN per household.
CREATE TABLE vens (
    ven_id          TEXT PRIMARY KEY,
    household_id    TEXT NOT NULL UNIQUE REFERENCES households (id),
    ven_name        TEXT NOT NULL,
    registration_id TEXT NOT NULL,
    fingerprint     TEXT,
    registered_at   TEXT NOT NULL
);

-- DSO flex events. status is the lifecycle; far/near/active/completed follow from the clock.
CREATE TABLE events (
    event_id            TEXT PRIMARY KEY,
    modification_number INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    start               TEXT NOT NULL,
    duration_s          INTEGER NOT NULL CHECK (duration_s > 0),
    reduction_kw        REAL NOT NULL CHECK (reduction_kw >= 0),
    price_gbp_per_mwh   REAL NOT NULL CHECK (price_gbp_per_mwh >= 0),
    created_at          TEXT NOT NULL,
    cancelled_at        TEXT
);

-- Who an event is for, and what each VEN answered (for which modification).
CREATE TABLE event_targets (
    event_id            TEXT NOT NULL REFERENCES events (event_id),
    household_id        TEXT NOT NULL REFERENCES households (id),
    sent_modification   INTEGER,
    acked_modification  INTEGER,
    opt_type            TEXT CHECK (opt_type IN ('optIn', 'optOut')),
    opt_at              TEXT,
    PRIMARY KEY (event_id, household_id)
);
CREATE INDEX event_targets_household ON event_targets (household_id);

-- OpenADR report requests the VTN made, so reports keep arriving after a VTN restart.
CREATE TABLE report_requests (
    report_request_id TEXT PRIMARY KEY,
    ven_id            TEXT NOT NULL REFERENCES vens (ven_id),
    created_at        TEXT NOT NULL
);

-- Values VENs reported over OpenADR (metered power, W).
CREATE TABLE ven_reports (
    ven_id            TEXT NOT NULL,
    r_id              TEXT NOT NULL,
    ts_ms             INTEGER NOT NULL,
    value             REAL NOT NULL,
    report_request_id TEXT NOT NULL,
    received_ms       INTEGER NOT NULL,
    PRIMARY KEY (ven_id, r_id, ts_ms)
) WITHOUT ROWID;

-- Raw meter readings: cumulative registers. ts = measured, received = when the platform got it.
CREATE TABLE readings (
    household_id TEXT NOT NULL,
    ts_ms        INTEGER NOT NULL,
    import_wh    REAL NOT NULL,
    export_wh    REAL NOT NULL,
    power_w      REAL NOT NULL,
    received_ms  INTEGER NOT NULL,
    PRIMARY KEY (household_id, ts_ms)
) WITHOUT ROWID;

-- Readings that failed validation, kept with the reason: nothing is dropped silently.
CREATE TABLE rejected_readings (
    id           INTEGER PRIMARY KEY,
    household_id TEXT,
    topic        TEXT NOT NULL,
    payload      BLOB NOT NULL,
    reason       TEXT NOT NULL,
    message      TEXT NOT NULL,
    received_ms  INTEGER NOT NULL
);

-- Settlement results per event, household and version (late data makes a new version).
CREATE TABLE settlements (
    event_id        TEXT NOT NULL REFERENCES events (event_id),
    household_id    TEXT NOT NULL REFERENCES households (id),
    version         INTEGER NOT NULL,
    status          TEXT NOT NULL,
    method          TEXT NOT NULL,
    baseline_kw     REAL,
    actual_kw       REAL,
    instructed_kwh  REAL NOT NULL,
    delivered_kwh   REAL NOT NULL,
    payment_gbp     TEXT NOT NULL,
    evidence        TEXT NOT NULL,
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (event_id, household_id, version)
);

-- Append-only payment ledger. Amounts are decimal strings in GBP.
CREATE TABLE ledger (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at         TEXT NOT NULL,
    event_id           TEXT NOT NULL,
    household_id       TEXT NOT NULL,
    settlement_version INTEGER NOT NULL,
    debit_account      TEXT NOT NULL,
    credit_account     TEXT NOT NULL,
    amount_gbp         TEXT NOT NULL,
    memo               TEXT NOT NULL,
    UNIQUE (event_id, household_id, settlement_version, debit_account, credit_account)
);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
