package social

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vibesync/vibesync/server/store"
)

// Bucket names. A user's bucket holds what only they replicate (profile,
// connections, requests, notifications, score, memberships); a chat's
// bucket holds the chat, participants, messages and files.
func UserBucket(userID string) string { return "user:" + userID }

// ChatBucket is the bucket of a chat.
func ChatBucket(chatID string) string { return "chat:" + chatID }

// Entity names used in the change feed.
const (
	EntityUser = "user"
)

// encode is the one place that turns an entity into its replicated form.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("social: encode %T: %w", v, err)
	}
	return b, nil
}

// put records entity id's current form v in each bucket.
func put(ctx context.Context, tx *store.Tx, entity, id string, v any, buckets ...string) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	for _, b := range buckets {
		if _, err := tx.Put(ctx, b, entity, id, data); err != nil {
			return err
		}
	}
	return nil
}

// drop records a tombstone for entity id in each bucket.
func drop(ctx context.Context, tx *store.Tx, entity, id string, buckets ...string) error {
	for _, b := range buckets {
		if _, err := tx.Tombstone(ctx, b, entity, id); err != nil {
			return err
		}
	}
	return nil
}

// emit records live event name with payload data for each target bucket,
// skipping the caller's own socket.
func emit(ctx context.Context, tx *store.Tx, c Caller, name string, data any, targets ...string) error {
	b, err := encode(data)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if _, err := tx.AppendEvent(ctx, t, name, b, store.EventOrigin(c.UserID, c.Socket)); err != nil {
			return err
		}
	}
	return nil
}
