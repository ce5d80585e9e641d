-- +goose Up
-- A one-to-one chat is one per pair. When a device proposed an id for the
-- pair's chat while another device's chat for the pair got there first,
-- the proposed id becomes an alias of the existing chat: the device's
-- queued writes naming it land in the existing chat (docs/sync.md).
CREATE TABLE chat_aliases (
    alias      TEXT PRIMARY KEY,
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX chat_aliases_chat ON chat_aliases(chat_id);

-- +goose Down
DROP TABLE chat_aliases;
