package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Session is one login: a family of rotating refresh tokens.
type Session struct {
	ID         string
	UserID     string
	Client     string // the device label sent at login; may be empty
	CreatedAt  time.Time
	LastUsedAt time.Time // last login or refresh; CreatedAt until the first refresh
	RevokedAt  time.Time // zero while active
	EndReason  string    // why it ended: EndAccountDeleted, or empty
}

// EndAccountDeleted is the EndReason of the sessions of a deleted account.
const EndAccountDeleted = "account_deleted"

// RefreshToken is a stored refresh token (by hash).
type RefreshToken struct {
	Hash      string
	SessionID string
	ExpiresAt time.Time
	UsedAt    time.Time // zero until rotated
}

// CreateSession inserts a session.
func (tx *Tx) CreateSession(ctx context.Context, s Session) error {
	if _, err := tx.exec(ctx, `INSERT INTO sessions (id, user_id, client, created_at, last_used_at) VALUES (?, ?, ?, ?, ?)`,
		s.ID, s.UserID, s.Client, ms(s.CreatedAt), ms(s.CreatedAt)); err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

const sessionColumns = `id, user_id, client, created_at, COALESCE(last_used_at, created_at), revoked_at, end_reason`

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var s Session
	var created, used int64
	var revoked sql.NullInt64
	if err := row.Scan(&s.ID, &s.UserID, &s.Client, &created, &used, &revoked, &s.EndReason); err != nil {
		return Session{}, err
	}
	s.CreatedAt, s.LastUsedAt, s.RevokedAt = fromMS(created), fromMS(used), nullTime(revoked)
	return s, nil
}

// Session returns the session with id.
func (tx *Tx) Session(ctx context.Context, id string) (Session, error) {
	s, err := scanSession(tx.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return Session{}, notFound(err, "session_not_found", "Session")
	}
	return s, nil
}

// ActiveSessions returns user's unrevoked sessions used at or after since,
// most recently used first.
func (tx *Tx) ActiveSessions(ctx context.Context, userID string, since time.Time) ([]Session, error) {
	rows, err := tx.query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND COALESCE(last_used_at, created_at) >= ?
		ORDER BY COALESCE(last_used_at, created_at) DESC, id DESC`, userID, ms(since))
	if err != nil {
		return nil, fmt.Errorf("store: active sessions: %w", err)
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan session: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// TouchSession records that session id got tokens now.
func (tx *Tx) TouchSession(ctx context.Context, id string) error {
	if _, err := tx.exec(ctx, `UPDATE sessions SET last_used_at = ? WHERE id = ?`, ms(tx.Now), id); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// RevokeSession marks a session revoked (idempotent).
func (tx *Tx) RevokeSession(ctx context.Context, id string) error {
	if _, err := tx.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(tx.Now), id); err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	return nil
}

// RevokeSessionsOf revokes every active session of user except keep (none
// when empty), recording reason, and returns the ids it revoked.
func (tx *Tx) RevokeSessionsOf(ctx context.Context, userID, keep, reason string) ([]string, error) {
	ids, err := tx.strings(ctx, `UPDATE sessions SET revoked_at = ?, end_reason = ?
		WHERE user_id = ? AND id <> ? AND revoked_at IS NULL RETURNING id`, ms(tx.Now), reason, userID, keep)
	if err != nil {
		return nil, fmt.Errorf("store: revoke sessions: %w", err)
	}
	return ids, nil
}

// InsertRefreshToken stores a new refresh token.
func (tx *Tx) InsertRefreshToken(ctx context.Context, t RefreshToken) error {
	if _, err := tx.exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES (?, ?, ?)`,
		t.Hash, t.SessionID, ms(t.ExpiresAt)); err != nil {
		return fmt.Errorf("store: insert refresh token: %w", err)
	}
	return nil
}

// RefreshTokenByHash returns the stored token with that hash.
func (tx *Tx) RefreshTokenByHash(ctx context.Context, hash string) (RefreshToken, error) {
	var t RefreshToken
	var exp int64
	var used sql.NullInt64
	err := tx.queryRow(ctx, `SELECT hash, session_id, expires_at, used_at FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.SessionID, &exp, &used)
	if err != nil {
		return RefreshToken{}, notFound(err, "refresh_token_not_found", "Refresh token")
	}
	t.ExpiresAt, t.UsedAt = fromMS(exp), nullTime(used)
	return t, nil
}

// MarkRefreshTokenUsed records that a token was rotated.
func (tx *Tx) MarkRefreshTokenUsed(ctx context.Context, hash string) error {
	if _, err := tx.exec(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ?`, ms(tx.Now), hash); err != nil {
		return fmt.Errorf("store: use refresh token: %w", err)
	}
	return nil
}
