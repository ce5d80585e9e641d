package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Op is a change-feed operation.
type Op string

// The two feed operations: an upsert carries the entity's full replicated
// form; a delete is a tombstone kept for the retention window.
const (
	OpUpsert Op = "upsert"
	OpDelete Op = "delete"
)

// Change is one row of the compacted change feed.
type Change struct {
	Seq      int64
	Bucket   string
	Entity   string
	EntityID string
	Op       Op
	Data     []byte // nil for a delete
	At       time.Time
}

// Put records that entity id now has the replicated form data in bucket,
// replacing that entity's previous row there and stamping it with a new seq.
// It returns that seq on an embedded database; on a libSQL server the
// append rides with a later round trip and it returns 0 (the commit
// reports the position: see OnCommit).
func (tx *Tx) Put(ctx context.Context, bucket, entity, id string, data []byte) (int64, error) {
	return tx.appendChange(ctx, bucket, entity, id, OpUpsert, data)
}

// Tombstone records that entity id left bucket (deleted, or no longer visible
// to the bucket's readers).
func (tx *Tx) Tombstone(ctx context.Context, bucket, entity, id string) (int64, error) {
	return tx.appendChange(ctx, bucket, entity, id, OpDelete, nil)
}

func (tx *Tx) appendChange(ctx context.Context, bucket, entity, id string, op Op, data []byte) (int64, error) {
	const q = `INSERT OR REPLACE INTO changes (bucket, entity, entity_id, op, data, at) VALUES (?, ?, ?, ?, ?, ?)`
	if tx.rt != nil {
		// Over the wire the append rides with the next round trip; the
		// commit reads the position (see remote.go).
		if err := tx.execLater(ctx, nil, q, bucket, entity, id, string(op), data, ms(tx.Now)); err != nil {
			return 0, fmt.Errorf("store: append change %s/%s/%s: %w", bucket, entity, id, err)
		}
		tx.feedSeq = pendingSeq
		return 0, nil
	}
	// seq is the rowid: last_insert_rowid answers it without the cost of
	// RETURNING (about 20 µs a row here).
	res, err := tx.exec(ctx, q, bucket, entity, id, string(op), data, ms(tx.Now))
	if err != nil {
		return 0, fmt.Errorf("store: append change %s/%s/%s: %w", bucket, entity, id, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: append change %s/%s/%s: %w", bucket, entity, id, err)
	}
	tx.feedSeq = seq
	return seq, nil
}

// ChangeFilter selects feed rows: those of Buckets with seq > After, in seq
// order, at most Limit (default 500).
type ChangeFilter struct {
	Buckets []string
	After   int64
	Limit   int
}

// Changes reads feed rows in seq order. Reading a bucket from 0 yields its
// current state (plus tombstones still inside the retention window).
func (tx *Tx) Changes(ctx context.Context, f ChangeFilter) ([]Change, error) {
	if len(f.Buckets) == 0 {
		return nil, nil
	}
	if f.Limit <= 0 {
		f.Limit = 500
	}
	args := make([]any, 0, len(f.Buckets)+2)
	args = append(args, f.After)
	for _, b := range f.Buckets {
		args = append(args, b)
	}
	args = append(args, f.Limit)
	q := `SELECT seq, bucket, entity, entity_id, op, data, at FROM changes
		WHERE seq > ? AND bucket IN (?` + strings.Repeat(", ?", len(f.Buckets)-1) + `)
		ORDER BY seq LIMIT CAST(? AS INTEGER)`
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read changes: %w", err)
	}
	return scanChanges(rows)
}

// scanChanges reads rows of (seq, bucket, entity, entity_id, op, data, at)
// and closes them.
func scanChanges(rows *sql.Rows) ([]Change, error) {
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var op string
		var at int64
		if err := rows.Scan(&c.Seq, &c.Bucket, &c.Entity, &c.EntityID, &op, &c.Data, &at); err != nil {
			return nil, fmt.Errorf("store: scan change: %w", err)
		}
		c.Op, c.At = Op(op), fromMS(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read changes: %w", translate(err))
	}
	return out, nil
}

const feedHeadQuery = `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`

