-- Downloads from the model store. A row outlives the process so that a
-- download interrupted by a restart or a kill continues from its partial
-- file (downloads/<id>.partial).

CREATE TABLE downloads (
    id              TEXT    PRIMARY KEY,             -- UUID; names the partial file
    name            TEXT    NOT NULL,                -- the model name to register when done
    url             TEXT    NOT NULL,
    repo            TEXT    NOT NULL DEFAULT '',
    file            TEXT    NOT NULL DEFAULT '',
    expected_sha256 TEXT    NOT NULL DEFAULT '',     -- from the catalog or the store's API
    server_sha256   TEXT    NOT NULL DEFAULT '',     -- from the server's content hash header
    total           INTEGER NOT NULL DEFAULT 0,      -- bytes; 0 when unknown
    done_bytes      INTEGER NOT NULL DEFAULT 0,      -- advisory; the partial file is the truth
    etag            TEXT    NOT NULL DEFAULT '',     -- strong validator for If-Range
    last_modified   TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
    error           TEXT    NOT NULL DEFAULT '',
    model_id        TEXT    NOT NULL DEFAULT '',     -- the library model once imported
    created_at      INTEGER NOT NULL,                -- unix milliseconds
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX downloads_active ON downloads(url) WHERE state IN ('queued', 'running', 'paused', 'failed');
