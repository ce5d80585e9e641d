-- +goose Up
-- A user's files, reels and the notifications they caused, found at once
-- when the account is deleted.
CREATE INDEX chat_files_user ON chat_files(user_id);
CREATE INDEX reels_user ON reels(user_id);
CREATE INDEX notifications_actor ON notifications(actor_id);

-- +goose Down
DROP INDEX notifications_actor;
DROP INDEX reels_user;
DROP INDEX chat_files_user;
