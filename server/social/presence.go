package social

import (
	"context"

	"github.com/vibesync/vibesync/server/store"
)

// Online reports which of userIDs are online now: holding at least one open
// live socket on any instance (presence rows kept alive by heartbeats). One
// query; every id is a key of the answer. Use it for "isOnline" in user and
// chat JSON; inside a transaction you already hold, call tx.Online.
func (s *Service) Online(ctx context.Context, userIDs []string) (map[string]bool, error) {
	var out map[string]bool
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		out, err = tx.Online(ctx, userIDs)
		return err
	})
	return out, err
}
