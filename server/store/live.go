package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Presence is one open live socket: who holds it, on which instance, and
// until when it counts as online unless the instance refreshes it.
type Presence struct {
	Socket    string
	UserID    string
	Instance  string
	ExpiresAt time.Time
}

// AddPresence records an open socket.
func (tx *Tx) AddPresence(ctx context.Context, p Presence) error {
	if _, err := tx.exec(ctx, `INSERT INTO presence (socket, user_id, instance, expires_at) VALUES (?, ?, ?, ?)`,
		p.Socket, p.UserID, p.Instance, ms(p.ExpiresAt)); err != nil {
		return fmt.Errorf("store: add presence: %w", err)
	}
	tx.presenceMoved()
	return nil
}

// RemovePresence forgets a socket (idempotent).
func (tx *Tx) RemovePresence(ctx context.Context, socket string) error {
	if _, err := tx.exec(ctx, `DELETE FROM presence WHERE socket = ?`, socket); err != nil {
		return fmt.Errorf("store: remove presence: %w", err)
	}
	tx.presenceMoved()
	return nil
}

// TouchPresence extends every socket of instance until expires and returns
// how many rows it kept alive.
func (tx *Tx) TouchPresence(ctx context.Context, instance string, expires time.Time) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE presence SET expires_at = ? WHERE instance = ?`, ms(expires), instance)
	if err != nil {
		return 0, fmt.Errorf("store: touch presence: %w", err)
	}
	return res.RowsAffected()
}

// DropPresence forgets every socket of instance (its orderly shutdown).
func (tx *Tx) DropPresence(ctx context.Context, instance string) error {
	if _, err := tx.exec(ctx, `DELETE FROM presence WHERE instance = ?`, instance); err != nil {
		return fmt.Errorf("store: drop presence: %w", err)
	}
	tx.presenceMoved()
	return nil
}

// PrunePresence deletes rows that expired at or before tx.Now (their
// instance stopped refreshing them) and returns how many went.
func (tx *Tx) PrunePresence(ctx context.Context) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM presence WHERE expires_at <= ?`, ms(tx.Now))
	if err != nil {
		return 0, fmt.Errorf("store: prune presence: %w", err)
	}
	tx.presenceMoved()
	return res.RowsAffected()
}

// presenceMoved bumps PresenceGeneration once tx commits.
func (tx *Tx) presenceMoved() {
	tx.AfterCommit(func() { tx.db.presenceGen.Add(1) })
}

// PresenceGeneration counts the presence changes (sockets added or
// removed, expired rows pruned) this process has committed. A cache of
// Online answers taken at generation g is exact for this process's own
// sockets while the generation is still g; other instances' changes (and
// rows expiring with time) it sees only when it reads again.
func (db *DB) PresenceGeneration() int64 { return db.presenceGen.Load() }

// Online reports, in one query, which of userIDs hold at least one
// unexpired socket on any instance at tx.Now. Every id is a key of the
// answer; unknown ids are false.
func (tx *Tx) Online(ctx context.Context, userIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	for _, id := range userIDs {
		out[id] = false
	}
	// json_each rather than one parameter per id: a page of chats may name
	// more users than SQLite allows parameters.
	online, err := tx.strings(ctx, `SELECT DISTINCT user_id FROM presence
		WHERE user_id IN (SELECT value FROM json_each(?)) AND expires_at > ?`, jsonStrings(userIDs), ms(tx.Now))
	if err != nil {
		return nil, fmt.Errorf("store: online: %w", err)
	}
	for _, id := range online {
		out[id] = true
	}
	return out, nil
}

// BucketMove says that bucket's feed moved to Seq (its newest row).
type BucketMove struct {
	Bucket string
	Seq    int64
}

// MovedBuckets lists the buckets whose feed rows have seq > after, each
// with its highest seq, in seq order of that newest row, at most limit
// (default 1000). The compacted feed keeps only each row's latest seq, so
// this is exactly "what moved since after".
func (tx *Tx) MovedBuckets(ctx context.Context, after int64, limit int) ([]BucketMove, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := tx.query(ctx, movedQuery, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: moved buckets: %w", err)
	}
	defer rows.Close()
	return scanMoves(rows)
}

const movedQuery = `SELECT bucket, MAX(seq) AS top FROM
		(SELECT bucket, seq FROM changes WHERE seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER))
		GROUP BY bucket ORDER BY top`

