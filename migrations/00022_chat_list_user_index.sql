-- +goose Up
-- The chat list reads, for every chat of the user, the chat id and the
-- user's read mark (store.ChatList). With the read mark in the user's
-- index the list reads the user's entries, which lie together, instead of
-- one participants row per chat, which lie apart (one table seek per chat,
-- and for a user in 100 chats most of them outside the page cache). Marking
-- a chat read updates this index as it already updates
-- chat_participants_read.
DROP INDEX chat_participants_user;
CREATE INDEX chat_participants_user ON chat_participants(user_id, chat_id, last_read_at);

-- +goose Down
DROP INDEX chat_participants_user;
CREATE INDEX chat_participants_user ON chat_participants(user_id, chat_id);
