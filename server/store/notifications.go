package store

import (
	"context"
	"fmt"
	"strings"
)

// NotificationFilter selects one page of a user's notifications. Types
// empty means any type; dismissed ones are left out unless WithDismissed.
// Notifications caused by someone either side blocks are always left out.
type NotificationFilter struct {
	UserID        string
	Types         []string
	UnreadOnly    bool
	WithDismissed bool
	Offset        int
	Limit         int
}

// Notifications returns one page of f's notifications, newest first, the
// total matching f, and how many of the notifications f selects (ignoring
// UnreadOnly and paging) are unread.
func (tx *Tx) Notifications(ctx context.Context, f NotificationFilter) (list []Notification, total, unread int, err error) {
	where, args := []string{`user_id = ?`}, []any{f.UserID}
	if len(f.Types) > 0 {
		where, args = append(where, `type IN (SELECT value FROM json_each(?))`), append(args, jsonStrings(f.Types))
	}
	if !f.WithDismissed {
		where = append(where, `dismissed_at IS NULL`)
	}
	where = append(where, notBlockedActor)
	w := ` FROM notifications WHERE ` + strings.Join(where, ` AND `)
	if err := tx.queryRow(ctx, `SELECT count(*)`+w+` AND read_at IS NULL`, args...).Scan(&unread); err != nil {
		return nil, 0, 0, fmt.Errorf("store: count unread notifications: %w", translate(err))
	}
	if f.UnreadOnly {
		w += ` AND read_at IS NULL`
	}
	if err := tx.queryRow(ctx, `SELECT count(*)`+w, args...).Scan(&total); err != nil {
		return nil, 0, 0, fmt.Errorf("store: count notifications: %w", translate(err))
	}
	list, err = tx.notificationsQuery(ctx, `SELECT `+notificationColumns+w+` ORDER BY created_at DESC, num DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`,
		append(args, f.Limit, f.Offset)...)
	return list, total, unread, err
}

// NotificationsBetween returns the notifications one of a and b holds
// that the other caused.
func (tx *Tx) NotificationsBetween(ctx context.Context, a, b string) ([]Notification, error) {
	return tx.notificationsQuery(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE (user_id = ?1 AND actor_id = ?2) OR (user_id = ?2 AND actor_id = ?1)`, a, b)
}

// NotificationByNum returns the notification with integer id num, or a
// not-found error.
func (tx *Tx) NotificationByNum(ctx context.Context, num int64) (Notification, error) {
	n, err := scanNotification(tx.queryRow(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE num = ?`, num))
	if err != nil {
		return Notification{}, notFound(err, "notification_not_found", "Notification")
	}
	return n, nil
}

// NotificationByID returns the notification with id, or a not-found error.
func (tx *Tx) NotificationByID(ctx context.Context, id string) (Notification, error) {
	n, err := scanNotification(tx.queryRow(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE id = ?`, id))
	if err != nil {
		return Notification{}, notFound(err, "notification_not_found", "Notification")
	}
	return n, nil
}

// notBlockedActor is a condition on a notifications row: neither its
// recipient nor its actor blocks the other.
const notBlockedActor = `NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = user_id AND b.blocked_id = actor_id) OR (b.blocker_id = actor_id AND b.blocked_id = user_id))`

// MarkNotificationsRead marks userID's unread notifications read — those
// with the given ids, or all of them when ids is nil — and returns the
// ones it changed. Notifications hidden by a block are left alone.
func (tx *Tx) MarkNotificationsRead(ctx context.Context, userID string, ids []string) ([]Notification, error) {
	q, args := `UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL AND `+notBlockedActor, []any{ms(tx.Now), userID}
	if ids != nil {
		q, args = q+` AND id IN (SELECT value FROM json_each(?))`, append(args, jsonStrings(ids))
	}
	return tx.notificationsQuery(ctx, q+` RETURNING `+notificationColumns, args...)
}

// ConnectionNums maps connection ids to their integer ids; ids of deleted
// connections are absent.
func (tx *Tx) ConnectionNums(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	rows, err := tx.query(ctx, `SELECT id, num FROM connections WHERE id IN (SELECT value FROM json_each(?))`, jsonStrings(ids))
	if err != nil {
		return nil, fmt.Errorf("store: connection nums: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var num int64
		if err := rows.Scan(&id, &num); err != nil {
			return nil, fmt.Errorf("store: scan connection num: %w", err)
		}
		out[id] = num
	}
	return out, rows.Err()
}
