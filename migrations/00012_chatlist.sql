-- +goose Up
-- Covering indexes for the chat list (GET /chats): a page's participants
-- with their profiles are read from the indexes alone, without a lookup
-- of each table row.
CREATE INDEX chat_participants_list ON chat_participants(chat_id, joined_at, id, user_id, is_admin, status, last_read_at);
CREATE INDEX users_card ON users(id, name, username, photo);

-- +goose Down
DROP INDEX users_card;
DROP INDEX chat_participants_list;
