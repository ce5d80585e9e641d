package social

import (
	"context"
	"fmt"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// Tokens is what register, login and refresh answer.
type Tokens struct {
	User         User      `json:"user"`
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken"`
	ExpiresAt    time.Time `json:"-"`
}

// Registration is the input of Register.
type Registration struct {
	Name     string
	Username string
	Password string
	// Client labels the device for the session list ("Pixel 8 / vibesync
	// 1.4"); optional, at most MaxClientLen characters.
	Client string
}

// Credentials are the input of LoginWith.
type Credentials struct {
	Username string
	Password string
	Client   string // as Registration.Client
}

// Register creates a user and logs them in. Usernames are unique ignoring
// case (conflict "username_taken").
func (s *Service) Register(ctx context.Context, in Registration) (Tokens, error) {
	name, err := validName(in.Name)
	if err != nil {
		return Tokens{}, err
	}
	if err := validUsername(in.Username); err != nil {
		return Tokens{}, err
	}
	if err := validPassword(in.Password); err != nil {
		return Tokens{}, err
	}
	client, err := validClient(in.Client)
	if err != nil {
		return Tokens{}, err
	}
	hash, err := s.passwords.Hash(ctx, in.Password)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		u := store.User{ID: oid.NewAt(tx.Now), Name: name, Username: in.Username, PasswordHash: hash, CreatedAt: tx.Now, UpdatedAt: tx.Now}
		if err := s.releaseUsername(ctx, tx, in.Username); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		out.User = userFrom(u)
		if err := put(ctx, tx, EntityUser, u.ID, out.User, UserBucket(u.ID)); err != nil {
			return err
		}
		return s.startSession(ctx, tx, u.ID, client, &out)
	})
	return out, err
}

// Login checks a username (ignoring case) and password and starts a session.
// A wrong username and a wrong password get the same answer.
func (s *Service) Login(ctx context.Context, username, password string) (Tokens, error) {
	return s.LoginWith(ctx, Credentials{Username: username, Password: password})
}

// LoginWith is Login with the device's label for the session list.
func (s *Service) LoginWith(ctx context.Context, in Credentials) (Tokens, error) {
	username, password := in.Username, in.Password
	client, err := validClient(in.Client)
	if err != nil {
		return Tokens{}, err
	}
	if username == "" {
		return Tokens{}, apperr.InvalidField("username", "username is required")
	}
	if password == "" {
		return Tokens{}, apperr.InvalidField("password", "password is required")
	}
	if len(username) > MaxUsernameLen || len(password) > 4*MaxPasswordLen {
		return Tokens{}, badLogin()
	}
	var u store.User
	err = s.db.Read(ctx, func(tx *store.Tx) (err error) {
		u, err = tx.UserByUsername(ctx, username)
		return err
	})
	hash := u.PasswordHash
	if apperr.Is(err, apperr.NotFound) {
		hash = s.dummyHash
	} else if err != nil {
		return Tokens{}, err
	}
	ok, cerr := s.passwords.Check(ctx, password, hash)
	if _, busy := apperr.As(cerr); busy || cerr != nil && ctx.Err() != nil {
		return Tokens{}, cerr // every slot busy, or the caller left while waiting
	}
	if cerr != nil {
		return Tokens{}, fmt.Errorf("social: check password of %s: %w", u.ID, cerr)
	}
	if err != nil || !ok {
		return Tokens{}, badLogin()
	}
	var out Tokens
	out.User = userFrom(u)
	err = s.db.Write(ctx, func(tx *store.Tx) error { return s.startSession(ctx, tx, u.ID, client, &out) })
	return out, err
}

func badLogin() error {
	return apperr.Unauthenticatedf("invalid_credentials", "Wrong username or password")
}

func (s *Service) startSession(ctx context.Context, tx *store.Tx, userID, client string, out *Tokens) error {
	sess := store.Session{ID: oid.NewAt(tx.Now), UserID: userID, Client: client, CreatedAt: tx.Now}
	if err := tx.CreateSession(ctx, sess); err != nil {
		return err
	}
	return s.issue(ctx, tx, sess, out)
}

