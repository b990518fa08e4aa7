-- Flexibility programmes (products): how events under them are baselined and paid.
CREATE TABLE programmes (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    baseline_method            TEXT NOT NULL,
    baseline_params            TEXT NOT NULL DEFAULT '{}',   -- JSON
    adjustment                 TEXT NOT NULL DEFAULT '{}',   -- JSON; {} = no day-of adjustment
    payment_curve              TEXT NOT NULL DEFAULT '[]',   -- JSON [[ratio, factor], ...]; [] = pay delivered
    availability_gbp_per_mw_h  TEXT NOT NULL DEFAULT '0',    -- decimal string
    community_share            TEXT NOT NULL DEFAULT '0',    -- decimal fraction kept by the community
    created_at                 TEXT NOT NULL
);
INSERT INTO programmes (id, name, baseline_method, created_at)
VALUES ('default', 'Utilisation only, same-day-type baseline', 'same_day_type', '2026-01-01T00:00:00Z');

ALTER TABLE events ADD COLUMN programme_id TEXT NOT NULL DEFAULT 'default' REFERENCES programmes (id);

-- What each party gets, and what the figures were computed from.
ALTER TABLE settlements ADD COLUMN household_gbp TEXT NOT NULL DEFAULT '0';
ALTER TABLE settlements ADD COLUMN community_gbp TEXT NOT NULL DEFAULT '0';
ALTER TABLE settlements ADD COLUMN inputs_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE settlements ADD COLUMN parameters TEXT NOT NULL DEFAULT '{}';

-- Energy per UTC half-hour, aggregated from the raw readings (refreshed when readings change).
CREATE TABLE period_energy (
    household_id TEXT NOT NULL,
    period_ms    INTEGER NOT NULL,
    net_kwh      REAL,            -- NULL: not measurable (gap)
    computed_ms  INTEGER NOT NULL,
    PRIMARY KEY (household_id, period_ms)
) WITHOUT ROWID;

-- One row per settlement run, for the audit trail.
CREATE TABLE settlement_runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at       TEXT NOT NULL,
    period_start     TEXT NOT NULL,
    period_end       TEXT NOT NULL,
    events_settled   INTEGER NOT NULL,
    versions_written INTEGER NOT NULL
);
