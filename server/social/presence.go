package social

import (
	"context"

	"github.com/vibesync/vibesync/server/apperr"
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

// ValidSocket checks a request's optional "socket" field: empty, or a live
// socket id as sent in the "connected" frame (^[A-Za-z0-9\-_]{16,25}$).
func ValidSocket(socket string) error {
	if socket == "" {
		return nil
	}
	if len(socket) < 16 || len(socket) > 25 {
		return apperr.InvalidField("socket", "socket must be 16 to 25 characters")
	}
	for i := 0; i < len(socket); i++ {
		c := socket[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return apperr.InvalidField("socket", "socket may contain only letters, digits, '-' and '_'")
		}
	}
	return nil
}
