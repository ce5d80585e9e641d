package social

import (
	"context"
	"strings"

	"github.com/vibesync/vibesync/server/apperr"

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

// MaxPushTokenLen bounds a device token.
const MaxPushTokenLen = 4096

func validPushToken(token string) error {
	if token == "" || len(token) > MaxPushTokenLen || strings.ContainsAny(token, " \t\r\n") {
		return apperr.InvalidField("token", "token must be 1 to %d characters without spaces", MaxPushTokenLen)
	}
	return nil
}

// AddPushDevice registers a device token for the caller's pushes (a token
// another user registered before moves to the caller).
func (s *Service) AddPushDevice(ctx context.Context, c Caller, token string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return addPushDevice(ctx, tx, c, token) })
}

func addPushDevice(ctx context.Context, tx *store.Tx, c Caller, token string) error {
	if err := validPushToken(token); err != nil {
		return err
	}
	return tx.AddPushDevice(ctx, c.UserID, token)
}

// RemovePushDevice forgets one of the caller's device tokens (idempotent).
func (s *Service) RemovePushDevice(ctx context.Context, c Caller, token string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return removePushDevice(ctx, tx, c, token) })
}

func removePushDevice(ctx context.Context, tx *store.Tx, c Caller, token string) error {
	if err := validPushToken(token); err != nil {
		return err
	}
	return tx.RemoveUserPushDevice(ctx, c.UserID, token)
}
