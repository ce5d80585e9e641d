package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Push is a push_outbox row: one notification for one user's devices.
type Push struct {
	ID            int64
	UserID        string
	Event         string
	Title         string
	Body          string
	Data          string // JSON object of strings
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
}

// EnqueuePush adds p to the outbox, due at once.
func (tx *Tx) EnqueuePush(ctx context.Context, p Push) error {
	if p.Data == "" {
		p.Data = "{}"
	}
	if err := tx.execLater(ctx, nil, `INSERT INTO push_outbox (user_id, event, title, body, data, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, p.UserID, p.Event, p.Title, p.Body, p.Data, ms(tx.Now), ms(tx.Now)); err != nil {
		return fmt.Errorf("store: enqueue push: %w", err)
	}
	return nil
}

// ClaimPushes takes up to limit undelivered pushes due at tx.Now, oldest
// first, and pushes their next attempt lease into the future, so another
// instance draining the same outbox skips them while this one sends. Use
// it in a write transaction.
func (tx *Tx) ClaimPushes(ctx context.Context, limit int, lease time.Duration) ([]Push, error) {
	rows, err := tx.query(ctx, `UPDATE push_outbox SET next_attempt_at = ?
		WHERE id IN (SELECT id FROM push_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
		             ORDER BY next_attempt_at, id LIMIT CAST(? AS INTEGER))
		RETURNING id, user_id, event, title, body, data, attempts, next_attempt_at, created_at`,
		ms(tx.Now.Add(lease)), ms(tx.Now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim pushes: %w", err)
	}
	defer rows.Close()
	var out []Push
	for rows.Next() {
		var p Push
		var next, created int64
		if err := rows.Scan(&p.ID, &p.UserID, &p.Event, &p.Title, &p.Body, &p.Data, &p.Attempts, &next, &created); err != nil {
			return nil, fmt.Errorf("store: scan push: %w", err)
		}
		p.NextAttemptAt, p.CreatedAt = fromMS(next), fromMS(created)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim pushes: %w", err)
	}
	slices.SortFunc(out, func(a, b Push) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// PushesOf lists a user's outbox rows, oldest first (for tests and tools).
func (tx *Tx) PushesOf(ctx context.Context, userID string) ([]Push, error) {
	rows, err := tx.query(ctx, `SELECT id, user_id, event, title, body, data, attempts, next_attempt_at, created_at FROM push_outbox
		WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: pushes: %w", err)
	}
	defer rows.Close()
	var out []Push
	for rows.Next() {
		var p Push
		var next, created int64
		if err := rows.Scan(&p.ID, &p.UserID, &p.Event, &p.Title, &p.Body, &p.Data, &p.Attempts, &next, &created); err != nil {
			return nil, fmt.Errorf("store: scan push: %w", err)
		}
		p.NextAttemptAt, p.CreatedAt = fromMS(next), fromMS(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// PushState says whether a push was delivered, is waiting, or was given up.
type PushState struct {
	Attempts  int
	Sent      bool
	Failed    bool
	LastError string
}

// PushStateOf returns the delivery state of push id.
func (tx *Tx) PushStateOf(ctx context.Context, id int64) (PushState, error) {
	var st PushState
	var sent, failed sql.NullInt64
	err := tx.queryRow(ctx, `SELECT attempts, sent_at, failed_at, last_error FROM push_outbox WHERE id = ?`, id).
		Scan(&st.Attempts, &sent, &failed, &st.LastError)
	if err != nil {
		return PushState{}, notFound(err, "push_not_found", "Push")
	}
	st.Sent, st.Failed = sent.Valid, failed.Valid
	return st, nil
}

// MarkPushSent records a delivery.
func (tx *Tx) MarkPushSent(ctx context.Context, id int64) error {
	if _, err := tx.exec(ctx, `UPDATE push_outbox SET sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, ms(tx.Now), id); err != nil {
		return fmt.Errorf("store: mark push sent: %w", err)
	}
	return nil
}

// MarkPushFailed records a failed attempt: the push is retried at next, or
// given up when giveUp is set.
func (tx *Tx) MarkPushFailed(ctx context.Context, id int64, errText string, next time.Time, giveUp bool) error {
	var failed any
	if giveUp {
		failed = ms(tx.Now)
	}
	if _, err := tx.exec(ctx, `UPDATE push_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, failed_at = ? WHERE id = ?`,
		errText, ms(next), failed, id); err != nil {
		return fmt.Errorf("store: mark push failed: %w", err)
	}
	return nil
}

// AddPushDevice registers a device token for user (moving it if another
// user had it).
func (tx *Tx) AddPushDevice(ctx context.Context, userID, token string) error {
	if _, err := tx.exec(ctx, `INSERT INTO push_devices (token, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id`, token, userID, ms(tx.Now)); err != nil {
		return fmt.Errorf("store: add push device: %w", err)
	}
	return nil
}

// PushDevices lists a user's device tokens.
func (tx *Tx) PushDevices(ctx context.Context, userID string) ([]string, error) {
	return tx.strings(ctx, `SELECT token FROM push_devices WHERE user_id = ? ORDER BY created_at`, userID)
}

// RemovePushDevice forgets a token the push service rejected.
func (tx *Tx) RemovePushDevice(ctx context.Context, token string) error {
	if _, err := tx.exec(ctx, `DELETE FROM push_devices WHERE token = ?`, token); err != nil {
		return fmt.Errorf("store: remove push device: %w", err)
	}
	return nil
}

// RemoveUserPushDevice forgets token if it belongs to userID.
func (tx *Tx) RemoveUserPushDevice(ctx context.Context, userID, token string) error {
	if _, err := tx.exec(ctx, `DELETE FROM push_devices WHERE token = ? AND user_id = ?`, token, userID); err != nil {
		return fmt.Errorf("store: remove push device: %w", err)
	}
	return nil
}

// HasDuePushes reports whether any undelivered push is due at tx.Now: a
// cheap read that spares an idle worker a write transaction.
func (tx *Tx) HasDuePushes(ctx context.Context) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM push_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?)`,
		ms(tx.Now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: due pushes: %w", translate(err))
	}
	return n == 1, nil
}

// PushOutboxDepth counts the pushes still to deliver (due or waiting for
// a retry), for monitoring.
func (tx *Tx) PushOutboxDepth(ctx context.Context) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM push_outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: push outbox depth: %w", translate(err))
	}
	return n, nil
}
