package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
)

// schemaLockLease bounds how long a migration run may hold the schema lock.
// A process that dies while migrating leaves its lease behind; the next one
// to start waits at most this long for it. Migrations must finish within it.
const schemaLockLease = 2 * time.Minute

// withSchemaLock runs fn while holding the schema lock: a lease row that
// serializes migration runs across processes sharing the database. Without
// it, instances started together on a new database each read the same
// version and apply the same migration; one fails ("table already
// exists"), and a migration that happens to be repeatable would run twice.
// The lock uses wall-clock time, not the database's (test) clock, because
// every process must agree on it. Call with db.wmu held.
func (db *DB) withSchemaLock(ctx context.Context, fn func() error) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_lock (
		id         INTEGER PRIMARY KEY CHECK (id = 1),
		holder     TEXT NOT NULL,
		expires_at INTEGER NOT NULL -- unix milliseconds
	)`); err != nil {
		return fmt.Errorf("store: create schema lock: %w", translate(err))
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("store: schema lock holder: %w", err)
	}
	holder := hex.EncodeToString(b)
	for {
		now := time.Now()
		res, err := db.w.ExecContext(ctx, `INSERT INTO schema_lock (id, holder, expires_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE schema_lock.expires_at < ?`, holder, ms(now.Add(schemaLockLease)), ms(now))
		err = translate(err)
		if err == nil {
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("store: take schema lock: %w", err)
			}
			if n == 1 {
				break
			}
		} else if !apperr.Is(err, apperr.Unavailable) {
			return fmt.Errorf("store: take schema lock: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: wait for the schema lock (another instance is migrating): %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer func() {
		// Released even when ctx was canceled; if this fails the lease expires.
		_, _ = db.w.ExecContext(context.WithoutCancel(ctx), `DELETE FROM schema_lock WHERE holder = ?`, holder)
	}()
	return fn()
}
