-- +goose Up
-- Presence: one row per open WebSocket on any instance. The instance that
-- holds the socket refreshes expires_at on a heartbeat; a row whose
-- instance died simply expires, so a user is online while at least one
-- unexpired row names them.
CREATE TABLE presence (
    socket     TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    instance   TEXT NOT NULL,
    expires_at INTEGER NOT NULL -- unix milliseconds
) STRICT, WITHOUT ROWID;
CREATE INDEX presence_user ON presence(user_id, expires_at);
CREATE INDEX presence_instance ON presence(instance);

-- Every change of bucket_members, however it is written (including
-- cascades), so each instance's tailer can drop its cached audience of
-- that bucket: a socket stops getting a chat's events once its user left.
CREATE TABLE bucket_member_changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    at     INTEGER NOT NULL -- unix milliseconds (wall clock of the writer)
) STRICT;
CREATE INDEX bucket_member_changes_at ON bucket_member_changes(at);

-- +goose StatementBegin
CREATE TRIGGER bucket_members_added AFTER INSERT ON bucket_members BEGIN
    INSERT INTO bucket_member_changes (bucket, at) VALUES (NEW.bucket, NEW.since);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER bucket_members_removed AFTER DELETE ON bucket_members BEGIN
    INSERT INTO bucket_member_changes (bucket, at) VALUES (OLD.bucket, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER bucket_members_moved AFTER UPDATE OF bucket, user_id ON bucket_members BEGIN
    INSERT INTO bucket_member_changes (bucket, at) VALUES (OLD.bucket, NEW.since);
    INSERT INTO bucket_member_changes (bucket, at) VALUES (NEW.bucket, NEW.since);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER bucket_members_moved;
DROP TRIGGER bucket_members_removed;
DROP TRIGGER bucket_members_added;
DROP TABLE bucket_member_changes;
DROP TABLE presence;
