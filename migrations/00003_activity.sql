-- +goose Up
-- Notifications, vibe score, and bucket membership (who may read which
-- change-feed bucket; also the audience of a chat's live events).

CREATE TABLE notifications (
    num          INTEGER PRIMARY KEY AUTOINCREMENT, -- stable integer id of the v1 API
    id           TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, -- recipient
    type         TEXT NOT NULL,  -- e.g. connection-request, connection-accepted, connection-declined, chat-join-request
    actor_id     TEXT NOT NULL DEFAULT '', -- who caused it
    subject_type TEXT NOT NULL DEFAULT '', -- connection, request, chat, …
    subject_id   TEXT NOT NULL DEFAULT '',
    chat_id      TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL DEFAULT '',
    read_at      INTEGER,
    dismissed_at INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX notifications_user ON notifications(user_id, created_at);
CREATE INDEX notifications_subject ON notifications(subject_id, type);

CREATE TABLE scores (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    score      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE score_actions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    action     TEXT NOT NULL,
    points     INTEGER NOT NULL,
    subject_id TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX score_actions_user ON score_actions(user_id, created_at);

-- Membership of shared buckets ("chat:<id>"). A user's own bucket
-- ("user:<id>") is implicit and never listed here.
CREATE TABLE bucket_members (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    bucket  TEXT NOT NULL,
    since   INTEGER NOT NULL,
    PRIMARY KEY (user_id, bucket)
) STRICT, WITHOUT ROWID;
CREATE INDEX bucket_members_bucket ON bucket_members(bucket, user_id);

-- +goose Down
DROP TABLE bucket_members;
DROP TABLE score_actions;
DROP TABLE scores;
DROP TABLE notifications;
