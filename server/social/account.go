package social

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/wire"
)

// Account lifecycle: the sessions a user can see and end, password
// change, account deletion (delete.go) and data export (export.go).
//
// Decisions (docs/DECISIONS.md, "Accounts"):
//   - A session is one login. Its client label is what the device sent at
//     login or registration (trimmed, at most MaxClientLen characters);
//     lastUsedAt is when it last got tokens (login or refresh), so it is
//     exact to within an access token's lifetime (15 minutes) without a
//     write on every request. Sessions whose refresh token expired are
//     not listed: nothing can use them any more.
//   - Ending a session revokes it: its access and refresh tokens fail at
//     once on this instance (within SessionCacheTTL on others), and the
//     live hub's heartbeat closes its sockets and sync streams.
//   - A wrong current password is 403 wrong_password (not 401: the
//     caller's token is fine, and a 401 would send clients to refresh).
//   - Password checks of the account routes are budgeted like sign-in
//     (the transport's rate limits): over the budget is 429, and the
//     password is not even checked.

// MaxClientLen bounds a session's client label.
const MaxClientLen = 100

func validClient(label string) (string, error) {
	label = strings.TrimSpace(label)
	if utf8.RuneCountInString(label) > MaxClientLen {
		return "", apperr.InvalidField("client", "client must be at most %d characters", MaxClientLen)
	}
	return label, nil
}

func accountDeleted() error {
	return apperr.Unauthenticatedf(syncv1.ReasonAccountDeleted, "This account has been deleted")
}

// Session is one login as GET /auth/sessions lists it.
type Session struct {
	ID         string    `json:"_id"`
	Client     string    `json:"client"`
	CreatedAt  wire.Time `json:"createdAt"`
	LastUsedAt wire.Time `json:"lastUsedAt"`
	// Current marks the session of the request's own token.
	Current bool `json:"current"`
}

// Sessions lists the caller's active sessions, most recently used first.
// current is the session of the caller's token.
func (s *Service) Sessions(ctx context.Context, userID, current string) ([]Session, error) {
	var rows []store.Session
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		rows, err = tx.ActiveSessions(ctx, userID, tx.Now.Add(-s.refreshTTL))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Session, len(rows))
	for i, r := range rows {
		out[i] = Session{ID: r.ID, Client: r.Client, CreatedAt: wire.T(r.CreatedAt), LastUsedAt: wire.T(r.LastUsedAt), Current: r.ID == current}
	}
	return out, nil
}

// EndSession ends one of the caller's sessions (their current one too,
// which is a logout). Another user's session, or one that already ended,
// is 404 session_not_found.
func (s *Service) EndSession(ctx context.Context, userID, sessionID string) error {
	if err := ValidID(FieldSessionID, sessionID); err != nil {
		return err
	}
	s.sessions.revoke(sessionID)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sess, err := tx.Session(ctx, sessionID)
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return err
		}
		if err != nil || sess.UserID != userID || !sess.RevokedAt.IsZero() {
			return apperr.NotFoundf("session_not_found", "Session %s not found", sessionID)
		}
		return tx.RevokeSession(ctx, sessionID)
	})
	if err != nil {
		// Not ours, already ended, or not written: the cache must not
		// refuse a session the database still holds active.
		s.sessions.unrevoke(sessionID)
	}
	return err
}

// EndOtherSessions ends every session of the caller but current and
// returns how many it ended.
func (s *Service) EndOtherSessions(ctx context.Context, userID, current string) (int, error) {
	var ended []string
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		ended, err = s.endSessions(ctx, tx, userID, current, "")
		return err
	})
	return len(ended), err
}

// endSessions revokes every active session of user but keep, with reason,
// and deletes their refresh tokens. The sessions are refused on this
// instance once the transaction commits.
func (s *Service) endSessions(ctx context.Context, tx *store.Tx, userID, keep, reason string) ([]string, error) {
	ended, err := tx.RevokeSessionsOf(ctx, userID, keep, reason)
	if err != nil {
		return nil, err
	}
	tx.AfterCommit(func() {
		for _, id := range ended {
			s.sessions.revoke(id)
		}
	})
	return ended, nil
}

// PasswordChange is the input of ChangePassword.
type PasswordChange struct {
	Current string
	New     string
}

// ChangePassword sets a new password after checking the current one. Every
// other session of the caller ends; the session current (the caller's
// own) stays, with its tokens. Rate limited per user.
func (s *Service) ChangePassword(ctx context.Context, userID, current string, in PasswordChange) error {
	if in.Current == "" {
		return apperr.InvalidField("currentPassword", "currentPassword is required")
	}
	if err := validPassword(in.New); err != nil {
		return apperr.InvalidField("newPassword", "newPassword must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	if _, err := s.checkPassword(ctx, userID, in.Current); err != nil {
		return err
	}
	hash, err := s.passwords.Hash(ctx, in.New)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetPasswordHash(ctx, userID, hash); err != nil {
			return err
		}
		_, err := s.endSessions(ctx, tx, userID, current, "")
		return err
	})
}

// checkPassword checks password against userID's stored hash: 403
// wrong_password when it does not match. Transports budget the attempts
// (REST: like sign-in, ratelimit.Set.PasswordAllowed).
func (s *Service) checkPassword(ctx context.Context, userID, password string) (store.User, error) {
	if len(password) > 4*MaxPasswordLen {
		return store.User{}, wrongPassword()
	}
	var u store.User
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		u, err = tx.User(ctx, userID)
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	if !u.DeletedAt.IsZero() {
		return store.User{}, accountDeleted()
	}
	ok, err := s.passwords.Check(ctx, password, u.PasswordHash)
	if err != nil {
		return store.User{}, fmt.Errorf("social: check password of %s: %w", userID, err)
	}
	if !ok {
		return store.User{}, wrongPassword()
	}
	return u, nil
}

func wrongPassword() error {
	return apperr.Forbiddenf("wrong_password", "The password is not correct")
}

// DefaultUsernameGrace is how long a deleted account's username stays
// reserved: long enough that nobody can take it to pass as the deleted
// user in the chats and replicas that still show it, the way the large
// services hold a freed handle (30 days).
const DefaultUsernameGrace = 30 * 24 * time.Hour

// releaseUsername frees username if a deleted account has held it for
// longer than the grace period, so the write that wants it can take it.
func (s *Service) releaseUsername(ctx context.Context, tx *store.Tx, username string) error {
	return tx.ReleaseUsername(ctx, username, tx.Now.Add(-s.grace))
}
