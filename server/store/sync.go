package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vibesync/vibesync/wire"
)

// PullFilter selects one page of a pull for a user. Buckets the user may
// not read now are never returned, whatever the lists say.
type PullFilter struct {
	UserID string
	// Held are the buckets the client holds up to Cursor: read after Cursor.
	Held   []string
	Cursor int64
	// HeldAll says Held holds every bucket the user may read now (the
	// usual incremental pull): the statement then checks readability
	// alone instead of also matching each row against the list.
	HeldAll bool
	// Fresh are the buckets new to the client: read from the beginning.
	Fresh []string
	// After and Upto bound the page: After < seq <= Upto.
	After int64
	Upto  int64
	Limit int
}

// pullReadable names the buckets the user may read now, in the pull's
// statements: membership is read in the query.
const pullReadable = `
	WITH readable(bucket) AS (
		SELECT bucket FROM bucket_members WHERE user_id = ?
		UNION ALL SELECT ?)`

// pullHeldArm and pullFreshArm select the seqs of a page from the covering
// index changes_bucket_seq alone (a range per readable bucket), the held
// buckets' after the cursor and the fresh buckets' up to it. An arm whose
// list is empty is left out of the statement: SQLite drives each arm by
// the readable buckets, so an arm kept for an empty list would still step
// through every readable bucket's range before its list rejected each
// entry (the whole feed of the user, for an incremental pull's empty
// fresh arm).
const (
	// pullReadableArm alone serves a held arm whose list is every
	// readable bucket.
	pullReadableArm = `
		SELECT seq FROM changes
		 WHERE seq > ? AND seq <= ? AND bucket IN readable`
	// pullInScope restricts an arm to its list.
	pullInScope = `
		   AND bucket IN (SELECT value FROM json_each(?))`
	pullHeldArm  = pullReadableArm + pullInScope
	pullFreshArm = pullReadableArm + pullInScope
	// pullRecentArm is the held arm for a short seq range: the rows of the
	// range in seq order through the primary key, each checked by one
	// lookup of its bucket in the user's memberships, instead of a seek
	// per held bucket (and of the lists' materialisation: a thousand
	// memberships, a thousand names parsed).
	pullRecentArm = `
		SELECT seq FROM changes NOT INDEXED
		 WHERE seq > ? AND seq <= ?
		   AND (bucket = ? OR EXISTS (SELECT 1 FROM bucket_members m WHERE m.user_id = ? AND m.bucket = changes.bucket))`
)

// recentRange is how many seqs per held bucket (plus a constant) a held
// range may span to be read through the primary key: an incremental pull
// usually spans a few seqs, and stepping through them costs less than a
// seek into each of a thousand buckets; a client long away spans many
// more, and the per-bucket seeks are then what skips other users' rows.
func recentRange(buckets int) int64 { return 2*int64(buckets) + 64 }

// PullChanges reads one page of a pull in seq order with one indexed query
// across every bucket: changes of readable buckets (the user's own bucket
// plus their bucket_members rows, checked now) that are held and newer than
// Cursor, or fresh and at most Cursor (the part of a fresh bucket a held
// bucket's reader already skipped). The page's seqs are chosen and cut
// from the index, then only those rows are read by primary key.
func (tx *Tx) PullChanges(ctx context.Context, f PullFilter) ([]Change, error) {
	q, args, err := pullStatement(f)
	if err != nil || q == "" {
		return nil, err
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: pull: %w", err)
	}
	out, err := scanChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("store: pull: %w", err)
	}
	return out, nil
}

