-- +goose Up
-- members_version moves whenever what a chat list shows of a chat's
-- participants may have changed: a participant joined, left or changed
-- (admin, attendance status, last read time), or a participant's user
-- changed their name, username or photo. A server keeps each chat's
-- participants with their profiles in memory, keyed by this version,
-- which the list's page query reads with the chat row: a cached list is
-- used only when its version is the one in the same snapshot, so every
-- instance sharing the database sees the same lists.
ALTER TABLE chats ADD COLUMN members_version INTEGER NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE TRIGGER chat_participants_added_version AFTER INSERT ON chat_participants BEGIN
    UPDATE chats SET members_version = members_version + 1 WHERE id = NEW.chat_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chat_participants_removed_version AFTER DELETE ON chat_participants BEGIN
    UPDATE chats SET members_version = members_version + 1 WHERE id = OLD.chat_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chat_participants_changed_version AFTER UPDATE ON chat_participants BEGIN
    UPDATE chats SET members_version = members_version + 1 WHERE id IN (OLD.chat_id, NEW.chat_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_card_changed_version AFTER UPDATE OF name, username, photo ON users
WHEN OLD.name IS NOT NEW.name OR OLD.username IS NOT NEW.username OR OLD.photo IS NOT NEW.photo BEGIN
    UPDATE chats SET members_version = members_version + 1
    WHERE id IN (SELECT chat_id FROM chat_participants WHERE user_id = NEW.id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_card_changed_version;
DROP TRIGGER chat_participants_changed_version;
DROP TRIGGER chat_participants_removed_version;
DROP TRIGGER chat_participants_added_version;
ALTER TABLE chats DROP COLUMN members_version;
