package social

import (
	"context"
	"sync"
	"time"

	"github.com/vibesync/vibesync/server/store"
)

// The chat list's read model: what GET /chats shows of each chat's
// participants is kept in memory instead of read row by row from SQLite
// on every request (a page of 10 group chats of 20 carries 200).
//
//   - Participants with their profiles, per chat, keyed by the chat's
//     members_version (migration 00017): triggers move it in the same
//     transaction as any change to the chat's participants or their
//     users' names, usernames and photos, and the list's page query reads
//     it with the chat row. A cached list is used only when its version is
//     the one in the request's own snapshot, so the answer is the one the
//     database gives, on every instance sharing it.
//   - Presence (isOnline), per user, for PresenceCacheTTL: exact for
//     sockets of this instance (an entry is dropped when this process
//     commits a presence change, see store.DB.PresenceGeneration); a
//     socket that opens or closes on another instance, or presence that
//     expires, shows within PresenceCacheTTL — the same bound the session
//     check cache accepts (SessionCacheTTL).

// PresenceCacheTTL is how long a chat list trusts a user's online state
// read from the database (see above).
const PresenceCacheTTL = time.Second

// Bounds of the caches: past them an entry is dropped at random to make
// room (a miss costs one read, never a wrong answer).
const (
	memberCacheChats   = 8192
	presenceCacheUsers = 1 << 16
)

// memberEntry is one chat's participants at one members_version.
type memberEntry struct {
	version int64
	list    []store.ParticipantPerson // shared: never modified once stored
}

type memberCache struct {
	mu sync.Mutex
	m  map[string]memberEntry
}

func newMemberCache() *memberCache { return &memberCache{m: make(map[string]memberEntry)} }

// get returns chat id's participants if they were read at version.
func (c *memberCache) get(id string, version int64) ([]store.ParticipantPerson, bool) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || e.version != version {
		return nil, false
	}
	return e.list, true
}

// put stores list as chat id's participants at version, unless a newer
// version is stored already.
func (c *memberCache) put(id string, version int64, list []store.ParticipantPerson) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok && e.version > version {
		return
	}
	makeRoom(c.m, id, memberCacheChats)
	c.m[id] = memberEntry{version: version, list: list}
}

// presenceEntry is whether a user was online at a time, read while this
// process's presence generation was gen.
type presenceEntry struct {
	online bool
	at     time.Time
	gen    int64
}

type presenceCache struct {
	mu sync.Mutex
	m  map[string]presenceEntry
}

func newPresenceCache() *presenceCache { return &presenceCache{m: make(map[string]presenceEntry)} }

// online fills out[id] for every id of ids: from the cache when an entry
// is fresh at now and generation gen, otherwise (all misses in one query)
// from tx.
func (c *presenceCache) online(ctx context.Context, tx *store.Tx, ids []string, now time.Time, gen int64, out map[string]bool) error {
	var miss []string
	c.mu.Lock()
	for _, id := range ids {
		e, ok := c.m[id]
		if ok && e.gen == gen && !now.Before(e.at) && now.Sub(e.at) < PresenceCacheTTL {
			out[id] = e.online
			continue
		}
		miss = append(miss, id)
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return nil
	}
	got, err := tx.Online(ctx, miss)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range miss {
		on := got[id]
		out[id] = on
		makeRoom(c.m, id, presenceCacheUsers)
		c.m[id] = presenceEntry{online: on, at: now, gen: gen}
	}
	return nil
}

// makeRoom drops one arbitrary entry of m when it holds limit entries and
// key is not among them, so that storing key keeps m within limit.
func makeRoom[V any](m map[string]V, key string, limit int) {
	if _, ok := m[key]; ok || len(m) < limit {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}
