-- Household configurations (issue 14): every version of a household's configuration document
-- (homeflex.household.HouseholdConfig) the portal's profile saved, kept and never edited.
CREATE TABLE household_configs (
    household_id TEXT NOT NULL REFERENCES households (id),
    version      INTEGER NOT NULL CHECK (version > 0),
    saved_at     TEXT NOT NULL,
    actor        TEXT NOT NULL,     -- who saved it (an email, or the service)
    document     TEXT NOT NULL,     -- JSON object: HouseholdConfig.to_document(), "version" = version
    PRIMARY KEY (household_id, version)
);
CREATE TRIGGER household_configs_no_update BEFORE UPDATE ON household_configs
BEGIN SELECT RAISE(ABORT, 'configuration versions are never edited'); END;