// scanMoves reads the rows of movedQuery (the current result set).
func scanMoves(rows *sql.Rows) ([]BucketMove, error) {
	var out []BucketMove
	for rows.Next() {
		var m BucketMove
		if err := rows.Scan(&m.Bucket, &m.Seq); err != nil {
			return nil, fmt.Errorf("store: scan moved bucket: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: moved buckets: %w", translate(err))
	}
	return out, nil
}

// MemberChange says that bucket's membership changed at Seq (a position in
// bucket_member_changes, not the feed).
type MemberChange struct {
	Seq    int64
	Bucket string
}

// MemberChanges lists membership changes with seq > after in order, at most
// limit (default 1000).
func (tx *Tx) MemberChanges(ctx context.Context, after int64, limit int) ([]MemberChange, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := tx.query(ctx, memberChangesQuery, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: member changes: %w", err)
	}
	defer rows.Close()
	return scanMemberChanges(rows)
}

const memberChangesQuery = `SELECT seq, bucket FROM bucket_member_changes WHERE seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)`

// scanMemberChanges reads the rows of memberChangesQuery (the current
// result set).
func scanMemberChanges(rows *sql.Rows) ([]MemberChange, error) {
	var out []MemberChange
	for rows.Next() {
		var c MemberChange
		if err := rows.Scan(&c.Seq, &c.Bucket); err != nil {
			return nil, fmt.Errorf("store: scan member change: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: member changes: %w", translate(err))
	}
	return out, nil
}

// TailFrom is where a tailing instance stands in the three tables it
// follows, and how much of each it reads at once.
type TailFrom struct {
	MemberSeq, EventSeq, FeedSeq       int64
	MemberLimit, EventLimit, MoveLimit int
}

// Tail is the first page of each of MemberChanges, Events and
// MovedBuckets after the positions of a TailFrom.
type Tail struct {
	Members []MemberChange
	Events  []Event
	Moves   []BucketMove
	// FeedHead is the highest feed seq ever written (see FeedHead): once a
	// tailer has read the moves up to it, it need not ask again.
	FeedHead int64
}

// Tail reads what moved since f in the three tables an instance tails to
// hear other instances: on a libSQL server in one round trip (the three
// queries as one batch), so an idle instance costs one request per poll.
func (tx *Tx) Tail(ctx context.Context, f TailFrom) (Tail, error) {
	for _, l := range []*int{&f.MemberLimit, &f.EventLimit, &f.MoveLimit} {
		if *l <= 0 {
			*l = 500
		}
	}
	if tx.rt == nil {
		var t Tail
		var err error
		if t.Members, err = tx.MemberChanges(ctx, f.MemberSeq, f.MemberLimit); err != nil {
			return Tail{}, err
		}
		if t.Events, err = tx.Events(ctx, f.EventSeq, f.EventLimit); err != nil {
			return Tail{}, err
		}
		if t.Moves, err = tx.MovedBuckets(ctx, f.FeedSeq, f.MoveLimit); err != nil {
			return Tail{}, err
		}
		if t.FeedHead, err = tx.FeedHead(ctx); err != nil {
			return Tail{}, err
		}
		return t, nil
	}
	tx.queries.Add(4)
	rows, err := tx.rt.roundTrip(ctx,
		pendingStmt{query: memberChangesQuery, args: []any{f.MemberSeq, f.MemberLimit}},
		pendingStmt{query: eventsQuery, args: []any{f.EventSeq, f.EventLimit}},
		pendingStmt{query: movedQuery, args: []any{f.FeedSeq, f.MoveLimit}},
		pendingStmt{query: feedHeadQuery})
	if err != nil {
		return Tail{}, fmt.Errorf("store: tail: %w", err)
	}
	defer rows.Close()
	var t Tail
	if t.Members, err = scanMemberChanges(rows); err != nil {
		return Tail{}, err
	}
	if !rows.NextResultSet() {
		return Tail{}, fmt.Errorf("store: tail: no events result: %w", translate(rows.Err()))
	}
	if t.Events, err = scanEvents(rows); err != nil {
		return Tail{}, err
	}
	if !rows.NextResultSet() {
		return Tail{}, fmt.Errorf("store: tail: no moves result: %w", translate(rows.Err()))
	}
	if t.Moves, err = scanMoves(rows); err != nil {
		return Tail{}, err
	}
	if !rows.NextResultSet() || !rows.Next() {
		return Tail{}, fmt.Errorf("store: tail: no feed head: %w", translate(rows.Err()))
	}
	if err := rows.Scan(&t.FeedHead); err != nil {
		return Tail{}, fmt.Errorf("store: tail: %w", err)
	}
	return t, nil
}

// MemberChangeHead returns the highest membership-change seq ever written.
func (tx *Tx) MemberChangeHead(ctx context.Context) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'bucket_member_changes'), 0)`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: member change head: %w", translate(err))
	}
	return seq, nil
}

// PruneMemberChanges deletes membership changes older than cutoff.
func (tx *Tx) PruneMemberChanges(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM bucket_member_changes WHERE at < ?`, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("store: prune member changes: %w", err)
	}
	return res.RowsAffected()
}

