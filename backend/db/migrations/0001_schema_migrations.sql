-- Foundation: a log of applied migrations. PRAGMA user_version is the source
-- of truth for the schema version; this table only records when and which
-- steps ran, to help diagnose a user's database.
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
