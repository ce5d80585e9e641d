package store

import (
	"context"
	"fmt"
	"time"
)

// Status is a user_statuses row: a user's meet-me status. It counts as
// absent once ExpiresAt has passed.
type Status struct {
	UserID    string
	ID        string
	Text      string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Active reports whether s is still in force at now.
func (s Status) Active(now time.Time) bool { return now.Before(s.ExpiresAt) }

// SetStatus stores s as its user's status, replacing any previous one.
func (tx *Tx) SetStatus(ctx context.Context, s Status) error {
	err := tx.execLater(ctx, nil, `INSERT INTO user_statuses (user_id, id, text, expires_at, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, text = excluded.text, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		s.UserID, s.ID, s.Text, ms(s.ExpiresAt), ms(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	return nil
}

// DeleteStatus removes userID's status and reports whether there was one.
func (tx *Tx) DeleteStatus(ctx context.Context, userID string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM user_statuses WHERE user_id = ?`, userID)
	if err != nil {
		return false, fmt.Errorf("store: delete status: %w", err)
	}
	return affected(res)
}

// DeleteExpiredStatuses removes the statuses of userIDs that expired at or
// before tx.Now and returns whose went.
func (tx *Tx) DeleteExpiredStatuses(ctx context.Context, userIDs []string) ([]string, error) {
	return tx.strings(ctx, `DELETE FROM user_statuses WHERE user_id IN (SELECT value FROM json_each(?)) AND expires_at <= ? RETURNING user_id`,
		jsonStrings(userIDs), ms(tx.Now))
}

// ActiveStatuses returns the statuses of userIDs still active at tx.Now,
// keyed by user id. One query.
func (tx *Tx) ActiveStatuses(ctx context.Context, userIDs []string) (map[string]Status, error) {
	out := make(map[string]Status, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT user_id, id, text, expires_at, created_at FROM user_statuses
		WHERE user_id IN (SELECT value FROM json_each(?)) AND expires_at > ?`, jsonStrings(userIDs), ms(tx.Now))
	if err != nil {
		return nil, fmt.Errorf("store: statuses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Status
		var exp, created int64
		if err := rows.Scan(&s.UserID, &s.ID, &s.Text, &exp, &created); err != nil {
			return nil, fmt.Errorf("store: scan status: %w", err)
		}
		s.ExpiresAt, s.CreatedAt = fromMS(exp), fromMS(created)
		out[s.UserID] = s
	}
	return out, rows.Err()
}
