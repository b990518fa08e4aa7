-- PostgreSQL twin of sqlite/0010_household_configs.sql.

-- Household configurations (issue 14): every version of a household's configuration document
-- (homeflex.household.HouseholdConfig) the portal's profile saved, kept and never edited.
CREATE TABLE household_configs (
    household_id TEXT COLLATE "C" NOT NULL REFERENCES households (id),
    version      INTEGER NOT NULL CHECK (version > 0),
    saved_at     TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,         -- who saved it (an email, or the service)
    document     TEXT NOT NULL,         -- JSON object: HouseholdConfig.to_document(), "version" = version
    PRIMARY KEY (household_id, version)
);
CREATE FUNCTION household_configs_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'configuration versions are never edited' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER household_configs_no_update BEFORE UPDATE ON household_configs
    FOR EACH ROW EXECUTE FUNCTION household_configs_refuse_update();
