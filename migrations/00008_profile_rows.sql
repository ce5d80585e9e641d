-- +goose Up
-- Profiles replicate as their own `user` rows into every bucket whose rows
-- mention the user; a profile change re-puts the row in each bucket that
-- holds it live. This index finds those buckets without scanning the feed.
CREATE INDEX changes_live_users ON changes(entity_id, bucket) WHERE entity = 'user' AND op = 'upsert';

-- Backfill for data written before: each chat bucket gets the profiles of
-- its participants and message senders; each user bucket those of the
-- users it has a connection record with and of the senders of join
-- requests to chats it administers, unless a block stands between them.
-- (The meet-me status is left out here; the user's next profile or status
-- change writes the full row.) Rows already present are kept.
INSERT OR IGNORE INTO changes (bucket, entity, entity_id, op, data, at)
SELECT m.bucket, 'user', u.id, 'upsert',
       CAST(json_patch(json_object('_id', u.id, 'name', u.name, 'username', u.username),
                       json_object('photo', NULLIF(u.photo, ''), 'bio', NULLIF(u.bio, ''))) AS BLOB),
       CAST(unixepoch('subsec') * 1000 AS INTEGER)
FROM (
    SELECT 'chat:' || chat_id AS bucket, user_id AS uid FROM chat_participants
    UNION
    SELECT 'chat:' || chat_id, user_id FROM messages
    UNION
    SELECT 'user:' || owner, other FROM (
        SELECT from_id AS owner, to_id AS other FROM connections
        UNION
        SELECT to_id, from_id FROM connections
        UNION
        SELECT p.user_id, r.user_id FROM join_requests r
        JOIN chat_participants p ON p.chat_id = r.chat_id AND p.is_admin = 1
        WHERE p.user_id <> r.user_id
    ) l
    WHERE NOT EXISTS (SELECT 1 FROM blocks b
                      WHERE (b.blocker_id = l.owner AND b.blocked_id = l.other)
                         OR (b.blocker_id = l.other AND b.blocked_id = l.owner))
) m
JOIN users u ON u.id = m.uid
ORDER BY m.bucket, u.id;

-- +goose Down
DROP INDEX changes_live_users;
