-- +goose Up
-- Account lifecycle: sessions a user can list and end, and deleted
-- accounts (docs/DECISIONS.md, "Account deletion").

-- The device label sent at login ("Pixel 8 / vibesync 1.4"), when the
-- session last got tokens (login or refresh), and why it ended:
-- '' (logout, ended by the user, password change, reused refresh token)
-- or 'account_deleted'.
ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
ALTER TABLE sessions ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';

-- A deleted account keeps its row as the "deleted user" identity its
-- kept messages point to; deleted_at is set and every personal field is
-- cleared. username_key stays reserved for the grace period, then is
-- released (rewritten to '#' || id, which no valid username can equal).
ALTER TABLE users ADD COLUMN deleted_at INTEGER;

-- A user's own messages, for deletion and export.
CREATE INDEX messages_user ON messages(user_id, id);

-- +goose Down
DROP INDEX messages_user;
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE sessions DROP COLUMN end_reason;
ALTER TABLE sessions DROP COLUMN last_used_at;
ALTER TABLE sessions DROP COLUMN client;