// pullStatement is PullChanges' statement and its arguments ("" when the
// filter selects nothing).
func pullStatement(f PullFilter) (string, []any, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	own := "user:" + f.UserID
	lo := max(f.Cursor, f.After)
	hi := min(f.Cursor, f.Upto)
	args := []any{f.UserID, own}
	var arms []string
	if len(f.Held)+len(f.Fresh) > 0 && lo < f.Upto {
		scope, err := json.Marshal(append(append([]string{}, f.Held...), f.Fresh...))
		if err != nil {
			return "", nil, fmt.Errorf("store: pull scope: %w", err)
		}
		whole := f.HeldAll && len(f.Fresh) == 0 // the scope is every readable bucket
		switch {
		case f.Upto-lo <= recentRange(len(f.Held)+len(f.Fresh)):
			arm := pullRecentArm
			args = append(args, lo, f.Upto, own, f.UserID)
			if !whole {
				arm += pullInScope
				args = append(args, string(scope))
			}
			arms = append(arms, arm)
		case whole:
			arms = append(arms, pullReadableArm)
			args = append(args, lo, f.Upto)
		default:
			arms = append(arms, pullHeldArm)
			args = append(args, lo, f.Upto, string(scope))
		}
	}
	if len(f.Fresh) > 0 && f.After < hi {
		fresh, err := json.Marshal(f.Fresh)
		if err != nil {
			return "", nil, fmt.Errorf("store: pull scope: %w", err)
		}
		arms = append(arms, pullFreshArm)
		args = append(args, f.After, hi, string(fresh))
	}
	if len(arms) == 0 {
		return "", nil, nil
	}
	q := pullReadable + `,
	page(seq) AS (` + strings.Join(arms, `
		UNION ALL`) + `
		ORDER BY 1 LIMIT CAST(? AS INTEGER))
	SELECT c.seq, c.bucket, c.entity, c.entity_id, c.op, c.data, c.at
	  FROM page JOIN changes c ON c.seq = page.seq
	 ORDER BY c.seq`
	return q, append(args, f.Limit), nil
}

// CountPullChanges counts the changes a whole pull with f's scope carries
// (f.After and f.Limit are ignored), from the same covering index, leaving
// out an arm whose list is empty as PullChanges does.
func (tx *Tx) CountPullChanges(ctx context.Context, f PullFilter) (int64, error) {
	args := []any{f.UserID, "user:" + f.UserID}
	var arms []string
	if len(f.Held)+len(f.Fresh) > 0 {
		scope, err := json.Marshal(append(append([]string{}, f.Held...), f.Fresh...))
		if err != nil {
			return 0, fmt.Errorf("store: pull scope: %w", err)
		}
		arms = append(arms, `(SELECT COUNT(*) FROM (`+pullHeldArm+`))`)
		args = append(args, f.Cursor, f.Upto, string(scope))
	}
	if len(f.Fresh) > 0 {
		fresh, err := json.Marshal(f.Fresh)
		if err != nil {
			return 0, fmt.Errorf("store: pull scope: %w", err)
		}
		arms = append(arms, `(SELECT COUNT(*) FROM (`+pullFreshArm+`))`)
		args = append(args, 0, min(f.Cursor, f.Upto), string(fresh))
	}
	if len(arms) == 0 {
		return 0, nil
	}
	var n int64
	err := tx.queryRow(ctx, pullReadable+`
	SELECT `+strings.Join(arms, ` + `), args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count pull: %w", translate(err))
	}
	return n, nil
}

// ReadableBuckets lists every bucket user may read now: their own bucket
// first, then their shared buckets.
func (tx *Tx) ReadableBuckets(ctx context.Context, userID string) ([]string, error) {
	shared, err := tx.BucketsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	return append([]string{"user:" + userID}, shared...), nil
}

// FeedPosition returns the highest seq among the buckets user may read now
// (0 when they are empty).
func (tx *Tx) FeedPosition(ctx context.Context, userID string) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, `SELECT COALESCE(MAX(m), 0) FROM (
			SELECT MAX(c.seq) AS m FROM bucket_members b JOIN changes c ON c.bucket = b.bucket WHERE b.user_id = ?
			UNION ALL SELECT MAX(seq) FROM changes WHERE bucket = ?)`,
		userID, "user:"+userID).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: feed position: %w", translate(err))
	}
	return seq, nil
}

// TombstoneHorizon returns the highest seq of any pruned tombstone: a reader
// whose cursor is below it may have missed deletions.
func (tx *Tx) TombstoneHorizon(ctx context.Context) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, `SELECT COALESCE((SELECT tombstones_through FROM feed_horizon WHERE id = 1), 0)`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: tombstone horizon: %w", translate(err))
	}
	return seq, nil
}

