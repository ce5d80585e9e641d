package social

import (
	"sync"

	"github.com/vibesync/vibesync/server/store"
)

// The connection list's read model: each user's records (every status,
// those with someone either side blocks left out, most recent first,
// both users' profiles populated) are kept in memory, keyed by the
// user's connections_version (migration 00021). Triggers move it in the
// same transaction as any change to a record with the user on either
// side, to a block by or against the user, or to the profile (name,
// username, photo, bio, deletion) of the user or of anyone with a record
// with them. A list reads the version in its own snapshot — one point
// read outside a transaction (store.DB.ConnectionsVersion) — and uses a
// kept list only at that version, so the answer is the one the database
// gives, on every instance sharing it. A miss reads the version and the
// records in one transaction and keeps them at the version read there.
// Pages, roles and status filters are cut from the kept list in Go, in
// the statement's order.

// Bounds of the connection list cache: a user with more records than
// connListMaxRecords is read from the database page by page, as before
// (the cache remembers that, at the version, so the whole list is not
// read again first);
// past connListCacheRecords records in all, lists are dropped at random
// to make room (a miss costs one read, never a wrong answer).
const (
	connListMaxRecords   = 500
	connListCacheRecords = 1 << 16
)

// connListCache holds each user's records at one connections_version.
// Safe for concurrent use.
type connListCache struct {
	mu      sync.Mutex
	m       map[string]connListEntry
	records int // sum of len(conns) over m
}

type connListEntry struct {
	version int64
	conns   []Connection // shared: never modified once stored
	tooMany bool         // more than connListMaxRecords records: read page by page
}

func newConnListCache() *connListCache {
	return &connListCache{m: make(map[string]connListEntry)}
}

// get returns userID's records if they were read at version (kept), or
// whether userID had too many records to keep at version: then the list
// is read page by page without reading the whole list first.
func (c *connListCache) get(userID string, version int64) (conns []Connection, kept, tooMany bool) {
	c.mu.Lock()
	e, ok := c.m[userID]
	c.mu.Unlock()
	if !ok || e.version != version {
		return nil, false, false
	}
	return e.conns, !e.tooMany, e.tooMany
}

// putTooMany records that userID had more than connListMaxRecords
// records at version.
func (c *connListCache) putTooMany(userID string, version int64) {
	c.store(userID, connListEntry{version: version, tooMany: true})
}

// put stores conns as userID's records at version, unless a newer version
// is stored already.
func (c *connListCache) put(userID string, version int64, conns []Connection) {
	if len(conns) > connListMaxRecords {
		return
	}
	c.store(userID, connListEntry{version: version, conns: conns})
}

func (c *connListCache) store(userID string, entry connListEntry) {
	version, conns := entry.version, entry.conns
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[userID]; ok {
		if e.version > version {
			return
		}
		c.records -= len(e.conns)
		delete(c.m, userID)
	}
	for k, e := range c.m {
		if c.records+len(conns) <= connListCacheRecords && len(c.m) < connListCacheRecords {
			break
		}
		c.records -= len(e.conns)
		delete(c.m, k)
	}
	c.m[userID] = entry
	c.records += len(conns)
}

// pageConnections cuts page p of the records in all (userID's, in list
// order) that match q, and counts them: what store.Connections answers
// for the same filter.
func pageConnections(all []Connection, userID string, q ConnectionQuery, p Page) ([]Connection, int) {
	match := func(c *Connection) bool {
		switch q.Role {
		case store.RoleSent:
			if c.From.ID != userID {
				return false
			}
		case store.RoleReceived:
			if c.To.ID != userID {
				return false
			}
		}
		if len(q.Statuses) == 0 {
			return true
		}
		for _, s := range q.Statuses {
			if c.Status == s {
				return true
			}
		}
		return false
	}
	offset := max(p.Offset, 0)
	var out []Connection
	total := 0
	for i := range all {
		c := &all[i]
		if !match(c) {
			continue
		}
		if total >= offset && (p.Limit < 0 || len(out) < p.Limit) {
			if out == nil {
				n := len(all) - i
				if p.Limit >= 0 {
					n = min(n, p.Limit)
				}
				out = make([]Connection, 0, n)
			}
			out = append(out, *c)
		}
		total++
	}
	if out == nil {
		out = []Connection{}
	}
	return out, total
}