// EndedSessions returns those of ids whose session was revoked or no longer
// exists, each with the reason it ended (Session.EndReason; empty for a
// plain revocation or a missing session).
func (tx *Tx) EndedSessions(ctx context.Context, ids []string) (map[string]string, error) {
	active := make(map[string]bool, len(ids))
	reasons := map[string]string{}
	const chunk = 500
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		args := make([]any, len(part))
		for j, id := range part {
			args[j] = id
		}
		rows, err := tx.query(ctx, `SELECT id, revoked_at IS NULL, end_reason FROM sessions WHERE id IN (?`+
			strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: ended sessions: %w", err)
		}
		for rows.Next() {
			var id, reason string
			var live bool
			if err := rows.Scan(&id, &live, &reason); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: scan session: %w", err)
			}
			active[id], reasons[id] = live, reason
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("store: ended sessions: %w", err)
		}
	}
	ended := map[string]string{}
	for _, id := range ids {
		if !active[id] {
			ended[id] = reasons[id]
		}
	}
	return ended, nil
}

// Heads are the highest positions ever written to the tables an instance
// tails: membership changes, live events and the change feed.
type Heads struct {
	Members, Events, Feed int64
}

const headsQuery = `SELECT
	coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'bucket_member_changes'), 0),
	coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'live_events'), 0),
	coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`

// Heads reads the three tails' heads with one statement outside any
// transaction: on a libSQL server one short request, which a tailer polls
// before reading what moved. Counted with BackgroundRoundTrips.
func (db *DB) Heads(ctx context.Context) (Heads, error) {
	var h Heads
	var err error
	if db.local {
		// Prepared once: a tailer reads the heads on every round.
		db.headsOnce.Do(func() { db.headsStmt, db.headsErr = db.r.PrepareContext(context.WithoutCancel(ctx), headsQuery) })
		if db.headsErr != nil {
			return Heads{}, fmt.Errorf("store: heads: %w", translate(db.headsErr))
		}
		err = db.headsStmt.QueryRowContext(ctx).Scan(&h.Members, &h.Events, &h.Feed)
	} else {
		db.backgroundTrips.Add(1)
		err = db.r.QueryRowContext(ctx, headsQuery).Scan(&h.Members, &h.Events, &h.Feed)
	}
	if err != nil {
		return Heads{}, fmt.Errorf("store: heads: %w", translate(err))
	}
	return h, nil
}

// Changed reports whether any connection to the database may have
// committed since the previous call (true on the first call). On an
// embedded database it reads PRAGMA data_version on a connection kept for
// it, which SQLite changes whenever another connection — of this process
// or another one sharing the file — commits: a prepared statement that
// reads the WAL index header and touches no table, a few microseconds. It
// never reports false after a commit it has not seen, so a tailer that
// polls Changed before Heads misses nothing. On a libSQL server, where
// each request may run on a different connection, it always reports true.
func (db *DB) Changed(ctx context.Context) (bool, error) {
	if db.probe == nil {
		return true, nil
	}
	db.probeMu.Lock()
	defer db.probeMu.Unlock()
	if db.probeStmt == nil {
		st, err := db.probe.PrepareContext(ctx, `PRAGMA data_version`)
		if err != nil {
			return true, fmt.Errorf("store: data version: %w", translate(err))
		}
		db.probeStmt = st
		db.probeLast = -1
	}
	var v int64
	if err := db.probeStmt.QueryRowContext(ctx).Scan(&v); err != nil {
		return true, fmt.Errorf("store: data version: %w", translate(err))
	}
	changed := v != db.probeLast
	db.probeLast = v
	return changed, nil
}