// BucketChecksum is the checksum of one bucket's live rows (see
// wire.RowHash).
type BucketChecksum struct {
	Sum   uint64
	Count int64
	// Latest is the highest seq of the bucket's rows, tombstones included:
	// a replica at a checkpoint below it cannot match yet.
	Latest int64
}

// BucketChecksums computes the checksum of each bucket (buckets without
// live rows get a zero checksum). A bucket with a floor in floors is
// summed over what its window holds: messages below the floor are left
// out.
func (tx *Tx) BucketChecksums(ctx context.Context, buckets []string, floors map[string]int64) (map[string]BucketChecksum, error) {
	list, err := json.Marshal(buckets)
	if err != nil {
		return nil, fmt.Errorf("store: checksum buckets: %w", err)
	}
	rows, err := tx.query(ctx, `SELECT bucket, entity, entity_id, seq, op, data FROM changes
		WHERE bucket IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("store: checksums: %w", err)
	}
	defer rows.Close()
	out := make(map[string]BucketChecksum, len(buckets))
	for _, b := range buckets {
		out[b] = BucketChecksum{}
	}
	for rows.Next() {
		var b, entity, id, op string
		var seq int64
		var data []byte
		if err := rows.Scan(&b, &entity, &id, &seq, &op, &data); err != nil {
			return nil, fmt.Errorf("store: scan checksum row: %w", err)
		}
		c := out[b]
		c.Latest = max(c.Latest, seq)
		if Op(op) == OpUpsert && (entity != "message" || seq >= floors[b]) {
			c.Sum += wire.RowHash(entity, id, seq, data)
			c.Count++
		}
		out[b] = c
	}
	return out, rows.Err()
}

// SyncClient is a client replica known to push. Client ids are per user:
// two users pushing with one id are two clients.
type SyncClient struct {
	UserID         string
	ClientID       string
	LastMutationID int64
}

// SyncClient returns the user's client row; not found when it never pushed.
func (tx *Tx) SyncClient(ctx context.Context, userID, clientID string) (SyncClient, error) {
	c := SyncClient{UserID: userID, ClientID: clientID}
	err := tx.queryRow(ctx, `SELECT last_mutation_id FROM sync_clients WHERE user_id = ? AND client_id = ?`, userID, clientID).
		Scan(&c.LastMutationID)
	if err != nil {
		return SyncClient{}, notFound(err, "client_not_found", "Client")
	}
	return c, nil
}

// MutationRecord is the recorded outcome of one processed mutation. Code
// is empty when it was applied. Fingerprint identifies the mutation's
// content (empty for mutations recorded before fingerprints were kept).
type MutationRecord struct {
	UserID      string
	ClientID    string
	MutationID  int64
	Fingerprint []byte
	Code        string
	Reason      string
	Message     string
	Field       string
	Checkpoint  int64
}

// RecordMutation marks mutation r.MutationID of the user's client
// processed (with its outcome and fingerprint) and raises the client's
// last_mutation_id to it.
func (tx *Tx) RecordMutation(ctx context.Context, r MutationRecord) error {
	if err := tx.execLater(ctx, nil, `INSERT INTO sync_clients (user_id, client_id, last_mutation_id, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET last_mutation_id = MAX(last_mutation_id, excluded.last_mutation_id), updated_at = excluded.updated_at`,
		r.UserID, r.ClientID, r.MutationID, ms(tx.Now)); err != nil {
		return fmt.Errorf("store: record client: %w", err)
	}
	fp := r.Fingerprint
	if fp == nil {
		fp = []byte{}
	}
	if err := tx.execLater(ctx, nil, `INSERT INTO sync_mutations (user_id, client_id, mutation_id, fingerprint, code, reason, message, field, checkpoint, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.UserID, r.ClientID, r.MutationID, fp, r.Code, r.Reason, r.Message, r.Field, r.Checkpoint, ms(tx.Now)); err != nil {
		return fmt.Errorf("store: record mutation: %w", err)
	}
	return nil
}

// MutationRecordOf returns the recorded outcome of a processed mutation of
// the user's client; not found when it was never processed or its record
// was pruned.
func (tx *Tx) MutationRecordOf(ctx context.Context, userID, clientID string, id int64) (MutationRecord, error) {
	r := MutationRecord{UserID: userID, ClientID: clientID, MutationID: id}
	err := tx.queryRow(ctx, `SELECT fingerprint, code, reason, message, field, checkpoint FROM sync_mutations
		WHERE user_id = ? AND client_id = ? AND mutation_id = ?`,
		userID, clientID, id).Scan(&r.Fingerprint, &r.Code, &r.Reason, &r.Message, &r.Field, &r.Checkpoint)
	if errors.Is(err, sql.ErrNoRows) {
		return MutationRecord{}, notFound(err, "mutation_not_found", "Mutation")
	}
	if err != nil {
		return MutationRecord{}, fmt.Errorf("store: mutation record: %w", translate(err))
	}
	return r, nil
}

// PruneMutationRecords deletes mutation outcomes recorded before cutoff
// (last_mutation_id still makes their retries no-ops).
func (tx *Tx) PruneMutationRecords(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM sync_mutations WHERE at < ?`, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("store: prune mutation records: %w", err)
	}
	return res.RowsAffected()
}

// BucketChanges reads the changes of one bucket with After < seq <= Upto in
// seq order, at most limit of them, from the index changes_bucket_seq: a
// page of a bucket read from the beginning never re-reads what earlier
// pages sent. With floor > 0, messages below floor are left out (the
// bucket's window: see WindowFloor); every other entity comes whole.
func (tx *Tx) BucketChanges(ctx context.Context, bucket string, after, upto, floor int64, limit int) ([]Change, error) {
	q := `SELECT seq, bucket, entity, entity_id, op, data, at FROM changes
		 WHERE bucket = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT CAST(? AS INTEGER)`
	args := []any{bucket, after, upto, limit}
	if floor > 0 {
		// The other entities through the unique index's (bucket, entity)
		// prefix (named: the planner, without statistics, would take
		// changes_bucket_seq and step over every message), the window
		// through (bucket, seq): the messages below the floor are never
		// stepped over.
		q = `SELECT seq, bucket, entity, entity_id, op, data, at FROM changes INDEXED BY sqlite_autoindex_changes_1
		 WHERE bucket = ? AND entity < 'message' AND seq > ? AND seq <= ?
		UNION ALL
		SELECT seq, bucket, entity, entity_id, op, data, at FROM changes INDEXED BY sqlite_autoindex_changes_1
		 WHERE bucket = ? AND entity > 'message' AND seq > ? AND seq <= ?
		UNION ALL
		SELECT seq, bucket, entity, entity_id, op, data, at FROM changes
		 WHERE bucket = ? AND seq > ? AND seq >= ? AND seq <= ? AND entity = 'message'
		ORDER BY 1 LIMIT CAST(? AS INTEGER)`
		args = []any{bucket, after, upto, bucket, after, upto, bucket, after, floor, upto, limit}
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: bucket changes: %w", err)
	}
	out, err := scanChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("store: bucket changes: %w", err)
	}
	return out, nil
}

// CountBucketChanges counts a bucket's changes with from <= seq <= upto
// (index only).
func (tx *Tx) CountBucketChanges(ctx context.Context, bucket string, from, upto int64) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM changes WHERE bucket = ? AND seq >= ? AND seq <= ?`, bucket, from, upto).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count bucket: %w", translate(err))
	}
	return n, nil
}

