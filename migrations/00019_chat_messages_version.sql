-- +goose Up
-- messages_version moves whenever what a chat list shows of a chat's
-- messages may have changed: a message was sent, deleted or changed. A
-- server keeps each chat's newest message and its recent messages' times
-- and senders in memory, keyed by this version, which the list reads with
-- the chat row in the request's own snapshot (as members_version,
-- migration 00017): a kept summary is used only at the version it was
-- read at, so every instance sharing the database gives the same newest
-- message and unread counts. The send path's touch of the chat row does
-- both in one statement.
ALTER TABLE chats ADD COLUMN messages_version INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER messages_touch_chat;

-- +goose StatementBegin
CREATE TRIGGER messages_touch_chat AFTER INSERT ON messages BEGIN
    UPDATE chats SET last_activity_at = max(last_activity_at, NEW.created_at), messages_version = messages_version + 1
    WHERE id = NEW.chat_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_removed_version AFTER DELETE ON messages BEGIN
    UPDATE chats SET messages_version = messages_version + 1 WHERE id = OLD.chat_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_changed_version AFTER UPDATE ON messages BEGIN
    UPDATE chats SET messages_version = messages_version + 1 WHERE id IN (OLD.chat_id, NEW.chat_id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER messages_changed_version;
DROP TRIGGER messages_removed_version;
DROP TRIGGER messages_touch_chat;

-- +goose StatementBegin
CREATE TRIGGER messages_touch_chat AFTER INSERT ON messages BEGIN
    UPDATE chats SET last_activity_at = max(last_activity_at, NEW.created_at) WHERE id = NEW.chat_id;
END;
-- +goose StatementEnd

ALTER TABLE chats DROP COLUMN messages_version;
