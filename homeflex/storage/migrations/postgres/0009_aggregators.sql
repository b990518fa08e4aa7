-- PostgreSQL twin of sqlite/0009_aggregators.sql.

-- Aggregators (issue 7): one VEN for a portfolio of households. An aggregator is itself a household
-- row (its own account, category A), so its VEN registers like any other; its members are households
-- (resources) it runs, each in at most one portfolio, with the flexibility it offered in kW.
CREATE TABLE aggregators (
    id          TEXT COLLATE "C" PRIMARY KEY REFERENCES households (id),
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE portfolio_members (
    aggregator_id  TEXT COLLATE "C" NOT NULL REFERENCES aggregators (id),
    household_id   TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES households (id),
    offered_kw     DOUBLE PRECISION NOT NULL CHECK (offered_kw >= 0),
    joined_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (aggregator_id, household_id)
);
