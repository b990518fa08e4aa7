-- Stage-1 household profiles: every version kept, never edited (a relearn adds a version).
CREATE TABLE profiles (
    household_id TEXT NOT NULL REFERENCES households (id),
    version      INTEGER NOT NULL CHECK (version > 0),
    as_of        TEXT NOT NULL,     -- the data the profile was learned from ends here
    learned_at   TEXT NOT NULL,     -- when it was learned
    ready        INTEGER NOT NULL,  -- 0/1: may the household leave stage 1 (manual)?
    reasons      TEXT NOT NULL,     -- JSON list of strings: failed checks, or the checks passed
    profile      TEXT NOT NULL,     -- JSON object (homeflex.profiles.profile_to_json)
    PRIMARY KEY (household_id, version)
);
CREATE TRIGGER profiles_no_update BEFORE UPDATE ON profiles
BEGIN SELECT RAISE(ABORT, 'profile versions are never edited'); END;
