-- +goose Up
-- The social graph: follows, blocks, meet-me statuses and connections.

CREATE TABLE follows (
    follower_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    followee_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX follows_followee ON follows(followee_id, follower_id);

CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX blocks_blocked ON blocks(blocked_id, blocker_id);

-- A user's meet-me status: at most one, absent once expires_at has passed.
CREATE TABLE user_statuses (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    id         TEXT NOT NULL UNIQUE,
    text       TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- One connection record per pair of users, whichever direction it was
-- sent. num is the stable integer id of the v1 API; id the 24-hex id of
-- the documented API.
CREATE TABLE connections (
    num           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    from_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    to_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pair_key      TEXT NOT NULL UNIQUE, -- min(from_id, to_id) || ':' || max(from_id, to_id)
    status        TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined')),
    message       TEXT NOT NULL DEFAULT '',
    status_detail TEXT NOT NULL DEFAULT '', -- the meet-me status id the request answers
    created_at    INTEGER NOT NULL,
    accepted_at   INTEGER,
    responded_at  INTEGER,
    updated_at    INTEGER NOT NULL,
    CHECK (from_id <> to_id)
) STRICT;
CREATE INDEX connections_from ON connections(from_id, status, created_at);
CREATE INDEX connections_to ON connections(to_id, status, created_at);

-- +goose Down
DROP TABLE connections;
DROP TABLE user_statuses;
DROP TABLE blocks;
DROP TABLE follows;
