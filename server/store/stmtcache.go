package store

import (
	"context"
	"database/sql"
	"sync"
)

// Bound LIMIT and OFFSET values are written `LIMIT CAST(? AS INTEGER)`:
// SQLite's planner reads a bare `LIMIT ?` parameter's value, which marks
// the prepared statement expired whenever the parameter is bound again, so
// every run would parse and plan it anew (about 30 µs each here). The cast
// keeps the plan independent of the value.

// maxCachedStmts bounds how many distinct statements one pool keeps
// prepared; statements beyond it run unprepared as before.
const maxCachedStmts = 512

// stmtCache keeps the statements a pool has run prepared, so SQLite parses
// and plans each one once per connection instead of on every call.
//
// A statement is never prepared while a transaction holds a connection of
// the pool (the writer pool has one connection, so that would wait on
// itself): the first transaction to run a query runs it unprepared and
// marks it wanted; prepareWanted, called once the transaction has ended,
// prepares it on the pool. Later transactions bind the pool statement to
// their connection with sql.Tx.StmtContext, which prepares it once per
// connection and reuses it from then on.
type stmtCache struct {
	pool   *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]bool // true: queued for preparing; false: failed, leave unprepared
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// get returns the prepared statement for query, or nil after queueing it.
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil {
		return st
	}
	if _, seen := c.wanted[query]; !seen && len(c.stmts)+len(c.wanted) < maxCachedStmts {
		c.wanted[query] = true
	}
	return nil
}

// prepareWanted prepares the queued statements. It must run with no
// transaction of this goroutine open on the pool.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	var queries []string
	for q, want := range c.wanted {
		if want {
			queries = append(queries, q)
			c.wanted[q] = false
		}
	}
	c.mu.Unlock()
	if len(queries) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, q := range queries {
		st, err := c.pool.PrepareContext(ctx, q)
		c.mu.Lock()
		if err == nil {
			c.stmts[q] = st
			delete(c.wanted, q)
		} // on failure the query stays marked false: it keeps running unprepared
		c.mu.Unlock()
	}
}

// close closes every prepared statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}
