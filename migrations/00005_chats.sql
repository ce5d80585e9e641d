-- +goose Up
-- Chats (one-to-one and group), their participants, messages and files,
-- events of event chats, join requests for restricted groups, reels and
-- their reactions, and the push outbox.

CREATE TABLE chats (
    id                TEXT PRIMARY KEY,
    creator_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_group          INTEGER NOT NULL,
    name              TEXT NOT NULL DEFAULT '',  -- groups only; one-to-one chats take the other user's
    name_key          TEXT NOT NULL DEFAULT '',  -- lower(name), for search
    category          TEXT NOT NULL DEFAULT '',
    restricted        INTEGER NOT NULL DEFAULT 0,
    allow_public_post INTEGER NOT NULL DEFAULT 1,
    photo             TEXT NOT NULL DEFAULT '',  -- media storage key
    tags              TEXT NOT NULL DEFAULT '[]', -- JSON [{tag, label}]
    meet_me_id        TEXT NOT NULL DEFAULT '',  -- one-to-one: the accepted connection it came from
    pair_key          TEXT UNIQUE,               -- one-to-one: min(user):max(user); NULL for groups
    last_activity_at  INTEGER NOT NULL,          -- creation or newest message: the list order
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX chats_group_name ON chats(is_group, name_key);

CREATE TABLE chat_participants (
    id           TEXT PRIMARY KEY,
    chat_id      TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_admin     INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT '' CHECK (status IN ('', 'accepted', 'rejected')), -- event attendance
    last_read_at INTEGER NOT NULL,
    joined_at    INTEGER NOT NULL,
    UNIQUE (chat_id, user_id)
) STRICT;
CREATE INDEX chat_participants_user ON chat_participants(user_id, chat_id);

CREATE TABLE messages (
    id         TEXT PRIMARY KEY,
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    text       TEXT NOT NULL DEFAULT '',
    tag        TEXT NOT NULL DEFAULT '',
    files      TEXT NOT NULL DEFAULT '[]', -- JSON [{_id, url, cover?, meta?}]
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX messages_chat ON messages(chat_id, id);
CREATE INDEX messages_chat_time ON messages(chat_id, created_at);

CREATE TABLE chat_files (
    id         TEXT PRIMARY KEY,
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type       TEXT NOT NULL CHECK (type IN ('video', 'audio', 'image', 'document', 'other')),
    tag        TEXT NOT NULL,
    url        TEXT NOT NULL,
    cover      TEXT NOT NULL DEFAULT '',
    meta       TEXT,   -- JSON, as the client sent it
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX chat_files_chat ON chat_files(chat_id, type, tag, id);

-- The event of a group chat with category Event; it goes with its chat.
CREATE TABLE chat_events (
    id         TEXT PRIMARY KEY,
    chat_id    TEXT NOT NULL UNIQUE REFERENCES chats(id) ON DELETE CASCADE,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    location   TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    CHECK (ends_at > starts_at)
) STRICT;

CREATE TABLE join_requests (
    id         TEXT PRIMARY KEY,
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
-- At most one pending request per user and chat.
CREATE UNIQUE INDEX join_requests_pending ON join_requests(chat_id, user_id) WHERE status = 'pending';
CREATE INDEX join_requests_user ON join_requests(user_id, id);
CREATE INDEX join_requests_chat ON join_requests(chat_id, id);

CREATE TABLE reels (
    id           TEXT PRIMARY KEY,
    chat_id      TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    description  TEXT NOT NULL DEFAULT '',
    tag          TEXT NOT NULL DEFAULT '',
    video        TEXT NOT NULL,
    hashtags     TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    is_anonymous INTEGER NOT NULL DEFAULT 0,
    views        INTEGER NOT NULL DEFAULT 0,
    shares       INTEGER NOT NULL DEFAULT 0,
    comments     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX reels_chat ON reels(chat_id, id);

CREATE TABLE reel_reactions (
    reel_id    TEXT NOT NULL REFERENCES reels(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('like', 'superlike', 'favorite')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (reel_id, user_id, kind)
) STRICT, WITHOUT ROWID;
CREATE INDEX reel_reactions_user ON reel_reactions(user_id, kind);

-- Device tokens a push sender delivers to.
CREATE TABLE push_devices (
    token      TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX push_devices_user ON push_devices(user_id);

-- Push notifications waiting for delivery, written in the transaction of
-- the write that caused them; a sender drains the due rows with retries.
CREATE TABLE push_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL DEFAULT '{}', -- JSON object of strings
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER, -- gave up after the last attempt
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX push_outbox_due ON push_outbox(next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- +goose Down
DROP TABLE push_outbox;
DROP TABLE push_devices;
DROP TABLE reel_reactions;
DROP TABLE reels;
DROP TABLE join_requests;
DROP TABLE chat_events;
DROP TABLE chat_files;
DROP TABLE messages;
DROP TABLE chat_participants;
DROP TABLE chats;
