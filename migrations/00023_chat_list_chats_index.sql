-- +goose Up
-- The chat list reads, for every chat of the user, the chat's activity
-- time and the three versions the list keeps in memory by (store.ChatList):
-- with them in an index on the chat id, a chat is one index seek instead
-- of a seek in the id index and another in the table. A user in 100 chats
-- pays it 100 times per list; a message pays one index update more (its
-- touch of the chat row moves last_activity_at and messages_version).
CREATE INDEX chats_list ON chats(id, last_activity_at, members_version, messages_version, card_version);

-- +goose Down
DROP INDEX chats_list;
