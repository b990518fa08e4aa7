-- PostgreSQL twin of sqlite/0003_profiles.sql.

-- Stage-1 household profiles: every version kept, never edited (a relearn adds a version).
-- JSON is text, not jsonb: the document must read back exactly as written, NaN included.
CREATE TABLE profiles (
    household_id TEXT COLLATE "C" NOT NULL REFERENCES households (id),
    version      INTEGER NOT NULL CHECK (version > 0),
    as_of        TIMESTAMPTZ NOT NULL,  -- the data the profile was learned from ends here
    learned_at   TIMESTAMPTZ NOT NULL,  -- when it was learned
    ready        BOOLEAN NOT NULL,      -- may the household leave stage 1 (manual)?
    reasons      TEXT NOT NULL,         -- JSON list of strings: failed checks, or the checks passed
    profile      TEXT NOT NULL,         -- JSON object (homeflex.profiles.profile_to_json)
    PRIMARY KEY (household_id, version)
);
CREATE FUNCTION profiles_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'profile versions are never edited' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER profiles_no_update BEFORE UPDATE ON profiles
    FOR EACH ROW EXECUTE FUNCTION profiles_refuse_update();
