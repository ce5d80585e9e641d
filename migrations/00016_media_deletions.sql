-- +goose Up
-- Uploaded files to delete from the media store: written in the same
-- transaction as the deletion of the rows that named them, removed once
-- the store has deleted the file, so a crash or a store that cannot be
-- reached after the commit never leaves a file behind for good.
CREATE TABLE media_deletions (
    key             TEXT PRIMARY KEY,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX media_deletions_due ON media_deletions(next_attempt_at);

-- +goose Down
DROP TABLE media_deletions;