// WindowFloor returns the seq of the window-th newest live message of
// bucket at or below upto, when the bucket holds more live messages than
// that (0 otherwise: the window is the whole bucket). A replica holding the
// bucket's window holds every message with seq >= floor.
func (tx *Tx) WindowFloor(ctx context.Context, bucket string, upto int64, window int) (int64, error) {
	rows, err := tx.query(ctx, `SELECT seq FROM changes
		 WHERE bucket = ? AND seq <= ? AND entity = 'message' AND op = 'upsert'
		 ORDER BY seq DESC LIMIT 2 OFFSET CAST(? AS INTEGER)`, bucket, upto, window-1)
	if err != nil {
		return 0, fmt.Errorf("store: window floor: %w", err)
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return 0, fmt.Errorf("store: window floor: %w", err)
		}
		seqs = append(seqs, s)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: window floor: %w", translate(err))
	}
	if len(seqs) < 2 {
		return 0, nil
	}
	return seqs[0], nil
}

// WindowSummary is what a replica holding a chat bucket's window from
// Floor on does not hold: Hidden live messages below the floor, of which
// HiddenUnread were sent by others after the user's last read mark, ReadAt
// (unix ms; 0 when the user takes no part in the chat).
type WindowSummary struct {
	Hidden       int64
	HiddenUnread int64
	ReadAt       int64
}

