package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// MediaDeletion is a media_deletions row: a stored file to delete from the
// media store.
type MediaDeletion struct {
	Key           string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}

// EnqueueMediaDeletions records keys to delete, due at once. Written in
// the transaction that drops the rows naming the files, it makes the
// deletion as durable as the commit; a key already queued stays as it is.
func (tx *Tx) EnqueueMediaDeletions(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if err := tx.execLater(ctx, nil, `INSERT INTO media_deletions (key, next_attempt_at, created_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO NOTHING`, k, ms(tx.Now), ms(tx.Now)); err != nil {
			return fmt.Errorf("store: enqueue media deletion: %w", err)
		}
	}
	return nil
}

// HasDueMediaDeletions reports whether any deletion is due at tx.Now: a
// cheap read that spares an idle worker a write transaction.
func (tx *Tx) HasDueMediaDeletions(ctx context.Context) (bool, error) {
	var n int
	if err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM media_deletions WHERE next_attempt_at <= ?)`, ms(tx.Now)).Scan(&n); err != nil {
		return false, fmt.Errorf("store: due media deletions: %w", translate(err))
	}
	return n == 1, nil
}

// ClaimMediaDeletions takes up to limit deletions due at tx.Now, oldest
// first, and moves their next attempt lease into the future, so another
// instance draining the same table skips them meanwhile. Use it in a
// write transaction.
func (tx *Tx) ClaimMediaDeletions(ctx context.Context, limit int, lease time.Duration) ([]MediaDeletion, error) {
	rows, err := tx.query(ctx, `UPDATE media_deletions SET next_attempt_at = ?
		WHERE key IN (SELECT key FROM media_deletions WHERE next_attempt_at <= ? ORDER BY next_attempt_at, key LIMIT CAST(? AS INTEGER))
		RETURNING key, attempts, next_attempt_at, last_error`, ms(tx.Now.Add(lease)), ms(tx.Now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim media deletions: %w", err)
	}
	return scanMediaDeletions(rows)
}

// MediaDeletions lists every queued deletion by key (for tests and tools).
func (tx *Tx) MediaDeletions(ctx context.Context) ([]MediaDeletion, error) {
	rows, err := tx.query(ctx, `SELECT key, attempts, next_attempt_at, last_error FROM media_deletions ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("store: media deletions: %w", err)
	}
	return scanMediaDeletions(rows)
}

func scanMediaDeletions(rows *sql.Rows) ([]MediaDeletion, error) {
	defer rows.Close()
	var out []MediaDeletion
	for rows.Next() {
		var d MediaDeletion
		var at int64
		if err := rows.Scan(&d.Key, &d.Attempts, &at, &d.LastError); err != nil {
			return nil, fmt.Errorf("store: scan media deletion: %w", err)
		}
		d.NextAttemptAt = fromMS(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: media deletions: %w", err)
	}
	return out, nil
}

// MediaDeleted forgets deletions the store has carried out.
func (tx *Tx) MediaDeleted(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 500)
		args := make([]any, n)
		for i, k := range keys[:n] {
			args[i] = k
		}
		q := `DELETE FROM media_deletions WHERE key IN (?` + strings.Repeat(", ?", n-1) + `)`
		if err := tx.execLater(ctx, nil, q, args...); err != nil {
			return fmt.Errorf("store: media deleted: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// MediaDeletionFailed records a failed attempt; the deletion is tried
// again at next.
func (tx *Tx) MediaDeletionFailed(ctx context.Context, key, errText string, next time.Time) error {
	if err := tx.execLater(ctx, nil, `UPDATE media_deletions SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE key = ?`,
		errText, ms(next), key); err != nil {
		return fmt.Errorf("store: media deletion failed: %w", err)
	}
	return nil
}
