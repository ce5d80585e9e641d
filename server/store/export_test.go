package store

import (
	"context"
	"database/sql"
)

// ExecForTest runs raw SQL in tx, for tests that need a write no method
// offers (e.g. a cascading delete).
func (tx *Tx) ExecForTest(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.exec(ctx, query, args...)
}
