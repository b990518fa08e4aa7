-- PostgreSQL twin of sqlite/0002_programmes_and_runs.sql.

-- Flexibility programmes (products): how events under them are baselined and paid.
-- The JSON columns are text, not jsonb: jsonb reorders keys and refuses NaN, and the record must read
-- back exactly as it was written (on both backends).
CREATE TABLE programmes (
    id                         TEXT COLLATE "C" PRIMARY KEY,
    name                       TEXT NOT NULL,
    baseline_method            TEXT NOT NULL,
    baseline_params            TEXT NOT NULL DEFAULT '{}',   -- JSON
    adjustment                 TEXT NOT NULL DEFAULT '{}',   -- JSON; {} = no day-of adjustment
    payment_curve              TEXT NOT NULL DEFAULT '[]',   -- JSON [[ratio, factor], ...]; [] = pay delivered
    availability_gbp_per_mw_h  TEXT NOT NULL DEFAULT '0',    -- decimal string
    community_share            TEXT NOT NULL DEFAULT '0',    -- decimal fraction kept by the community
    created_at                 TIMESTAMPTZ NOT NULL
);
INSERT INTO programmes (id, name, baseline_method, created_at)
VALUES ('default', 'Utilisation only, same-day-type baseline', 'same_day_type', '2026-01-01T00:00:00Z');

ALTER TABLE events
    ADD COLUMN programme_id TEXT COLLATE "C" NOT NULL DEFAULT 'default' REFERENCES programmes (id);

-- What each party gets, and what the figures were computed from.
ALTER TABLE settlements
    ADD COLUMN household_gbp TEXT NOT NULL DEFAULT '0',
    ADD COLUMN community_gbp TEXT NOT NULL DEFAULT '0',
    ADD COLUMN inputs_sha256 TEXT NOT NULL DEFAULT '',
    ADD COLUMN parameters    TEXT NOT NULL DEFAULT '{}';

-- Energy per UTC half-hour, aggregated from the raw readings (refreshed when readings change).
CREATE TABLE period_energy (
    household_id TEXT COLLATE "C" NOT NULL,
    period_ms    BIGINT NOT NULL,
    net_kwh      DOUBLE PRECISION,  -- NULL: not measurable (gap)
    computed_ms  BIGINT NOT NULL,
    PRIMARY KEY (household_id, period_ms)
);

-- One row per settlement run, for the audit trail.
CREATE TABLE settlement_runs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at       TIMESTAMPTZ NOT NULL,
    period_start     TIMESTAMPTZ NOT NULL,
    period_end       TIMESTAMPTZ NOT NULL,
    events_settled   INTEGER NOT NULL,
    versions_written INTEGER NOT NULL
);
