package social

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/vibesync/vibesync/server/apperr"
)

// Limiter decides whether one more attempt keyed by key (a user id) may
// run now. Config.PasswordLimiter and Config.ExportLimiter take one; the
// defaults are token buckets per key (NewKeyedLimiter).
type Limiter interface {
	Allow(key string) bool
}

// Default limits of the account routes that need no other protection
// than being rare: a password check is deliberately slow (argon2id), and
// an export reads everything a user has.
var (
	// PasswordAttempts: password changes and account deletions, per user.
	PasswordAttempts = Limit{Every: 12 * time.Second, Burst: 5} // 5 at once, then 5 a minute
	// ExportAttempts: data exports, per user.
	ExportAttempts = Limit{Every: 10 * time.Minute, Burst: 3}
)

// Limit is a token bucket: Burst attempts at once, then one per Every.
type Limit struct {
	Every time.Duration
	Burst int
}

// KeyedLimiter is a token bucket per key (x/time/rate), with the clock
// injected so tests can move time. Safe for concurrent use; keys whose
// bucket is full again are forgotten, so memory follows active keys.
type KeyedLimiter struct {
	limit Limit
	now   func() time.Time
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

// NewKeyedLimiter returns a KeyedLimiter of l over clock now.
func NewKeyedLimiter(l Limit, now func() time.Time) *KeyedLimiter {
	return &KeyedLimiter{limit: l, now: now, keys: map[string]*rate.Limiter{}}
}

// Allow takes one token of key's bucket if there is one.
func (k *KeyedLimiter) Allow(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if len(k.keys) >= 10_000 {
		for key, l := range k.keys {
			if l.TokensAt(now) >= float64(k.limit.Burst) {
				delete(k.keys, key)
			}
		}
	}
	l, ok := k.keys[key]
	if !ok {
		l = rate.NewLimiter(rate.Every(k.limit.Every), k.limit.Burst)
		k.keys[key] = l
	}
	return l.AllowN(now, 1)
}

func rateLimited(what string) error {
	return apperr.New(apperr.RateLimited, "rate_limited", "Too many %s; try again later", what)
}
