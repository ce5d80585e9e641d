package social

import (
	"context"

	"github.com/vibesync/vibesync/server/store"
)

type txKey struct{}

// WithinTx returns a ctx that makes every Service write called with it join
// tx instead of opening its own transaction: sync push runs a mutation and
// records its result in one transaction this way. Each joined write runs
// in a savepoint, so a rule violation undoes only that write.
func WithinTx(ctx context.Context, tx *store.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// write runs fn in a write transaction: the one carried by ctx (see
// WithinTx), or a new one. Every write path of the Service goes through it.
func (s *Service) write(ctx context.Context, fn func(*store.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(*store.Tx); ok {
		return tx.Savepoint(ctx, fn)
	}
	return s.db.Write(ctx, fn)
}
