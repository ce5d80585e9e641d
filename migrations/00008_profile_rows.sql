-- +goose Up
-- Profiles replicate as their own `user` rows into every bucket whose rows
-- mention the user; a profile change re-puts the row in each bucket that
-- holds it live. This index finds those buckets without scanning the feed.
CREATE INDEX changes_live_users ON changes(entity_id, bucket) WHERE entity = 'user' AND op = 'upsert';

-- +goose Down
DROP INDEX changes_live_users;
