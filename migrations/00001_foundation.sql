-- +goose Up
-- Key/value settings the server keeps for itself (e.g. the generated token secret).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE, -- lower(username): unique ignoring case
    password_hash TEXT NOT NULL,
    bio           TEXT NOT NULL DEFAULT '',
    photo         TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,     -- unix milliseconds, UTC
    updated_at    INTEGER NOT NULL
) STRICT;

-- A login: one refresh-token family. Revoking it kills its access tokens too.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);

-- Refresh tokens are stored as SHA-256 hashes; each may be used once.
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

-- The change feed, compacted: one row per (bucket, entity, entity_id), given a
-- new seq on every write (INSERT OR REPLACE draws a fresh AUTOINCREMENT key).
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    data      BLOB,
    at        INTEGER NOT NULL,
    UNIQUE (bucket, entity, entity_id)
) STRICT;
CREATE INDEX changes_bucket_seq ON changes(bucket, seq);
CREATE INDEX changes_tombstones ON changes(at) WHERE op = 'delete';

-- Live events, appended in the same transaction as the write that caused
-- them; every instance tails this table and fans out to its own sockets.
-- target is a bucket name: "user:<id>" or "chat:<id>".
CREATE TABLE live_events (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    event  TEXT NOT NULL,
    data   BLOB NOT NULL,
    socket TEXT NOT NULL DEFAULT '', -- socket id excluded from the fan-out
    at     INTEGER NOT NULL
) STRICT;
CREATE INDEX live_events_at ON live_events(at);

-- +goose Down
DROP TABLE live_events;
DROP TABLE changes;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE settings;
