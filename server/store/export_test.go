package store

import (
	"context"
	"database/sql"
	"runtime"
)

// ExecForTest runs raw SQL in tx, for tests that need a write no method
// offers (e.g. a cascading delete).
func (tx *Tx) ExecForTest(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.exec(ctx, query, args...)
}

// HoldWriterForTest takes the writer and returns a function that waits
// until n writes are queued behind it and then releases it, so a test can
// make those writes commit as one group.
func (db *DB) HoldWriterForTest(n int) (release func()) {
	db.wmu.Lock()
	return func() {
		for {
			db.qmu.Lock()
			queued := len(db.queue)
			db.qmu.Unlock()
			if queued >= n {
				break
			}
			runtime.Gosched()
		}
		db.wmu.Unlock()
	}
}
