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
	"sync"
	"time"

	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/store"
)

// Config wires a Service.
type Config struct {
	DB       *store.DB
	Tokens   *auth.Tokens
	Password auth.PasswordParams // default auth.DefaultPasswordParams
	// Passwords bounds concurrent password hashing (default: a Hasher
	// with Password as its cost and auth.HasherConfig's defaults). Every
	// hash and check goes through it.
	Passwords *auth.Hasher
	// RefreshTTL is how long a refresh token stays valid (default 30 days).
	RefreshTTL time.Duration
	Log        *slog.Logger
	// Media stores uploaded photos (default: uploads refused).
	Media Storage
	// UsernameGrace is how long a deleted account's username stays
	// reserved (default 30 days).
	UsernameGrace time.Duration
}

// Service is the rule layer. Safe for concurrent use.
type Service struct {
	db         *store.DB
	tokens     *auth.Tokens
	passwords  *auth.Hasher
	refreshTTL time.Duration
	log        *slog.Logger
	media      Storage
	dummyHash  string
	sessions   *sessionCache
	members    *memberCache   // chat list: participants per chat (chatlistcache.go)
	cards      *cardCache     // chat list: row and event per chat
	summaries  *summaryCache  // chat list: newest and recent messages per chat
	presence   *presenceCache // chat list: online state per user
	connLists  *connListCache // connection list: records per user (connlistcache.go)
	photoSlot  chan struct{}  // one whole-photo decode at a time (verifyPhoto)
	grace      time.Duration
	mediaJobs  sync.WaitGroup // deletions started after commits (mediadeletions.go)
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
	if cfg.UsernameGrace <= 0 {
		cfg.UsernameGrace = DefaultUsernameGrace
	}
	// A login for an unknown username still pays for one hash check, so
	// timing does not reveal which usernames exist.
	if cfg.Passwords == nil {
		cfg.Passwords = auth.NewHasher(auth.HasherConfig{Params: cfg.Password})
	}
	dummy, err := auth.HashPassword("not a real password", cfg.Passwords.Params())
	if err != nil {
		return nil, err
	}
	return &Service{
		db: cfg.DB, tokens: cfg.Tokens, passwords: cfg.Passwords,
		refreshTTL: cfg.RefreshTTL, log: cfg.Log, media: cfg.Media, dummyHash: dummy,
		sessions: newSessionCache(2*auth.AccessTTL, cfg.DB.Now), members: newMemberCache(), cards: newCardCache(), summaries: newSummaryCache(), presence: newPresenceCache(), connLists: newConnListCache(), photoSlot: make(chan struct{}, 1),
		grace: cfg.UsernameGrace,
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
