package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Notification is a notifications row.
type Notification struct {
	Num         int64 // integer id (v1 API)
	ID          string
	UserID      string // recipient
	Type        string
	ActorID     string
	SubjectType string
	SubjectID   string
	ChatID      string
	Message     string
	ReadAt      time.Time // zero while unread
	DismissedAt time.Time // zero unless dismissed
	CreatedAt   time.Time
}

const notificationColumns = `num, id, user_id, type, actor_id, subject_type, subject_id, chat_id, message, read_at, dismissed_at, created_at`

func scanNotification(s interface{ Scan(...any) error }) (Notification, error) {
	var n Notification
	var read, dismissed sql.NullInt64
	var created int64
	err := s.Scan(&n.Num, &n.ID, &n.UserID, &n.Type, &n.ActorID, &n.SubjectType, &n.SubjectID, &n.ChatID, &n.Message, &read, &dismissed, &created)
	n.ReadAt, n.DismissedAt, n.CreatedAt = nullTime(read), nullTime(dismissed), fromMS(created)
	return n, err
}

// InsertNotification stores n (Num is assigned) and returns it.
func (tx *Tx) InsertNotification(ctx context.Context, n Notification) (Notification, error) {
	err := tx.queryRow(ctx, `INSERT INTO notifications (id, user_id, type, actor_id, subject_type, subject_id, chat_id, message, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING num`,
		n.ID, n.UserID, n.Type, n.ActorID, n.SubjectType, n.SubjectID, n.ChatID, n.Message, ms(n.CreatedAt)).Scan(&n.Num)
	if err != nil {
		return Notification{}, fmt.Errorf("store: insert notification: %w", translate(err))
	}
	return n, nil
}

// NotificationMatch selects notifications about one subject. Empty fields
// match anything; SubjectID is required.
type NotificationMatch struct {
	SubjectID string
	Type      string
	UserID    string
}

func (m NotificationMatch) where() (string, []any) {
	w, args := `subject_id = ?`, []any{m.SubjectID}
	if m.Type != "" {
		w, args = w+` AND type = ?`, append(args, m.Type)
	}
	if m.UserID != "" {
		w, args = w+` AND user_id = ?`, append(args, m.UserID)
	}
	return w, args
}

// DismissNotifications marks the matching, not yet dismissed notifications
// dismissed (and read) and returns them as they are now.
func (tx *Tx) DismissNotifications(ctx context.Context, m NotificationMatch) ([]Notification, error) {
	w, args := m.where()
	now := ms(tx.Now)
	return tx.notificationsQuery(ctx, `UPDATE notifications SET dismissed_at = ?, read_at = COALESCE(read_at, ?)
		WHERE dismissed_at IS NULL AND `+w+` RETURNING `+notificationColumns, append([]any{now, now}, args...)...)
}

// DeleteNotifications deletes the matching notifications and returns them.
func (tx *Tx) DeleteNotifications(ctx context.Context, m NotificationMatch) ([]Notification, error) {
	w, args := m.where()
	return tx.notificationsQuery(ctx, `DELETE FROM notifications WHERE `+w+` RETURNING `+notificationColumns, args...)
}

func (tx *Tx) notificationsQuery(ctx context.Context, q string, args ...any) ([]Notification, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: notifications: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan notification: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ScoreAction is a score_actions row.
type ScoreAction struct {
	ID        string
	UserID    string
	Action    string
	Points    int
	SubjectID string
	CreatedAt time.Time
}

// AddScore records an action and adds its points to the user's score,
// returning the new total.
func (tx *Tx) AddScore(ctx context.Context, a ScoreAction) (int, error) {
	if _, err := tx.exec(ctx, `INSERT INTO score_actions (id, user_id, action, points, subject_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		a.ID, a.UserID, a.Action, a.Points, a.SubjectID, ms(a.CreatedAt)); err != nil {
		return 0, fmt.Errorf("store: record score action: %w", err)
	}
	var total int
	err := tx.queryRow(ctx, `INSERT INTO scores (user_id, score, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET score = score + excluded.score, updated_at = excluded.updated_at
		RETURNING score`, a.UserID, a.Points, ms(a.CreatedAt)).Scan(&total)
	if err != nil {
		return 0, fmt.Errorf("store: add score: %w", translate(err))
	}
	return total, nil
}

// HasScoreAction reports whether userID has already been credited action
// about subjectID.
func (tx *Tx) HasScoreAction(ctx context.Context, userID, action, subjectID string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM score_actions WHERE user_id = ? AND action = ? AND subject_id = ?)`,
		userID, action, subjectID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: has score action: %w", translate(err))
	}
	return n == 1, nil
}

// Score returns a user's total (0 when they have none yet).
func (tx *Tx) Score(ctx context.Context, userID string) (int, error) {
	var total int
	err := tx.queryRow(ctx, `SELECT COALESCE((SELECT score FROM scores WHERE user_id = ?), 0)`, userID).Scan(&total)
	if err != nil {
		return 0, fmt.Errorf("store: score: %w", translate(err))
	}
	return total, nil
}

// AddBucketMember lets user read bucket (idempotent).
func (tx *Tx) AddBucketMember(ctx context.Context, bucket, userID string) error {
	if _, err := tx.exec(ctx, `INSERT INTO bucket_members (user_id, bucket, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		userID, bucket, ms(tx.Now)); err != nil {
		return fmt.Errorf("store: add bucket member: %w", err)
	}
	return nil
}

// RemoveBucketMember stops user reading bucket (idempotent).
func (tx *Tx) RemoveBucketMember(ctx context.Context, bucket, userID string) error {
	if _, err := tx.exec(ctx, `DELETE FROM bucket_members WHERE user_id = ? AND bucket = ?`, userID, bucket); err != nil {
		return fmt.Errorf("store: remove bucket member: %w", err)
	}
	return nil
}

// BucketMembers lists the users who may read bucket.
func (tx *Tx) BucketMembers(ctx context.Context, bucket string) ([]string, error) {
	return tx.strings(ctx, `SELECT user_id FROM bucket_members WHERE bucket = ?`, bucket)
}

// BucketsOf lists the shared buckets user may read (their own "user:" bucket
// is implicit and not included).
func (tx *Tx) BucketsOf(ctx context.Context, userID string) ([]string, error) {
	return tx.strings(ctx, `SELECT bucket FROM bucket_members WHERE user_id = ?`, userID)
}

func (tx *Tx) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: scan: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ScoreActions returns one page of userID's score actions, newest first.
func (tx *Tx) ScoreActions(ctx context.Context, userID string, offset, limit int) ([]ScoreAction, error) {
	rows, err := tx.query(ctx, `SELECT id, user_id, action, points, subject_id, created_at FROM score_actions
		WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`, userID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: score actions: %w", err)
	}
	defer rows.Close()
	var out []ScoreAction
	for rows.Next() {
		var a ScoreAction
		var created int64
		if err := rows.Scan(&a.ID, &a.UserID, &a.Action, &a.Points, &a.SubjectID, &created); err != nil {
			return nil, fmt.Errorf("store: scan score action: %w", err)
		}
		a.CreatedAt = fromMS(created)
		out = append(out, a)
	}
	return out, rows.Err()
}
