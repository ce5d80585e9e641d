package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/vibesync/vibesync/server/apperr"
)

// Transactions on a libSQL server (sqld, Turso) over the wire.
//
// libsql-client-go speaks Hrana over HTTP: every statement sent on its
// own is one HTTP round trip, and database/sql's transactions add one for
// BEGIN and one for COMMIT. A string of several statements, though, goes
// out as one Hrana batch — one round trip — whose steps each run only if
// the previous one succeeded, followed by a ROLLBACK step that runs when
// the last did not. A remote transaction uses that:
//
//   - it holds one connection (one Hrana stream) instead of a sql.Tx, and
//     BEGIN IMMEDIATE (BEGIN for reads) is not sent on its own but queued;
//   - statements whose result the caller does not need (feed and event
//     appends, inserts and updates that must not fail; see execLater) are
//     queued too;
//   - a statement whose result is needed goes out together with whatever
//     is queued, in one batch, its result read from the batch's last step;
//   - COMMIT goes out with the last queued statements, and with a query
//     that reads the feed and event positions the transaction wrote.
//
// So a write that reads once and then writes costs two round trips: the
// reads with BEGIN IMMEDIATE, then the writes with COMMIT. The write lock
// is held only across those round trips. Concurrent writes of one
// instance are grouped (groupWrite), each in a savepoint: N message sends
// then cost N+1 round trips instead of 2N.
//
// The batch's ROLLBACK step means a failing statement sent together with
// queued ones ends the whole transaction on the server. The transaction
// is then marked broken: every later statement fails, and so does the
// commit, so nothing can run outside the transaction by accident. Inside a
// savepoint (a push mutation, a joined write), where a failure must undo
// only the savepoint, a statement whose result is needed is sent alone
// after flushing the queue, and a failing queued statement is reported at
// its savepoint's end (see Savepoint).

// remoteTx is a transaction on one connection of a libSQL server.
type remoteTx struct {
	conn    *sql.Conn
	pending []pendingStmt
	// sent is set once anything reached the server: BEGIN is then open.
	sent bool
	// broken is the error that ended the transaction on the server.
	broken error
	// savepoints counts open savepoints.
	savepoints int
	trips      *atomic.Int64
}

// pendingStmt is a statement queued for the next round trip. conflict,
// when set, replaces the error a UNIQUE violation of it comes back as.
type pendingStmt struct {
	query    string
	args     []any
	conflict error
}

// errBroken wraps the error that ended a remote transaction.
var errBroken = errors.New("store: the transaction was rolled back by the database")

// roundTrip sends pending statements plus extra (in that order) and
// returns the rows of the batch positioned at the first of extra.
// With nothing pending it sends extra alone.
func (rt *remoteTx) roundTrip(ctx context.Context, extra ...pendingStmt) (*sql.Rows, error) {
	if rt.broken != nil {
		return nil, rt.broken
	}
	all := append(rt.pending, extra...)
	skip := len(rt.pending)
	rt.pending = nil
	texts := make([]string, len(all))
	var args []any
	for i, s := range all {
		texts[i] = strings.TrimRight(strings.TrimSpace(s.query), ";")
		args = append(args, s.args...)
	}
	rt.trips.Add(1)
	rt.sent = true
	rows, err := rt.conn.QueryContext(ctx, strings.Join(texts, ";\n"), args...)
	if err == nil {
		for range skip {
			if !rows.NextResultSet() {
				err = rows.Err()
				if err == nil {
					err = errors.New("store: a batch answered fewer results than it had statements")
				}
				rows.Close()
				break
			}
		}
	}
	if err != nil {
		err = translate(err)
		if len(all) > 1 {
			// The batch's ROLLBACK step ended the transaction.
			rt.broken = fmt.Errorf("%w: %w", errBroken, err)
		}
		if apperr.Is(err, apperr.Conflict) {
			for _, s := range all {
				if s.conflict != nil {
					return nil, s.conflict
				}
			}
		}
		return nil, err
	}
	return rows, nil
}

// flush sends what is queued, if anything.
func (rt *remoteTx) flush(ctx context.Context) error {
	if len(rt.pending) == 0 {
		return rt.broken
	}
	last := rt.pending[len(rt.pending)-1]
	rt.pending = rt.pending[:len(rt.pending)-1]
	rows, err := rt.roundTrip(ctx, last)
	if err != nil {
		return err
	}
	return rows.Close()
}

// remoteResult is the sql.Result of a statement sent in a batch.
type remoteResult struct{ id, n int64 }

func (r remoteResult) LastInsertId() (int64, error) { return r.id, nil }
func (r remoteResult) RowsAffected() (int64, error) { return r.n, nil }

