package ratelimit

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Config is every budget of a vibesync instance. Use Defaults for the
// documented defaults; a zero Limit is "off".
type Config struct {
	// Auth limits each client address on each of POST /auth/register,
	// /auth/login and /auth/refresh (separate buckets per route).
	Auth Limit
	// LoginFailures limits wrong passwords for one account from one
	// client address.
	LoginFailures Limit
	// AccountFailures limits wrong passwords for one account from all
	// the addresses that never signed in to it (see Set).
	AccountFailures Limit
	// Writes limits each user's writes: every REST call other than
	// GET/HEAD, and every mutation of a sync push.
	Writes Limit
	// Exports limits each user's data exports (GET /users/me/export),
	// which read everything the user has.
	Exports Limit
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For is believed (see ClientAddr).
	TrustedProxies []netip.Prefix
	// KnownFor is how long an address that signed in to an account stays
	// exempt from AccountFailures for that account (default 30 days).
	KnownFor time.Duration
}

// Defaults returns the documented default budgets.
func Defaults() Config {
	return Config{
		Auth:            Limit{Every: 3 * time.Second, Burst: 20},         // 20/m:20
		LoginFailures:   Limit{Every: 6 * time.Minute, Burst: 5},          // 10/h:5
		AccountFailures: Limit{Every: time.Minute, Burst: 20},             // 60/h:20
		Writes:          Limit{Every: 100 * time.Millisecond, Burst: 100}, // 10/s:100
		Exports:         Limit{Every: 10 * time.Minute, Burst: 3},         // 6/h:3
		KnownFor:        30 * 24 * time.Hour,
	}
}

// Off is a Config that limits nothing (benchmarks, some tests).
func Off() Config { return Config{KnownFor: time.Hour} }

// ParseProxies reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 127.0.0.1").
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix", f))
			continue
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, errors.Join(errs...)
}

// Set is the instance's budgets. Safe for concurrent use.
//
// Sign-in policy. Wrong passwords are counted two ways. Per account and
// client address (LoginFailures): one address guessing at one account is
// slowed to a few guesses an hour. Per account over all addresses
// (AccountFailures): guessing spread over many addresses is bounded too
// (with the defaults, about 1,500 guesses a day at most). Neither is a
// lockout window an attacker can extend for ever against the owner: the
// buckets refill continuously, a correct password is never counted, and
// an address that signed in to the account successfully in the last
// KnownFor (the owner's phone, home, office) is exempt from the
// account-wide budget — so an attacker who keeps that budget empty from
// elsewhere does not lock the owner out; the owner's own address only
// answers for its own wrong passwords. A refused attempt costs no
// password hash and is not counted as a failure.
type Set struct {
	cfg     Config
	now     func() time.Time
	auth    *Keyed
	addr    *Keyed
	account *Keyed
	writes  *Keyed
	exports *Keyed
	known   *knownAddrs
}

// NewSet returns the budgets of cfg; now is the clock (nil: time.Now).
func NewSet(cfg Config, now func() time.Time) *Set {
	if now == nil {
		now = time.Now
	}
	if cfg.KnownFor <= 0 {
		cfg.KnownFor = 30 * 24 * time.Hour
	}
	return &Set{cfg: cfg, now: now,
		auth: New(cfg.Auth, now), addr: New(cfg.LoginFailures, now), account: New(cfg.AccountFailures, now),
		writes: New(cfg.Writes, now), exports: New(cfg.Exports, now), known: &knownAddrs{m: map[string]time.Time{}}}
}

// Config is the configuration s was built from.
func (s *Set) Config() Config { return s.cfg }

// Auth takes a token of the per-address budget of route ("login", …).
func (s *Set) Auth(route, addr string) error {
	if d, ok := s.auth.Allow(route + "|" + addr); !ok {
		return Err("rate_limited", d)
	}
	return nil
}

// Writes takes n tokens (one per write) from user's write budget.
func (s *Set) Writes(userID string, n int) error {
	if d, ok := s.writes.AllowN(userID, n); !ok {
		return Err("rate_limited", d)
	}
	return nil
}

// WritesLimiter is the per-user write budget itself, for callers that
// take tokens one at a time (sync push).
func (s *Set) WritesLimiter() *Keyed { return s.writes }

// Export takes a token of user's export budget.
func (s *Set) Export(userID string) error {
	if d, ok := s.exports.Allow(userID); !ok {
		return Err("rate_limited", d)
	}
	return nil
}

// PasswordAllowed is LoginAllowed for a signed-in user proving their
// password again (password change, account deletion): the same budgets,
// keyed by the user id so they neither share nor drain a username's.
// Count a wrong password with PasswordFailed.
func (s *Set) PasswordAllowed(userID, addr string) error {
	return s.LoginAllowed("#"+userID, addr)
}

// PasswordFailed counts a wrong password of user from addr.
func (s *Set) PasswordFailed(userID, addr string) { s.LoginFailed("#"+userID, addr) }

// LoginAllowed reports whether a sign-in to account (a username, case
// ignored) from addr may have its password checked now; when not, the
// 429 error says when to try again.
func (s *Set) LoginAllowed(account, addr string) error {
	account = strings.ToLower(account)
	if d, ok := s.addr.Check(account + "|" + addr); !ok {
		return Err("too_many_failed_logins", d)
	}
	if s.known.has(account, addr, s.now()) {
		return nil
	}
	if d, ok := s.account.Check(account); !ok {
		return Err("too_many_failed_logins", d)
	}
	return nil
}

// LoginFailed counts a wrong password for account from addr.
func (s *Set) LoginFailed(account, addr string) {
	account = strings.ToLower(account)
	s.addr.Spend(account + "|" + addr)
	if !s.known.has(account, addr, s.now()) {
		s.account.Spend(account)
	}
}

// LoginSucceeded remembers addr as one the owner of account uses.
func (s *Set) LoginSucceeded(account, addr string) {
	now := s.now()
	s.known.add(strings.ToLower(account), addr, now, now.Add(s.cfg.KnownFor))
}

// maxKnown bounds the remembered (account, address) pairs.
const maxKnown = 1 << 18

// knownAddrs remembers addresses that signed in to an account.
type knownAddrs struct {
	mu sync.Mutex
	m  map[string]time.Time // account|addr → until
}

func (k *knownAddrs) has(account, addr string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	until, ok := k.m[account+"|"+addr]
	return ok && now.Before(until)
}

func (k *knownAddrs) add(account, addr string, now, until time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m) >= maxKnown {
		for key, u := range k.m {
			if !now.Before(u) {
				delete(k.m, key)
			}
		}
		for key := range k.m { // still full: forget arbitrary ones
			if len(k.m) < maxKnown {
				break
			}
			delete(k.m, key)
		}
	}
	k.m[account+"|"+addr] = until
}