func (s *Service) issue(ctx context.Context, tx *store.Tx, sess store.Session, out *Tokens) error {
	refresh, hash, err := auth.NewRefreshToken()
	if err != nil {
		return err
	}
	if err := tx.InsertRefreshToken(ctx, store.RefreshToken{Hash: hash, SessionID: sess.ID, ExpiresAt: tx.Now.Add(s.refreshTTL)}); err != nil {
		return err
	}
	access, exp, err := s.tokens.Issue(sess.UserID, sess.ID)
	if err != nil {
		return err
	}
	out.AccessToken, out.RefreshToken, out.ExpiresAt = access, refresh, exp
	return nil
}

// Refresh trades a refresh token for a new pair. Refresh tokens rotate: each
// works once. Presenting one that was already used means it leaked, so the
// whole session (every token of the family) is revoked.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	if refreshToken == "" {
		return Tokens{}, apperr.InvalidField("refreshToken", "refreshToken is required")
	}
	var out Tokens
	var reused bool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		rt, err := tx.RefreshTokenByHash(ctx, auth.HashRefreshToken(refreshToken))
		if apperr.Is(err, apperr.NotFound) {
			return apperr.Unauthenticatedf("refresh_token_invalid", "The refresh token is not valid")
		} else if err != nil {
			return err
		}
		sess, err := tx.Session(ctx, rt.SessionID)
		if err != nil {
			return err
		}
		switch {
		case sess.EndReason == store.EndAccountDeleted:
			return accountDeleted()
		case !sess.RevokedAt.IsZero():
			return apperr.Unauthenticatedf("session_revoked", "This session has ended; log in again")
		case !rt.UsedAt.IsZero():
			reused = true
			s.sessions.revoke(sess.ID)
			return tx.RevokeSession(ctx, sess.ID)
		case !tx.Now.Before(rt.ExpiresAt):
			return apperr.Unauthenticatedf("refresh_token_expired", "The refresh token has expired; log in again")
		}
		if err := tx.MarkRefreshTokenUsed(ctx, rt.Hash); err != nil {
			return err
		}
		if err := tx.TouchSession(ctx, sess.ID); err != nil {
			return err
		}
		u, err := tx.User(ctx, sess.UserID)
		if err != nil {
			return err
		}
		out.User = userFrom(u)
		return s.issue(ctx, tx, sess, &out)
	})
	if err == nil && reused {
		return Tokens{}, apperr.Unauthenticatedf("refresh_token_reused", "This refresh token was already used; the session has been ended, log in again")
	}
	return out, err
}

// Logout ends the session the access token belongs to; its access and
// refresh tokens stop working at once.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	s.sessions.revoke(sessionID)
	err := s.db.Write(ctx, func(tx *store.Tx) error { return tx.RevokeSession(ctx, sessionID) })
	if err != nil {
		s.sessions.unrevoke(sessionID)
	}
	return err
}

// CheckSession returns nil when the token's session is active and belongs
// to its user; an apperr.Unauthenticated error otherwise. A session found
// active is trusted for SessionCacheTTL without asking the database again;
// one revoked through this instance is refused at once.
func (s *Service) CheckSession(ctx context.Context, c auth.Claims) error {
	revoked, active := s.sessions.lookup(c.SessionID, c.UserID)
	if revoked {
		// Refused whatever the database says (the revoking write may not
		// have committed yet); the database only tells which reason.
		var sess store.Session
		err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
			sess, err = tx.Session(ctx, c.SessionID)
			return err
		})
		if err == nil && sess.UserID == c.UserID && sess.EndReason == store.EndAccountDeleted {
			return accountDeleted()
		}
		return apperr.Unauthenticatedf(syncv1.ReasonTokenRevoked, "This session has ended; log in again")
	}
	if active {
		return nil
	}
	checked := s.sessions.now()
	var sess store.Session
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		sess, err = tx.Session(ctx, c.SessionID)
		return err
	})
	if err == nil && sess.UserID == c.UserID && sess.EndReason == store.EndAccountDeleted {
		return accountDeleted()
	}
	if apperr.Is(err, apperr.NotFound) || err == nil && (sess.UserID != c.UserID || !sess.RevokedAt.IsZero()) {
		return apperr.Unauthenticatedf(syncv1.ReasonTokenRevoked, "This session has ended; log in again")
	}
	if err == nil {
		s.sessions.remember(c.SessionID, c.UserID, checked)
	}
	return err
}
