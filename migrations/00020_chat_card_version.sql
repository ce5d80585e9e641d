-- +goose Up
-- card_version moves whenever what a chat list shows of a chat itself may
-- have changed: its row (name, category, photo, tags, settings, …) or its
-- event. A server keeps each chat's row and event in memory, keyed by
-- this version, which the list reads in the request's own snapshot (as
-- members_version, migration 00017). A new message moves the chat's
-- activity time and messages_version, not this.
ALTER TABLE chats ADD COLUMN card_version INTEGER NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE TRIGGER chats_card_changed_version AFTER UPDATE OF creator_id, is_group, name, name_key, category, restricted,
    allow_public_post, photo, tags, meet_me_id, pair_key, created_at, updated_at ON chats BEGIN
    UPDATE chats SET card_version = card_version + 1 WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chat_events_added_version AFTER INSERT ON chat_events BEGIN
    UPDATE chats SET card_version = card_version + 1 WHERE id = NEW.chat_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chat_events_removed_version AFTER DELETE ON chat_events BEGIN
    UPDATE chats SET card_version = card_version + 1 WHERE id = OLD.chat_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chat_events_changed_version AFTER UPDATE ON chat_events BEGIN
    UPDATE chats SET card_version = card_version + 1 WHERE id IN (OLD.chat_id, NEW.chat_id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER chat_events_changed_version;
DROP TRIGGER chat_events_removed_version;
DROP TRIGGER chat_events_added_version;
DROP TRIGGER chats_card_changed_version;
ALTER TABLE chats DROP COLUMN card_version;
