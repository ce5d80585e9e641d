// Package social holds vibesync's rules: validation, permission checks,
// error codes and every write path. REST, Connect and sync push call these
// methods and nothing else writes. It knows no transport and no SQL: each
// write is one store.Write transaction that also appends its change-feed
// rows and live events.
//
// The methods are grouped by aggregate, one file each (users, sessions, …).
package social

import (
	"errors"
	"log/slog"
	"time"

	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/store"
)

// Config wires a Service.
type Config struct {
	DB       *store.DB
	Tokens   *auth.Tokens
	Password auth.PasswordParams // default auth.DefaultPasswordParams
	// RefreshTTL is how long a refresh token stays valid (default 30 days).
	RefreshTTL time.Duration
	Log        *slog.Logger
	// Media stores uploaded photos (default: uploads refused).
	Media Storage
	// PasswordLimiter bounds password changes and account deletions per
	// user (default PasswordAttempts); ExportLimiter bounds data exports
	// per user (default ExportAttempts).
	PasswordLimiter Limiter
	ExportLimiter   Limiter
	// UsernameGrace is how long a deleted account's username stays
	// reserved (default 30 days).
	UsernameGrace time.Duration
}

// Service is the rule layer. Safe for concurrent use.
type Service struct {
	db         *store.DB
	tokens     *auth.Tokens
	password   auth.PasswordParams
	refreshTTL time.Duration
	log        *slog.Logger
	media      Storage
	dummyHash  string
	sessions   *sessionCache
	pwLimit    Limiter
	exportLim  Limiter
	grace      time.Duration
}

// New returns a Service over cfg.DB.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Tokens == nil {
		return nil, errors.New("social: DB and Tokens are required")
	}
	if cfg.Password == (auth.PasswordParams{}) {
		cfg.Password = auth.DefaultPasswordParams
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Media == nil {
		cfg.Media = noStorage{}
	}
	if cfg.PasswordLimiter == nil {
		cfg.PasswordLimiter = NewKeyedLimiter(PasswordAttempts, cfg.DB.Now)
	}
	if cfg.ExportLimiter == nil {
		cfg.ExportLimiter = NewKeyedLimiter(ExportAttempts, cfg.DB.Now)
	}
	if cfg.UsernameGrace <= 0 {
		cfg.UsernameGrace = DefaultUsernameGrace
	}
	// A login for an unknown username still pays for one hash check, so
	// timing does not reveal which usernames exist.
	dummy, err := auth.HashPassword("not a real password", cfg.Password)
	if err != nil {
		return nil, err
	}
	return &Service{
		db: cfg.DB, tokens: cfg.Tokens, password: cfg.Password,
		refreshTTL: cfg.RefreshTTL, log: cfg.Log, media: cfg.Media, dummyHash: dummy,
		sessions: newSessionCache(2*auth.AccessTTL, cfg.DB.Now),
		pwLimit:  cfg.PasswordLimiter, exportLim: cfg.ExportLimiter, grace: cfg.UsernameGrace,
	}, nil
}

// Caller is who performs an operation: the authenticated user, and the
// socket id of their live connection (its own event is not echoed back).
type Caller struct {
	UserID string
	Socket string
}

// Validate checks the format of c's socket id (empty means none): 400
// invalid_socket. Transports call it on a socket id taken from a request
// header before anything runs.
func (c Caller) Validate() error { return c.valid() }

// Page asks for one page of a list. Offset and Limit come from the
// transport's own paging parameters.
type Page struct {
	Offset int
	Limit  int
}
