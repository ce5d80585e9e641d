package social

import (
	"context"

	"github.com/vibesync/vibesync/server/store"
)

// pushTo queues a push notification for each user in the outbox, inside
// tx: it is delivered only if the write commits, and retried until the
// push service takes it (see PushWorker).
func (s *Service) pushTo(ctx context.Context, tx *store.Tx, users []string, event, title, body string, data map[string]string) error {
	if data == nil {
		data = map[string]string{}
	}
	data["event"] = event
	b, err := encode(data)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := tx.EnqueuePush(ctx, store.Push{UserID: u, Event: event, Title: title, Body: body, Data: string(b)}); err != nil {
			return err
		}
	}
	return nil
}
