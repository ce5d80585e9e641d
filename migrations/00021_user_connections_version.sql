-- +goose Up
-- connections_version moves whenever what a user's connection list shows
-- may have changed: a record with the user on either side was added,
-- removed or changed; a block was made or lifted by or against the user;
-- or the user, or anyone with a record with the user, changed their name,
-- username, photo or bio, or deleted their account. A server keeps each
-- user's list in memory, keyed by this version, which a list request
-- reads in its own snapshot: a kept list is used only at the version it
-- was read at, so every instance sharing the database gives the answer
-- the database gives.
ALTER TABLE users ADD COLUMN connections_version INTEGER NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE TRIGGER connections_added_version AFTER INSERT ON connections BEGIN
    UPDATE users SET connections_version = connections_version + 1 WHERE id IN (NEW.from_id, NEW.to_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER connections_removed_version AFTER DELETE ON connections BEGIN
    UPDATE users SET connections_version = connections_version + 1 WHERE id IN (OLD.from_id, OLD.to_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER connections_changed_version AFTER UPDATE ON connections BEGIN
    UPDATE users SET connections_version = connections_version + 1
    WHERE id IN (OLD.from_id, OLD.to_id, NEW.from_id, NEW.to_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER blocks_added_version AFTER INSERT ON blocks BEGIN
    UPDATE users SET connections_version = connections_version + 1 WHERE id IN (NEW.blocker_id, NEW.blocked_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER blocks_removed_version AFTER DELETE ON blocks BEGIN
    UPDATE users SET connections_version = connections_version + 1 WHERE id IN (OLD.blocker_id, OLD.blocked_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER blocks_changed_version AFTER UPDATE ON blocks BEGIN
    UPDATE users SET connections_version = connections_version + 1
    WHERE id IN (OLD.blocker_id, OLD.blocked_id, NEW.blocker_id, NEW.blocked_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_profile_changed_connections_version AFTER UPDATE OF name, username, photo, bio, deleted_at ON users
WHEN OLD.name IS NOT NEW.name OR OLD.username IS NOT NEW.username OR OLD.photo IS NOT NEW.photo
    OR OLD.bio IS NOT NEW.bio OR OLD.deleted_at IS NOT NEW.deleted_at BEGIN
    UPDATE users SET connections_version = connections_version + 1
    WHERE id = NEW.id
       OR id IN (SELECT to_id FROM connections WHERE from_id = NEW.id
                 UNION ALL SELECT from_id FROM connections WHERE to_id = NEW.id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_profile_changed_connections_version;
DROP TRIGGER blocks_changed_version;
DROP TRIGGER blocks_removed_version;
DROP TRIGGER blocks_added_version;
DROP TRIGGER connections_changed_version;
DROP TRIGGER connections_removed_version;
DROP TRIGGER connections_added_version;
ALTER TABLE users DROP COLUMN connections_version;
