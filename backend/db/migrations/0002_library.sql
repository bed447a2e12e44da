-- Library: installed models, their names, and the folders indexed in place.

CREATE TABLE library_folders (
    id       INTEGER PRIMARY KEY,
    path     TEXT    NOT NULL UNIQUE,  -- absolute, cleaned
    added_at INTEGER NOT NULL          -- unix milliseconds
) STRICT;

CREATE TABLE models (
    id             TEXT    PRIMARY KEY,             -- UUID
    name           TEXT    NOT NULL,                -- display name (also in model_names)
    digest         TEXT    NOT NULL DEFAULT '',     -- sha256, 64 lowercase hex; '' when not hashed (in place)
    size           INTEGER NOT NULL,                -- bytes
    location       TEXT    NOT NULL CHECK (location IN ('blob', 'path')),
    path           TEXT    NOT NULL DEFAULT '',     -- location 'path': absolute file path
    mtime          INTEGER NOT NULL DEFAULT 0,      -- location 'path': modification time (unix ns) at the last check
    folder_id      INTEGER REFERENCES library_folders(id) ON DELETE CASCADE,
    source         TEXT    NOT NULL DEFAULT '',     -- where it came from: a file path or a store URL
    architecture   TEXT    NOT NULL DEFAULT '',
    param_count    INTEGER NOT NULL DEFAULT 0,
    file_type      TEXT    NOT NULL DEFAULT '',
    context_length INTEGER NOT NULL DEFAULT 0,
    vocab_size     INTEGER NOT NULL DEFAULT 0,
    chat_template  TEXT    NOT NULL DEFAULT '',
    meta           TEXT    NOT NULL DEFAULT '{}',   -- JSON of library.Meta (quant mix, hyper-parameters, ...)
    added_at       INTEGER NOT NULL,                -- unix milliseconds
    last_used_at   INTEGER NOT NULL DEFAULT 0,
    missing        INTEGER NOT NULL DEFAULT 0 CHECK (missing IN (0, 1)),
    CHECK (location = 'blob' AND length(digest) = 64 OR location = 'path' AND path <> '')
) STRICT;

CREATE INDEX models_digest ON models(digest) WHERE digest <> '';
CREATE UNIQUE INDEX models_path ON models(path) WHERE location = 'path';
CREATE INDEX models_folder ON models(folder_id);

-- Every name a model answers to: its display name and its aliases. One
-- namespace, compared without regard to case.
CREATE TABLE model_names (
    name       TEXT    PRIMARY KEY COLLATE NOCASE,
    model_id   TEXT    NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX model_names_model ON model_names(model_id);
