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
//   - Each chat's row and event, keyed by the chat's card_version
//     (migration 00020), which moves with any change to either.
//   - The newest message and the recent messages' times and senders,
//     per chat, keyed by the chat's messages_version (migration 00019),
//     which every message insert, delete and change moves: the newest
//     message comes from memory, and a viewer's unread count is a binary
//     search in the recent times, exact for the same reason. A viewer
//     whose read mark is older than the summary's window (summaryWindow
//     messages) has theirs counted by the database.
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
	summaryCacheChats  = 8192
	cardCacheChats     = 8192
	presenceCacheUsers = 1 << 16
)

// summaryWindow is how many of a chat's newest messages its summary holds
// at least: a reader whose read mark is older than the window has their
// unread count read from the database instead.
const summaryWindow = 64

// versioned holds one value per chat, each valid at one version of the
// chat (a column that triggers move with every change the value depends
// on, read in the request's snapshot).
type versioned[T any] struct {
	mu    sync.Mutex
	m     map[string]versionedEntry[T]
	limit int
}

type versionedEntry[T any] struct {
	version int64
	v       T // shared: never modified once stored
}

func newVersioned[T any](limit int) *versioned[T] {
	return &versioned[T]{m: make(map[string]versionedEntry[T]), limit: limit}
}

// get returns chat id's value if it was read at version.
func (c *versioned[T]) get(id string, version int64) (T, bool) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || e.version != version {
		var zero T
		return zero, false
	}
	return e.v, true
}

// put stores v as chat id's value at version, unless a newer version is
// stored already.
func (c *versioned[T]) put(id string, version int64, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok && e.version > version {
		return
	}
	makeRoom(c.m, id, c.limit)
	c.m[id] = versionedEntry[T]{version: version, v: v}
}

// memberCache: each chat's participants with their profiles, at the
// chat's members_version (see chatMembers).
type memberCache = versioned[*chatMembers]

func newMemberCache() *memberCache { return newVersioned[*chatMembers](memberCacheChats) }

// cardCache: each chat's row and event, at the chat's card_version.
type cardCache = versioned[*store.ChatCard]

func newCardCache() *cardCache { return newVersioned[*store.ChatCard](cardCacheChats) }

// summaryCache: each chat's newest message and recent messages' times and
// senders (store.MessageSummary), at the chat's messages_version.
type summaryCache = versioned[*store.MessageSummary]

func newSummaryCache() *summaryCache { return newVersioned[*store.MessageSummary](summaryCacheChats) }

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
// from tx. It returns the time the oldest answer was read at (now when
// every one was read now).
func (c *presenceCache) online(ctx context.Context, tx *store.Tx, ids []string, now time.Time, gen int64, out map[string]bool) (time.Time, error) {
	var miss []string
	oldest := now
	c.mu.Lock()
	for _, id := range ids {
		e, ok := c.m[id]
		if ok && e.gen == gen && !now.Before(e.at) && now.Sub(e.at) < PresenceCacheTTL {
			out[id] = e.online
			if e.at.Before(oldest) {
				oldest = e.at
			}
			continue
		}
		miss = append(miss, id)
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return oldest, nil
	}
	got, err := tx.Online(ctx, miss)
	if err != nil {
		return time.Time{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range miss {
		on := got[id]
		out[id] = on
		makeRoom(c.m, id, presenceCacheUsers)
		c.m[id] = presenceEntry{online: on, at: now, gen: gen}
	}
	return oldest, nil
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
