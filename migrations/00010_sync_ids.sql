-- +goose Up
-- Sync client ids become per user: a client replica is (user_id,
-- client_id), so one user can neither claim nor block another user's id.
-- Each recorded mutation keeps a fingerprint of its content (SHA-256 of
-- its deterministic protobuf encoding), so a reused mutation id carrying
-- different content (a restored or copied data folder) is told apart from
-- a retry. Rows recorded before have an empty fingerprint (unknown).

CREATE TABLE sync_clients_new (
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id        TEXT NOT NULL,
    last_mutation_id INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE sync_mutations_new (
    user_id     TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    mutation_id INTEGER NOT NULL,
    fingerprint BLOB NOT NULL DEFAULT x'',
    code        TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    field       TEXT NOT NULL DEFAULT '',
    checkpoint  INTEGER NOT NULL, -- feed head right after the mutation
    at          INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id, mutation_id),
    FOREIGN KEY (user_id, client_id) REFERENCES sync_clients_new(user_id, client_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

INSERT INTO sync_clients_new (user_id, client_id, last_mutation_id, updated_at)
SELECT user_id, client_id, last_mutation_id, updated_at FROM sync_clients;

INSERT INTO sync_mutations_new (user_id, client_id, mutation_id, code, reason, message, field, checkpoint, at)
SELECT c.user_id, m.client_id, m.mutation_id, m.code, m.reason, m.message, m.field, m.checkpoint, m.at
  FROM sync_mutations m JOIN sync_clients c ON c.client_id = m.client_id;

DROP TABLE sync_mutations;
DROP TABLE sync_clients;
ALTER TABLE sync_clients_new RENAME TO sync_clients;
ALTER TABLE sync_mutations_new RENAME TO sync_mutations;
CREATE INDEX sync_mutations_at ON sync_mutations(at);

-- +goose Down
CREATE TABLE sync_clients_old (
    client_id        TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_mutation_id INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE sync_mutations_old (
    client_id   TEXT NOT NULL REFERENCES sync_clients_old(client_id) ON DELETE CASCADE,
    mutation_id INTEGER NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    field       TEXT NOT NULL DEFAULT '',
    checkpoint  INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (client_id, mutation_id)
) STRICT, WITHOUT ROWID;

-- A client id used by several users keeps the earliest user's rows only.
INSERT OR IGNORE INTO sync_clients_old (client_id, user_id, last_mutation_id, updated_at)
SELECT client_id, user_id, last_mutation_id, updated_at FROM sync_clients ORDER BY updated_at;

INSERT OR IGNORE INTO sync_mutations_old (client_id, mutation_id, code, reason, message, field, checkpoint, at)
SELECT m.client_id, m.mutation_id, m.code, m.reason, m.message, m.field, m.checkpoint, m.at
  FROM sync_mutations m JOIN sync_clients_old c ON c.client_id = m.client_id AND c.user_id = m.user_id;

DROP TABLE sync_mutations;
DROP TABLE sync_clients;
ALTER TABLE sync_clients_old RENAME TO sync_clients;
ALTER TABLE sync_mutations_old RENAME TO sync_mutations;
CREATE INDEX sync_clients_user ON sync_clients(user_id);
CREATE INDEX sync_mutations_at ON sync_mutations(at);
