-- Vision: projector ("mmproj") files paired with models, images kept with
-- chat messages, and projector downloads that follow their model's.

-- A model's projector: a blob of the store (projector_digest) when copied,
-- a file used where it lies (projector_path) for a model imported in
-- place; both '' when the model reads text only.
ALTER TABLE models ADD COLUMN projector_digest TEXT NOT NULL DEFAULT ''
    CHECK (projector_digest = '' OR length(projector_digest) = 64);
ALTER TABLE models ADD COLUMN projector_path TEXT NOT NULL DEFAULT '';
CREATE INDEX models_projector ON models(projector_digest) WHERE projector_digest <> '';

-- The images a user attached to a message, in order. Bounded per image so
-- that one paste cannot swell the database without limit (the app shrinks
-- larger pictures before sending).
CREATE TABLE message_images (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position >= 0),
    mime       TEXT    NOT NULL,
    data       BLOB    NOT NULL CHECK (length(data) BETWEEN 1 AND 16777216),
    PRIMARY KEY (message_id, position)
) STRICT;

-- A projector download names the model download it belongs to; it starts
-- once that model is in the library and ends attached to it.
ALTER TABLE downloads ADD COLUMN projector_of TEXT NOT NULL DEFAULT '';
