-- Custom models (ir create, Ollama's /api/create): a library entry that
-- shares its base's file and adds settings and LoRA adapters.

-- The name of the model it was made from; '' for a model of its own file.
-- A custom model repeats its base's location, digest and path, so a base
-- imported in place may now have several rows of one path.
ALTER TABLE models ADD COLUMN base TEXT NOT NULL DEFAULT '';
DROP INDEX models_path;
CREATE UNIQUE INDEX models_path ON models(path) WHERE location = 'path' AND base = '';

-- The Modelfile settings of a custom model (JSON of modelfile.File without
-- its adapters: system, template, parameters, messages, license).
CREATE TABLE model_settings (
    model_id TEXT PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    settings TEXT NOT NULL
) STRICT;

-- A custom model's adapters, in the order they apply. Their files are
-- blobs of the store, kept while any model refers to them.
CREATE TABLE model_adapters (
    model_id TEXT    NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    digest   TEXT    NOT NULL CHECK (length(digest) = 64),
    scale    REAL    NOT NULL,
    PRIMARY KEY (model_id, position)
) STRICT;

CREATE INDEX model_adapters_digest ON model_adapters(digest);
