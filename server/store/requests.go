package store

import (
	"context"
	"fmt"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
)

// JoinRequest is a join_requests row: a user asking to join a restricted group.
type JoinRequest struct {
	ID        string
	ChatID    string
	UserID    string
	Status    string // pending, accepted, rejected
	CreatedAt time.Time
	UpdatedAt time.Time
}

const requestColumns = `r.id, r.chat_id, r.user_id, r.status, r.created_at, r.updated_at`

func scanRequest(s interface{ Scan(...any) error }) (JoinRequest, error) {
	var r JoinRequest
	var created, updated int64
	err := s.Scan(&r.ID, &r.ChatID, &r.UserID, &r.Status, &created, &updated)
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, err
}

// CreateRequest inserts r. A second pending request of the same user for
// the same chat is a conflict "request_exists".
func (tx *Tx) CreateRequest(ctx context.Context, r JoinRequest) error {
	_, err := tx.exec(ctx, `INSERT INTO join_requests (id, chat_id, user_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.ChatID, r.UserID, r.Status, ms(r.CreatedAt), ms(r.UpdatedAt))
	if e, ok := apperr.As(err); ok && e.Reason == reasonDuplicate {
		return conflict("request_exists", "A pending request for this chat already exists")
	}
	if err != nil {
		return fmt.Errorf("store: create request: %w", err)
	}
	return nil
}

// Request returns request id, or a not-found "request_not_found".
func (tx *Tx) Request(ctx context.Context, id string) (JoinRequest, error) {
	r, err := scanRequest(tx.queryRow(ctx, `SELECT `+requestColumns+` FROM join_requests r WHERE r.id = ?`, id))
	if err != nil {
		return JoinRequest{}, notFound(err, "request_not_found", "Request")
	}
	return r, nil
}

// RequestFilter selects the requests a user sees: those they sent (Sent),
// those to chats they administer (Received), or both; Status filters when
// set. Requests from users who block UserID or whom UserID blocks are left
// out (a block hides the two from each other).
type RequestFilter struct {
	UserID   string
	Sent     bool
	Received bool
	Status   string
	Offset   int
	Limit    int
}

// Requests returns one page of requests, newest first, and the total.
func (tx *Tx) Requests(ctx context.Context, f RequestFilter) ([]JoinRequest, int, error) {
	var who []string
	var args []any
	if f.Sent {
		who, args = append(who, `r.user_id = ?`), append(args, f.UserID)
	}
	if f.Received {
		// EXISTS rather than chat_id IN (…): the IN form, OR-ed with the
		// sender test and filtered by status, trips an SQLite planner error.
		who = append(who, `EXISTS (SELECT 1 FROM chat_participants p WHERE p.chat_id = r.chat_id AND p.user_id = ? AND p.is_admin = 1)`)
		args = append(args, f.UserID)
	}
	if len(who) == 0 {
		return nil, 0, nil
	}
	where := `WHERE (` + who[0]
	if len(who) > 1 {
		where += ` OR ` + who[1]
	}
	where += `) AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = r.user_id) OR (b.blocked_id = ? AND b.blocker_id = r.user_id))`
	args = append(args, f.UserID, f.UserID)
	if f.Status != "" {
		where, args = where+` AND r.status = ?`, append(args, f.Status)
	}
	var total int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM join_requests r `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count requests: %w", translate(err))
	}
	rows, err := tx.query(ctx, `SELECT `+requestColumns+` FROM join_requests r `+where+` ORDER BY r.id DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: requests: %w", err)
	}
	defer rows.Close()
	var out []JoinRequest
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan request: %w", err)
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// SetRequestStatus moves a pending request to status. A request no longer
// pending is a conflict "request_not_pending".
func (tx *Tx) SetRequestStatus(ctx context.Context, id, status string) error {
	res, err := tx.exec(ctx, `UPDATE join_requests SET status = ?, updated_at = ? WHERE id = ? AND status = 'pending'`, status, ms(tx.Now), id)
	if err != nil {
		return fmt.Errorf("store: set request status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return conflict("request_not_pending", "The request is no longer pending")
	}
	return nil
}

// PendingRequestsOf returns the user's pending requests for the given
// chats, keyed by chat id. One query.
func (tx *Tx) PendingRequestsOf(ctx context.Context, userID string, chatIDs []string) (map[string]JoinRequest, error) {
	rows, err := tx.query(ctx, `SELECT `+requestColumns+` FROM join_requests r
		WHERE r.user_id = ? AND r.status = 'pending' AND r.chat_id IN (SELECT value FROM json_each(?))`, userID, jsonStrings(chatIDs))
	if err != nil {
		return nil, fmt.Errorf("store: pending requests: %w", err)
	}
	defer rows.Close()
	out := make(map[string]JoinRequest)
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan request: %w", err)
		}
		out[r.ChatID] = r
	}
	return out, rows.Err()
}

// ChatAdmins lists the user ids of a chat's admins.
func (tx *Tx) ChatAdmins(ctx context.Context, chatID string) ([]string, error) {
	return tx.strings(ctx, `SELECT user_id FROM chat_participants WHERE chat_id = ? AND is_admin = 1 ORDER BY joined_at, id`, chatID)
}

// RequestsOfChat lists every request for a chat, whatever its status.
func (tx *Tx) RequestsOfChat(ctx context.Context, chatID string) ([]JoinRequest, error) {
	return collect(ctx, tx, "requests of chat", scanRequest,
		`SELECT `+requestColumns+` FROM join_requests r WHERE r.chat_id = ? ORDER BY r.id`, chatID)
}
