-- +goose Up
-- Sending a message reads the latest last_read_at of the chat's
-- participants (the new message must come after it): with this index
-- max() is one seek instead of a step through every participant.
CREATE INDEX chat_participants_read ON chat_participants(chat_id, last_read_at);

-- A new message moves its chat's activity time in the same statement as
-- the insert (it was a statement of its own).
-- +goose StatementBegin
CREATE TRIGGER messages_touch_chat AFTER INSERT ON messages BEGIN
    UPDATE chats SET last_activity_at = max(last_activity_at, NEW.created_at) WHERE id = NEW.chat_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER messages_touch_chat;
DROP INDEX chat_participants_read;
