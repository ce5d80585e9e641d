package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Session is one login: a family of rotating refresh tokens.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// RefreshToken is a stored refresh token (by hash).
type RefreshToken struct {
	Hash      string
	SessionID string
	ExpiresAt time.Time
	UsedAt    time.Time // zero until rotated
}

// CreateSession inserts a session.
func (tx *Tx) CreateSession(ctx context.Context, s Session) error {
	if _, err := tx.exec(ctx, `INSERT INTO sessions (id, user_id, created_at) VALUES (?, ?, ?)`, s.ID, s.UserID, ms(s.CreatedAt)); err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// Session returns the session with id.
func (tx *Tx) Session(ctx context.Context, id string) (Session, error) {
	var s Session
	var created int64
	var revoked sql.NullInt64
	err := tx.queryRow(ctx, `SELECT id, user_id, created_at, revoked_at FROM sessions WHERE id = ?`, id).
		Scan(&s.ID, &s.UserID, &created, &revoked)
	if err != nil {
		return Session{}, notFound(err, "session_not_found", "Session")
	}
	s.CreatedAt, s.RevokedAt = fromMS(created), nullTime(revoked)
	return s, nil
}

// RevokeSession marks a session revoked (idempotent).
func (tx *Tx) RevokeSession(ctx context.Context, id string) error {
	if _, err := tx.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(tx.Now), id); err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	return nil
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