// FeedHead returns the highest seq ever written to the feed (0 when empty).
func (tx *Tx) FeedHead(ctx context.Context) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, feedHeadQuery).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: feed head: %w", translate(err))
	}
	return seq, nil
}

// PruneTombstones deletes tombstones written before cutoff and returns how
// many went. It raises the tombstone horizon (see TombstoneHorizon) to the
// highest seq it deleted, so clients whose cursor is older get a reset.
func (tx *Tx) PruneTombstones(ctx context.Context, cutoff time.Time) (int64, error) {
	var through int64
	err := tx.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes WHERE op = 'delete' AND at < ?`, ms(cutoff)).Scan(&through)
	if err != nil {
		return 0, fmt.Errorf("store: prune tombstones: %w", translate(err))
	}
	if through == 0 {
		return 0, nil
	}
	res, err := tx.exec(ctx, `DELETE FROM changes WHERE op = 'delete' AND at < ?`, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("store: prune tombstones: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE feed_horizon SET tombstones_through = MAX(tombstones_through, ?) WHERE id = 1`, through); err != nil {
		return 0, fmt.Errorf("store: raise tombstone horizon: %w", err)
	}
	return res.RowsAffected()
}

// Event is one live event addressed to a bucket's audience.
type Event struct {
	Seq    int64
	Target string // "user:<id>" or "chat:<id>"
	Name   string
	Data   []byte // JSON payload
	Socket string // the socket that caused it (EventOrigin), excluded from the fan-out, or ""
	At     time.Time
}

// EventOrigin is how an event names the socket that caused it: the socket
// id qualified by the user who made the write. Socket ids are not secrets
// (a client names its own in requests), so a write naming another user's
// socket id must not keep the event from that socket: the fan-out skips a
// socket only when both its id and its user match.
func EventOrigin(userID, socket string) string {
	if socket == "" {
		return ""
	}
	return userID + ":" + socket
}

// AppendEvent records a live event in the current write transaction;
// socket is EventOrigin of the caller's socket, or "". It returns the
// event's seq (0 on a libSQL server, as for Put).
func (tx *Tx) AppendEvent(ctx context.Context, target, name string, data []byte, socket string) (int64, error) {
	const q = `INSERT INTO live_events (target, event, data, socket, at) VALUES (?, ?, ?, ?, ?)`
	if tx.rt != nil {
		if err := tx.execLater(ctx, nil, q, target, name, data, socket, ms(tx.Now)); err != nil {
			return 0, fmt.Errorf("store: append event %s to %s: %w", name, target, err)
		}
		tx.eventSeq = pendingSeq
		return 0, nil
	}
	res, err := tx.exec(ctx, q, target, name, data, socket, ms(tx.Now))
	if err != nil {
		return 0, fmt.Errorf("store: append event %s to %s: %w", name, target, err)
	}
	seq, err := res.LastInsertId() // the rowid, as in appendChange
	if err != nil {
		return 0, fmt.Errorf("store: append event %s to %s: %w", name, target, err)
	}
	tx.eventSeq = seq
	return seq, nil
}

// Events reads live events with seq > after in order, at most limit.
func (tx *Tx) Events(ctx context.Context, after int64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 500
	}
	rows, err := tx.query(ctx, eventsQuery, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read events: %w", err)
	}
	defer rows.Close()
	return scanEvents(rows)
}

const eventsQuery = `SELECT seq, target, event, data, socket, at FROM live_events WHERE seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)`

// scanEvents reads the rows of eventsQuery (the current result set).
func scanEvents(rows *sql.Rows) ([]Event, error) {
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &e.Target, &e.Name, &e.Data, &e.Socket, &at); err != nil {
			return nil, fmt.Errorf("store: scan event: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read events: %w", translate(err))
	}
	return out, nil
}

// EventHead returns the highest live-event seq ever written (0 when empty).
func (tx *Tx) EventHead(ctx context.Context) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'live_events'), 0)`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: event head: %w", translate(err))
	}
	return seq, nil
}

// PruneEvents deletes live events older than cutoff; every instance has
// long since delivered them.
func (tx *Tx) PruneEvents(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM live_events WHERE at < ?`, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("store: prune events: %w", err)
	}
	return res.RowsAffected()
}
