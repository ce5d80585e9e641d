-- +goose Up
-- Sync protocol state: which mutations each client replica has had
-- processed (so a retried push never applies twice), and how far tombstones
-- have been pruned from the feed (a cursor older than that must reset).

-- One row per client replica, bound to the user who first pushed from it.
CREATE TABLE sync_clients (
    client_id        TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_mutation_id INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX sync_clients_user ON sync_clients(user_id);

-- The recorded result of each processed mutation: code '' means applied;
-- otherwise the public error it was rejected with.
CREATE TABLE sync_mutations (
    client_id   TEXT NOT NULL REFERENCES sync_clients(client_id) ON DELETE CASCADE,
    mutation_id INTEGER NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    field       TEXT NOT NULL DEFAULT '',
    checkpoint  INTEGER NOT NULL, -- feed head right after the mutation
    at          INTEGER NOT NULL,
    PRIMARY KEY (client_id, mutation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX sync_mutations_at ON sync_mutations(at);

-- The highest seq of any tombstone pruned from the feed (one row).
CREATE TABLE feed_horizon (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    tombstones_through INTEGER NOT NULL
) STRICT;
INSERT INTO feed_horizon (id, tombstones_through) VALUES (1, 0);

-- +goose Down
DROP TABLE feed_horizon;
DROP TABLE sync_mutations;
DROP TABLE sync_clients;
