package social

import (
	"context"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// EntityNotification is the feed entity of a notification.
const EntityNotification = "notification"

// Notification is a stored notification in its replicated JSON form.
type Notification struct {
	ID          string    `json:"_id"`
	Num         int64     `json:"num"`
	Type        string    `json:"type"`
	User        string    `json:"user"`
	Actor       string    `json:"actor,omitempty"`
	SubjectType string    `json:"subjectType,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Chat        string    `json:"chat,omitempty"`
	Message     string    `json:"message,omitempty"`
	Read        bool      `json:"read"`
	Dismissed   bool      `json:"dismissed"`
	CreatedAt   wire.Time `json:"createdAt"`
}

func notificationFrom(n store.Notification) Notification {
	return Notification{
		ID: n.ID, Num: n.Num, Type: n.Type, User: n.UserID, Actor: n.ActorID, SubjectType: n.SubjectType,
		Subject: n.SubjectID, Chat: n.ChatID, Message: n.Message,
		Read: !n.ReadAt.IsZero(), Dismissed: !n.DismissedAt.IsZero(), CreatedAt: wire.T(n.CreatedAt),
	}
}

// notify stores a notification for n.UserID inside tx and replicates it to
// their bucket. ID and CreatedAt are filled in.
func notify(ctx context.Context, tx *store.Tx, n store.Notification) (Notification, error) {
	n.ID, n.CreatedAt = oid.NewAt(tx.Now), tx.Now
	n, err := tx.InsertNotification(ctx, n)
	if err != nil {
		return Notification{}, err
	}
	out := notificationFrom(n)
	return out, put(ctx, tx, EntityNotification, n.ID, out, UserBucket(n.UserID))
}

// dismissNotifications marks matching notifications dismissed and
// replicates the change.
func dismissNotifications(ctx context.Context, tx *store.Tx, m store.NotificationMatch) error {
	ns, err := tx.DismissNotifications(ctx, m)
	if err != nil {
		return err
	}
	for _, n := range ns {
		if err := put(ctx, tx, EntityNotification, n.ID, notificationFrom(n), UserBucket(n.UserID)); err != nil {
			return err
		}
	}
	return nil
}

// deleteNotifications removes matching notifications and tombstones them.
func deleteNotifications(ctx context.Context, tx *store.Tx, m store.NotificationMatch) error {
	ns, err := tx.DeleteNotifications(ctx, m)
	if err != nil {
		return err
	}
	for _, n := range ns {
		if err := drop(ctx, tx, EntityNotification, n.ID, UserBucket(n.UserID)); err != nil {
			return err
		}
	}
	return nil
}

// hideNotificationsBetween tombstones, in each user's bucket, the
// notifications the other caused: a block hides them (lists leave them out
// too) until showNotificationsBetween records them again.
func hideNotificationsBetween(ctx context.Context, tx *store.Tx, a, b string) error {
	ns, err := tx.NotificationsBetween(ctx, a, b)
	if err != nil {
		return err
	}
	for _, n := range ns {
		if err := drop(ctx, tx, EntityNotification, n.ID, UserBucket(n.UserID)); err != nil {
			return err
		}
	}
	return nil
}

// showNotificationsBetween records again what hideNotificationsBetween hid.
func showNotificationsBetween(ctx context.Context, tx *store.Tx, a, b string) error {
	ns, err := tx.NotificationsBetween(ctx, a, b)
	if err != nil {
		return err
	}
	for _, n := range ns {
		if err := put(ctx, tx, EntityNotification, n.ID, notificationFrom(n), UserBucket(n.UserID)); err != nil {
			return err
		}
	}
	return nil
}
