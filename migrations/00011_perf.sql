-- +goose Up
-- Performance indexes (docs/PERFORMANCE.md).
--
-- Unread counts read every message of a chat after a participant's last
-- read and compare its sender: with the sender in the index that count
-- never touches the table. It replaces messages_chat_time, its prefix.
CREATE INDEX messages_chat_time_user ON messages(chat_id, created_at, user_id);
DROP INDEX messages_chat_time;

-- +goose Down
CREATE INDEX messages_chat_time ON messages(chat_id, created_at);
DROP INDEX messages_chat_time_user;
