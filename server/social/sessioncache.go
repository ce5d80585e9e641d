package social

import (
	"sync"
	"time"
)

// SessionCacheTTL is how long a positive session check is reused before the
// database is asked again. It only bounds how late this instance notices a
// session revoked by another instance sharing the database; a revocation
// through this instance (logout, refresh-token reuse) takes effect at once.
const SessionCacheTTL = time.Second

// maxCachedSessions bounds the positive cache; when full it starts over.
const maxCachedSessions = 100_000

// sessionCache remembers which sessions were found active, so a request
// does not open a read transaction only to look its session up again.
//
// Revocation stays exact on this instance: revoke records the session id
// before the revoking write runs, and no check that started earlier can
// put it back (remember refuses revoked ids under the same lock), so from
// the moment Logout starts no request through this instance passes with
// that session. Revoked ids are kept for twice an access token's lifetime,
// after which its tokens are expired anyway.
type sessionCache struct {
	mu      sync.Mutex
	active  map[string]cachedSession
	revoked map[string]time.Time // session id → when it was revoked here
	keep    time.Duration        // how long revoked ids are kept
	now     func() time.Time     // the service's clock
}

type cachedSession struct {
	user    string
	checked time.Time
}

func newSessionCache(keep time.Duration, now func() time.Time) *sessionCache {
	return &sessionCache{active: map[string]cachedSession{}, revoked: map[string]time.Time{}, keep: keep, now: now}
}

// lookup reports whether session id is known revoked here, or known active
// for user within the TTL.
func (c *sessionCache) lookup(id, user string) (revoked, active bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.revoked[id]; ok {
		return true, false
	}
	s, ok := c.active[id]
	return false, ok && s.user == user && c.now().Sub(s.checked) < SessionCacheTTL
}

// remember records that session id of user was found active at checked
// (taken before the database was read), unless it has been revoked here
// since.
func (c *sessionCache) remember(id, user string, checked time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.revoked[id]; ok {
		return
	}
	if len(c.active) >= maxCachedSessions {
		clear(c.active)
	}
	c.active[id] = cachedSession{user: user, checked: checked}
}

// revoke marks session id revoked on this instance.
func (c *sessionCache) revoke(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	delete(c.active, id)
	c.revoked[id] = now
	if len(c.revoked)%1024 == 0 {
		for k, at := range c.revoked {
			if now.Sub(at) > c.keep {
				delete(c.revoked, k)
			}
		}
	}
}

// unrevoke forgets a revocation whose write failed, so the session (still
// active in the database) works again.
func (c *sessionCache) unrevoke(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.revoked, id)
}
