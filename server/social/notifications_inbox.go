package social

import (
	"context"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// ConnectionNotificationTypes returns the notification types of
// connections, the ones v1's /connections/.../notifications shows (a new
// slice each call).
func ConnectionNotificationTypes() []string {
	return []string{NotifyConnectionRequest, NotifyConnectionAccepted, NotifyConnectionDeclined}
}

// NotificationQuery filters the caller's notifications. Types empty means
// any; dismissed notifications (a request already answered, …) are left
// out unless WithDismissed. Notifications caused by a user hidden by a
// block (either way) are left out while the block lasts.
type NotificationQuery struct {
	Types         []string
	UnreadOnly    bool
	WithDismissed bool
}

// NotificationList is one page of notifications with the profiles of the
// users who caused them.
type NotificationList struct {
	Items  []Notification
	Actors map[string]User // by user id
	// SubjectNums maps connection ids to their integer ids (v1), for the
	// connections that still exist.
	SubjectNums map[string]int64
	Total       int // matching the query
	Unread      int // unread among the query's notifications, whatever UnreadOnly and the page
}

// Notifications lists one page of the caller's notifications, newest first.
func (s *Service) Notifications(ctx context.Context, c Caller, q NotificationQuery, p Page) (NotificationList, error) {
	var out NotificationList
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, total, unread, err := tx.Notifications(ctx, store.NotificationFilter{UserID: c.UserID, Types: q.Types,
			UnreadOnly: q.UnreadOnly, WithDismissed: q.WithDismissed, Offset: p.Offset, Limit: p.Limit})
		if err != nil {
			return err
		}
		out.Total, out.Unread = total, unread
		var actors, subjects []string
		out.Items = make([]Notification, len(rows))
		for i, n := range rows {
			out.Items[i] = notificationFrom(n)
			if n.ActorID != "" {
				actors = append(actors, n.ActorID)
			}
			if n.SubjectType == EntityConnection {
				subjects = append(subjects, n.SubjectID)
			}
		}
		users, err := tx.UsersByID(ctx, actors)
		if err != nil {
			return err
		}
		out.Actors = make(map[string]User, len(users))
		for id, u := range users {
			out.Actors[id] = userFrom(u)
		}
		out.SubjectNums, err = tx.ConnectionNums(ctx, subjects)
		return err
	})
	return out, err
}

// NotificationRef names one of the caller's notifications by id or by
// integer id (v1); Types, when set, restricts which types it may be.
type NotificationRef struct {
	ID    string
	Num   int64
	Types []string
}

// ReadNotification marks one of the caller's notifications read (reading
// it twice is not an error) and returns it. Someone else's notification,
// one outside ref.Types, or one caused by a user hidden by a block is a 404.
func (s *Service) ReadNotification(ctx context.Context, c Caller, ref NotificationRef) (Notification, error) {
	var out Notification
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = readNotification(ctx, tx, c, ref)
		return err
	})
	return out, err
}

func readNotification(ctx context.Context, tx *store.Tx, c Caller, ref NotificationRef) (Notification, error) {
	if ref.Num == 0 {
		if err := ValidID(FieldNotificationID, ref.ID); err != nil {
			return Notification{}, err
		}
	}
	var out Notification
	var n store.Notification
	var err error
	if ref.Num != 0 {
		n, err = tx.NotificationByNum(ctx, ref.Num)
	} else {
		n, err = tx.NotificationByID(ctx, ref.ID)
	}
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return out, err
	}
	missing := apperr.NotFoundf("notification_not_found", "Notification not found")
	if err != nil || n.UserID != c.UserID || len(ref.Types) > 0 && !containsString(ref.Types, n.Type) {
		return out, missing
	}
	if n.ActorID != "" {
		if hidden, err := tx.Blocked(ctx, c.UserID, n.ActorID); err != nil {
			return out, err
		} else if hidden {
			return out, missing
		}
	}
	if n.ReadAt.IsZero() {
		changed, err := tx.MarkNotificationsRead(ctx, c.UserID, []string{n.ID})
		if err != nil {
			return out, err
		}
		if len(changed) == 1 {
			n = changed[0]
		}
		if err := put(ctx, tx, EntityNotification, n.ID, notificationFrom(n), UserBucket(c.UserID)); err != nil {
			return out, err
		}
	}
	out = notificationFrom(n)
	return out, nil
}

// ReadAllNotifications marks every unread notification of the caller read
// and returns how many it changed.
func (s *Service) ReadAllNotifications(ctx context.Context, c Caller) (count int, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		count, err = s.readAllNotifications(ctx, tx, c)
		return err
	})
	return count, err
}

func (s *Service) readAllNotifications(ctx context.Context, tx *store.Tx, c Caller) (int, error) {
	changed, err := tx.MarkNotificationsRead(ctx, c.UserID, nil)
	if err != nil {
		return 0, err
	}
	for _, n := range changed {
		if err := put(ctx, tx, EntityNotification, n.ID, notificationFrom(n), UserBucket(c.UserID)); err != nil {
			return 0, err
		}
	}
	return len(changed), nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
