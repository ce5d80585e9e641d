package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vibesync/vibesync/server/apperr"
)

// AccessTTL is how long an access token is valid.
const AccessTTL = 15 * time.Minute

// Claims is what a verified access token says.
type Claims struct {
	UserID    string
	SessionID string
	ExpiresAt time.Time
}

// Tokens signs and verifies access tokens (JWT, HS256). Safe for concurrent use.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time

	// verified holds the claims of tokens that passed Verify, keyed by
	// the whole token (signature included), so a client's next requests
	// skip decoding and checking it again; expiry is still checked on
	// every use. Bounded: past verifiedLimit an entry is dropped at
	// random (a miss costs one full check, never a wrong answer).
	mu       sync.Mutex
	verified map[string]Claims
}

const verifiedLimit = 1 << 16

// NewTokens returns a signer with the given secret (at least 32 bytes), TTL
// (default AccessTTL) and clock (default time.Now).
func NewTokens(secret []byte, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, errors.New("auth: token secret must be at least 32 bytes")
	}
	if ttl <= 0 {
		ttl = AccessTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{secret: secret, ttl: ttl, now: now, verified: make(map[string]Claims)}, nil
}

type jwtClaims struct {
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

const issuer = "vibesync"

// Issue signs an access token for user in session.
func (t *Tokens) Issue(userID, sessionID string) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		SessionID: sessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	})
	s, err := tok.SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign: %w", err)
	}
	return s, exp, nil
}

// Verify checks signature, issuer and expiry. Every failure is an
// apperr.Unauthenticated error saying which. A token that passed once is
// not decoded again (see Tokens.verified): only its expiry is checked,
// as the full check compares it (valid strictly before it).
func (t *Tokens) Verify(token string) (Claims, error) {
	t.mu.Lock()
	known, ok := t.verified[token]
	t.mu.Unlock()
	if ok {
		if t.now().Before(known.ExpiresAt) {
			return known, nil
		}
		t.mu.Lock()
		delete(t.verified, token)
		t.mu.Unlock()
	}
	out, err := t.verify(token)
	if err != nil {
		return Claims{}, err
	}
	t.mu.Lock()
	if _, ok := t.verified[token]; !ok && len(t.verified) >= verifiedLimit {
		for k := range t.verified {
			delete(t.verified, k)
			break
		}
	}
	t.verified[token] = out
	t.mu.Unlock()
	return out, nil
}

func (t *Tokens) verify(token string) (Claims, error) {
	var c jwtClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
		// One string per token: base64url's last character carries
		// padding bits that a lenient decoder ignores, so a token with
		// them changed would decode, and verify, as the original.
		jwt.WithStrictDecoding(),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, apperr.Unauthenticatedf("token_expired", "The access token has expired; refresh it")
	case err != nil:
		return Claims{}, apperr.Unauthenticatedf("token_invalid", "The access token is not valid")
	case c.Subject == "" || c.SessionID == "":
		return Claims{}, apperr.Unauthenticatedf("token_invalid", "The access token is not valid")
	}
	return Claims{UserID: c.Subject, SessionID: c.SessionID, ExpiresAt: c.ExpiresAt.Time}, nil
}

// NewRefreshToken returns an opaque random refresh token and the hash to
// store for it.
func NewRefreshToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("auth: refresh token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashRefreshToken(token), nil
}

// HashRefreshToken is the stored form of a refresh token.
func HashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// BearerToken returns the token from "Authorization: Bearer …", or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

type ctxKey struct{}

// WithClaims returns ctx carrying c.
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the claims the middleware put in ctx.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(Claims)
	return c, ok
}

// SessionCheck returns nil when the session is still active, or an
// apperr.Unauthenticated error when it was revoked.
type SessionCheck func(ctx context.Context, c Claims) error

// Authenticate verifies the bearer token of r (or, when allowQuery is set,
// the "token" query parameter, for browser WebSockets) and its session.
func Authenticate(r *http.Request, t *Tokens, check SessionCheck, allowQuery bool) (Claims, error) {
	raw := BearerToken(r)
	if raw == "" && allowQuery {
		raw = r.URL.Query().Get("token")
	}
	if raw == "" {
		return Claims{}, apperr.Unauthenticatedf("token_missing", "Send an access token as Authorization: Bearer <token>")
	}
	c, err := t.Verify(raw)
	if err != nil {
		return Claims{}, err
	}
	if err := check(r.Context(), c); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// Middleware lets a request through only with a valid, unrevoked access
// token, putting its Claims in the context; otherwise it calls fail (which
// writes the 401).
func Middleware(t *Tokens, check SessionCheck, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := Authenticate(r, t, check, false)
			if err != nil {
				fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
		})
	}
}