func (rt *remoteTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if rt.broken != nil {
		return nil, rt.broken
	}
	if rt.savepoints > 0 || len(rt.pending) == 0 {
		// Alone, so that its failure ends neither the transaction nor
		// the savepoint (the caller decides).
		if err := rt.flush(ctx); err != nil {
			return nil, err
		}
		rt.trips.Add(1)
		rt.sent = true
		res, err := rt.conn.ExecContext(ctx, query, args...)
		return res, translate(err)
	}
	rows, err := rt.roundTrip(ctx, pendingStmt{query: query, args: args},
		pendingStmt{query: `SELECT changes(), last_insert_rowid()`})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.NextResultSet() {
		return nil, fmt.Errorf("store: batch result: %w", translate(rows.Err()))
	}
	var r remoteResult
	if !rows.Next() {
		return nil, fmt.Errorf("store: batch result: %w", translate(rows.Err()))
	}
	if err := rows.Scan(&r.n, &r.id); err != nil {
		return nil, fmt.Errorf("store: batch result: %w", err)
	}
	return r, nil
}

func (rt *remoteTx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return rt.roundTrip(ctx, pendingStmt{query: query, args: args})
}

// later queues a statement for the next round trip.
func (rt *remoteTx) later(query string, conflict error, args ...any) error {
	if rt.broken != nil {
		return rt.broken
	}
	rt.pending = append(rt.pending, pendingStmt{query: query, args: args, conflict: conflict})
	return nil
}

// commit sends what is queued with COMMIT, and reads the highest feed and
// event positions the transaction wrote when it wrote any (want).
func (rt *remoteTx) commit(ctx context.Context, want bool) (feed, events int64, err error) {
	if rt.broken != nil {
		return 0, 0, rt.broken
	}
	if !rt.sent && len(rt.pending) <= 1 {
		rt.pending = nil // only BEGIN: nothing to send
		return 0, 0, nil
	}
	extra := []pendingStmt{{query: `COMMIT`}}
	if want {
		extra = append([]pendingStmt{{query: `SELECT
			coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0),
			coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'live_events'), 0)`}}, extra...)
	}
	rows, err := rt.roundTrip(ctx, extra...)
	if err != nil {
		if !errors.Is(err, errBroken) && len(extra) == 1 && rt.broken == nil {
			rt.broken = fmt.Errorf("%w: %w", errBroken, err)
		}
		return 0, 0, err
	}
	defer rows.Close()
	if want {
		if !rows.Next() {
			return 0, 0, fmt.Errorf("store: read positions: %w", translate(rows.Err()))
		}
		if err := rows.Scan(&feed, &events); err != nil {
			return 0, 0, fmt.Errorf("store: read positions: %w", err)
		}
	}
	return feed, events, nil
}

// rollback ends the transaction on the server if it was ever opened there.
func (rt *remoteTx) rollback(ctx context.Context) error {
	rt.pending = nil
	if !rt.sent || rt.broken != nil {
		return nil
	}
	rt.trips.Add(1)
	_, err := rt.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	if err != nil && strings.Contains(err.Error(), "no transaction is active") {
		return nil
	}
	return err
}

// pendingSeq marks a feed or event position that is known only once the
// transaction commits (remote transactions read it with the COMMIT).
const pendingSeq = -1

// runRemote is runCounting on a libSQL server: fn runs on one connection
// of pool, its statements batched as described above.
func (db *DB) runRemote(ctx context.Context, pool *sql.DB, write bool, fn func(*Tx) error, queries *atomic.Int64) (Commit, []func(), error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return Commit{}, nil, fmt.Errorf("store: begin: %w", translate(err))
	}
	rt := &remoteTx{conn: conn, trips: &db.roundTrips}
	if queries != &db.queries {
		rt.trips = &db.backgroundTrips // a background read: counted apart
	}
	begin := `BEGIN`
	if write {
		begin = `BEGIN IMMEDIATE`
	}
	rt.pending = []pendingStmt{{query: begin}}
	tx := &Tx{db: db, rt: rt, queries: queries, Now: db.now().UTC()}
	if err := fn(tx); err != nil {
		rbErr := rt.rollback(ctx)
		tx.rollBack(0)
		if rt.broken != nil || rbErr != nil {
			discard(conn)
		}
		conn.Close()
		if rbErr != nil {
			return Commit{}, nil, errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
		}
		return Commit{}, nil, err
	}
	if !write {
		// A read transaction has nothing to keep: rather than a ROLLBACK
		// round trip, its connection is dropped, and the client closes the
		// stream in the background (the server rolls back on close).
		if rt.sent {
			discard(conn)
		}
		conn.Close()
		return Commit{}, tx.after, nil
	}
	want := tx.feedSeq == pendingSeq || tx.eventSeq == pendingSeq
	feed, events, err := rt.commit(ctx, want)
	if err != nil {
		_ = rt.rollback(ctx)
		tx.rollBack(0)
		discard(conn)
		conn.Close()
		return Commit{}, nil, fmt.Errorf("store: commit: %w", err)
	}
	conn.Close()
	c := Commit{FeedSeq: tx.feedSeq, EventSeq: tx.eventSeq}
	if c.FeedSeq == pendingSeq {
		c.FeedSeq = feed
	}
	if c.EventSeq == pendingSeq {
		c.EventSeq = events
	}
	return c, tx.after, nil
}

