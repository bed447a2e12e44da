-- Chat history: conversations and their messages. Messages form a tree
-- (parent_id) so that an edited question or a regenerated answer becomes a
-- sibling branch instead of replacing what was there. A conversation
-- remembers the leaf of the branch on screen (current_leaf).
--
-- Integer primary keys alias the rowid, which the full-text index refers to;
-- a rowid that is not an alias may change on VACUUM and would break the
-- index.

CREATE TABLE conversations (
    id           INTEGER PRIMARY KEY,
    title        TEXT    NOT NULL DEFAULT '',
    model        TEXT    NOT NULL DEFAULT '',    -- the model name last chosen
    system       TEXT    NOT NULL DEFAULT '',    -- system prompt
    params       TEXT    NOT NULL DEFAULT '{}',  -- JSON of the generation parameters
    current_leaf INTEGER,                        -- a message id; NULL when empty
    created_at   INTEGER NOT NULL,               -- unix milliseconds
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX conversations_updated ON conversations(updated_at DESC);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES messages(id) ON DELETE CASCADE,  -- NULL: first message
    role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content         TEXT    NOT NULL DEFAULT '',
    model           TEXT    NOT NULL DEFAULT '',    -- assistant: the model that wrote it
    -- streaming: being written (a crash leaves it so; reopening marks it
    -- interrupted); done: complete; stopped: the user stopped it;
    -- error: generation failed (error says why).
    state           TEXT    NOT NULL DEFAULT 'done'
                    CHECK (state IN ('streaming', 'done', 'stopped', 'error', 'interrupted')),
    error           TEXT    NOT NULL DEFAULT '',
    stats           TEXT    NOT NULL DEFAULT '{}',  -- JSON of history.Stats
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_parent ON messages(parent_id);
CREATE INDEX messages_streaming ON messages(state) WHERE state = 'streaming';

-- Full-text search over message text. External content: the text lives once,
-- in messages; the triggers keep the index in step with every insert, update
-- and delete (including deletes by cascade).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