// WindowSummaryOf summarises the messages of chat below the window floor
// (a seq of its bucket) for userID. A message's seq and its created_at
// grow together (a message is stamped with the time of the write
// transaction that gives it its seq, and those transactions run one after
// another), so with H the newest live message below the floor, the
// messages below the floor are those created before H, and those created
// at H's instant with a seq below the floor: the counts come from the
// covering index messages(chat_id, created_at, user_id), and only the ties
// are looked up in the feed.
func (tx *Tx) WindowSummaryOf(ctx context.Context, chatID, userID string, floor int64) (WindowSummary, error) {
	var out WindowSummary
	bucket := "chat:" + chatID
	var hAt int64
	err := tx.queryRow(ctx, `SELECT m.created_at FROM changes c JOIN messages m ON m.id = c.entity_id
		WHERE c.bucket = ? AND c.seq < ? AND c.entity = 'message' AND c.op = 'upsert'
		ORDER BY c.seq DESC LIMIT 1`, bucket, floor).Scan(&hAt)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("store: window floor message: %w", translate(err))
	}
	err = tx.queryRow(ctx, `SELECT last_read_at FROM chat_participants WHERE chat_id = ? AND user_id = ?`, chatID, userID).Scan(&out.ReadAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("store: window read mark: %w", translate(err))
	}
	part := err == nil
	err = tx.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(m.created_at > ? AND m.user_id != ?), 0) FROM messages m
		WHERE m.chat_id = ? AND (m.created_at < ? OR (m.created_at = ? AND
			(SELECT c.seq FROM changes c WHERE c.bucket = ? AND c.entity = 'message' AND c.entity_id = m.id) < ?))`,
		out.ReadAt, userID, chatID, hAt, hAt, bucket, floor).Scan(&out.Hidden, &out.HiddenUnread)
	if err != nil {
		return out, fmt.Errorf("store: window summary: %w", translate(err))
	}
	if !part {
		out.HiddenUnread = 0
	}
	return out, nil
}

// HistoryChanges reads a bucket's live messages with seq < before, newest
// first, at most limit of them.
func (tx *Tx) HistoryChanges(ctx context.Context, bucket string, before int64, limit int) ([]Change, error) {
	rows, err := tx.query(ctx, `SELECT seq, bucket, entity, entity_id, op, data, at FROM changes
		 WHERE bucket = ? AND seq < ? AND entity = 'message' AND op = 'upsert'
		 ORDER BY seq DESC LIMIT CAST(? AS INTEGER)`, bucket, before, limit)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	out, err := scanChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	return out, nil
}

// FreshChanges reads changes of buckets read from the beginning, in
// (bucket, seq) order, after position (afterBucket, afterSeq) and up to
// upto, at most limit of them: one statement walks the index
// changes_bucket_seq bucket by bucket and stops at the limit, so no page
// reads again what an earlier one sent. buckets must be sorted and start
// at afterBucket or later.
func (tx *Tx) FreshChanges(ctx context.Context, buckets []string, afterBucket string, afterSeq, upto int64, limit int) ([]Change, error) {
	list, err := json.Marshal(buckets)
	if err != nil {
		return nil, fmt.Errorf("store: fresh buckets: %w", err)
	}
	rows, err := tx.query(ctx, `SELECT seq, bucket, entity, entity_id, op, data, at FROM changes
		 WHERE bucket IN (SELECT value FROM json_each(?)) AND (bucket, seq) > (?, ?) AND seq <= ?
		 ORDER BY bucket, seq LIMIT CAST(? AS INTEGER)`, string(list), afterBucket, afterSeq, upto, limit)
	if err != nil {
		return nil, fmt.Errorf("store: fresh changes: %w", err)
	}
	out, err := scanChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("store: fresh changes: %w", err)
	}
	return out, nil
}