// discard makes conn's Close drop it instead of returning it to the pool.
// A transaction whose round trip failed, or whose ROLLBACK did, leaves a
// stream in a state the client cannot vouch for: the server may have
// closed it (an expired stream, a lost answer), and the driver then keeps
// the connection marked closed while database/sql would hand it to the
// next transaction, which fails with "stream is closed". A new stream
// costs nothing until its first request.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// RoundTrips returns how many requests transactions have sent to a libSQL
// server so far (0 for an embedded database). Background reads (see
// ReadUncounted) are left out. It only grows; compare two readings.
func (db *DB) RoundTrips() int64 { return db.roundTrips.Load() }

// BackgroundRoundTrips is RoundTrips for the reads of background loops
// (ReadUncounted: the live tailer's polls).
func (db *DB) BackgroundRoundTrips() int64 { return db.backgroundTrips.Load() }

// Remote reports whether the database is a libSQL server over the wire.
func (db *DB) Remote() bool { return !db.local }

// execLater runs a statement whose result the caller does not need and
// that must not fail as part of a correct write (appends, inserts of
// fresh ids, updates). On a libSQL server it is queued and sent with the
// transaction's next round trip; an error then surfaces there (at the
// latest at commit) and rolls the whole write back. conflict, when not
// nil, is what a UNIQUE violation of this statement is reported as.
func (tx *Tx) execLater(ctx context.Context, conflict error, query string, args ...any) error {
	tx.queries.Add(1)
	if tx.rt != nil {
		return tx.rt.later(query, conflict, args...)
	}
	_, err := tx.execLocal(ctx, query, args...)
	if err != nil && conflict != nil && apperr.Is(err, apperr.Conflict) {
		return conflict
	}
	return err
}

// runRemoteRead runs fn in a read transaction on a libSQL server.
func (db *DB) runRemoteRead(ctx context.Context, pool *sql.DB, fn func(*Tx) error, queries *atomic.Int64) (Commit, []func(), error) {
	return db.runRemote(ctx, pool, false, fn, queries)
}

// remoteSavepoint runs fn in a savepoint named name on a libSQL server,
// for Savepoint and for the steps of a group commit. SAVEPOINT, RELEASE
// and ROLLBACK TO are queued like other statements. When fn fails, what it
// queued that has not reached the server is dropped: all of it when
// nothing of the savepoint was sent (no round trip at all), else the
// unsent rest, with ROLLBACK TO queued to undo what was sent. err is fn's
// failure; fatal is set when the transaction itself was rolled back on the
// server (a batch failed) and the whole write must be abandoned.
func (tx *Tx) remoteSavepoint(ctx context.Context, name string, fn func(*Tx) error) (err, fatal error) {
	rt := tx.rt
	feed, events, after, undo := tx.feedSeq, tx.eventSeq, len(tx.after), len(tx.undo)
	mark, sent := len(rt.pending), rt.sent
	trips := rt.trips.Load()
	if err := rt.later(`SAVEPOINT `+name, nil); err != nil {
		return nil, fmt.Errorf("store: savepoint: %w", err)
	}
	rt.savepoints++
	err = fn(tx)
	rt.savepoints--
	if err == nil {
		if rt.broken != nil {
			return nil, rt.broken
		}
		return nil, rt.later(`RELEASE `+name, nil)
	}
	tx.feedSeq, tx.eventSeq = feed, events
	clear(tx.after[after:])
	tx.after = tx.after[:after]
	tx.rollBack(undo)
	if rt.broken != nil {
		return err, rt.broken
	}
	if rt.trips.Load() == trips {
		// Nothing of the savepoint reached the server: forget it.
		clear(rt.pending[mark:])
		rt.pending, rt.sent = rt.pending[:mark], sent
		return err, nil
	}
	// SAVEPOINT was sent; everything still queued came after it.
	clear(rt.pending)
	rt.pending = rt.pending[:0]
	if lerr := rt.later(`ROLLBACK TO `+name, nil); lerr != nil {
		return err, lerr
	}
	return err, rt.later(`RELEASE `+name, nil)
}
