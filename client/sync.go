package client

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/wire"
)

// SyncResult says what one Sync did.
type SyncResult struct {
	Pushed   int         // mutations the server applied
	Rejected []Rejection // mutations it refused
	Pending  int         // mutations still queued (transient failure)
	// RetryAfter is how long the server asked the client to wait before
	// pushing the Pending ones (its write budget ran out); Run waits it.
	RetryAfter time.Duration
	Pulled     int // changes applied
	// Arrived describes the last (at most 100) changes pulled, for display.
	Arrived []Arrival
	Cursor  int64    // the replica's feed position
	Reset   bool     // the replica was rebuilt from scratch
	Drifted []string // buckets whose checksum differed; re-read
	Lost    []string // buckets the user may no longer read; dropped
	// Rekeyed: the server had seen this replica's mutation ids with other
	// content (the data folder was restored or copied), so the replica took
	// a new client id and pushed its queued mutations again under it.
	Rekeyed bool
}

// Sync pushes the outbox, then pulls until the replica is current. With
// verify set, the pull asks for checksums and re-reads every bucket that
// drifted. Offline it returns an error wrapping ErrOffline and keeps
// everything queued.
func (c *Client) Sync(ctx context.Context) (SyncResult, error) {
	return c.sync(ctx, false)
}

// Verify is Sync with checksums: buckets of the replica that differ from
// the server's are dropped and read again.
func (c *Client) Verify(ctx context.Context) (SyncResult, error) {
	return c.sync(ctx, true)
}

func (c *Client) sync(ctx context.Context, verify bool) (res SyncResult, err error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	c.setProgress(ctx, func(p *progress) { p.uploading = true })
	defer func() {
		c.recordOutcome(ctx, err)
		c.setProgress(ctx, func(p *progress) { p.uploading, p.downloading, p.received, p.total = false, false, 0, 0 })
	}()
	// A failing push never skips the pull: whatever is wrong with the
	// outbox, the device still receives. Only failures the pull would
	// share (offline, logged out, another protocol, cancelled) end here.
	pushErr := c.push(ctx, &res)
	c.setProgress(ctx, func(p *progress) { p.uploading = false })
	if pushErr != nil && !pullAfter(ctx, pushErr) {
		return res, pushErr
	}
	for range 3 {
		drifted, err := c.pull(ctx, verify, &res)
		if err != nil {
			return res, errors.Join(pushErr, err)
		}
		if len(drifted) == 0 {
			break
		}
		res.Drifted = append(res.Drifted, drifted...)
	}
	if err := c.resolveUnsure(ctx, &res); err != nil {
		return res, errors.Join(pushErr, err)
	}
	if pushErr != nil {
		return res, pushErr
	}
	if err := setMeta(ctx, c.db, "last_sync", c.opts.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return res, err
	}
	if c.opts.OnSync != nil {
		c.opts.OnSync(res)
	}
	return res, nil
}

// pullAfter reports whether a pull is worth trying after the push failed
// with err.
func pullAfter(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !errors.Is(err, ErrOffline) && !errors.Is(err, ErrSessionEnded) &&
		!errors.Is(err, ErrNotLoggedIn) && !errors.Is(err, ErrIncompatible)
}

type queued struct {
	id   int64
	kind string
	m    *syncv1.Mutation
	sent bool // a push carried it before this one
}

// Push batches: at most pushCount mutations and pushBudget bytes of them,
// well under the server's limits (wire.MaxPushMutations and
// wire.MaxSyncRequestBytes; the rest of a request is a few bytes).
const (
	pushCount  = 200
	pushBudget = wire.MaxSyncRequestBytes / 2
)

// push sends the unacknowledged outbox in order, in batches bounded by
// count and bytes. A push the server refuses whole before running any of
// it (too large, or malformed) is split in halves until the mutation that
// causes it is alone; that one is recorded rejected and reported, and the
// rest go through, so one bad change never jams the outbox. A
// mutation_id_reused answer re-keys the replica (see rekey) and pushes the
// rest of the outbox again under the new client id, once per push.
func (c *Client) push(ctx context.Context, res *SyncResult) error {
	clientID, err := getMeta(ctx, c.db, "client_id")
	if err != nil {
		return err
	}
	rekeyed := false
	limit := pushCount // halved while a refused push is split
	for {
		batch, err := c.unacked(ctx, limit)
		if err != nil || len(batch) == 0 {
			return err
		}
		size := 0
		for i, q := range batch {
			if size += proto.Size(q.m); i > 0 && size > pushBudget {
				batch = batch[:i]
				break
			}
		}
		req := &syncv1.PushRequest{ProtocolVersion: ProtocolVersion, ClientId: clientID}
		for _, q := range batch {
			req.Mutations = append(req.Mutations, q.m)
		}
		// Marked before it leaves: an answer lost on the way back still
		// means the server may have run it.
		if _, err := c.db.ExecContext(ctx, `UPDATE outbox SET sent = 1 WHERE id BETWEEN ? AND ? AND sent = 0`, batch[0].id, batch[len(batch)-1].id); err != nil {
			return fmt.Errorf("client: mark sent: %w", err)
		}
		out, err := call(ctx, c, func(ctx context.Context) (*connect.Response[syncv1.PushResponse], error) {
			return c.rpc.Push(ctx, connect.NewRequest(req))
		})
		if refusedWhole(err) {
			if len(batch) > 1 {
				limit = (len(batch) + 1) / 2
				continue
			}
			if err := c.rejectAlone(ctx, batch[0], err, res); err != nil {
				return err
			}
			limit = pushCount
			continue
		}
		if err != nil {
			return err
		}
		var rejected []Rejection
		var applied int
		var reused, outOfOrder bool
		err = c.tx(ctx, func(tx *sql.Tx) error {
			rejected, applied, reused, outOfOrder = nil, 0, false, false
			for i, r := range out.Msg.Results {
				if i >= len(batch) || r.Id != batch[i].id {
					return fmt.Errorf("client: push answered mutation %d out of order", r.Id)
				}
				if r.Status == syncv1.MutationStatus_MUTATION_STATUS_REJECTED && r.Reason == syncv1.ReasonMutationIDReused {
					// Not the user's mistake and not lost: it stays queued
					// and goes again under a new client id.
					reused = true
					return rekey(ctx, tx, clientID)
				}
				if r.Status == syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
					if _, err := tx.ExecContext(ctx, `UPDATE outbox SET acked_at = ? WHERE id = ?`, out.Msg.WriteCheckpoint, r.Id); err != nil {
						return err
					}
					applied++
					continue
				}
				if r.Reason == syncv1.ReasonMutationOutOfOrder {
					if !batch[i].sent {
						// No push of this replica ever carried it: another
						// copy of the data folder used the id (a backup
						// restored, a folder copied), however long ago.
						// It stays queued and goes again under a new
						// client id.
						outOfOrder = true
						continue
					}
					// It was sent and the server forgot its outcome: the
					// replica is checked for its effect after the pull.
					if _, err := tx.ExecContext(ctx, `UPDATE outbox SET unsure = 1 WHERE id = ?`, r.Id); err != nil {
						return err
					}
					continue
				}
				rej := Rejection{MutationID: r.Id, Kind: batch[i].kind, Code: r.Code, Reason: r.Reason, Message: r.Message, Field: r.Field, At: c.opts.Now().UTC()}
				if ok, err := recordRejection(ctx, tx, &rej); err != nil {
					return err
				} else if ok {
					rejected = append(rejected, rej)
				}
			}
			if outOfOrder {
				reused = true
				return rekey(ctx, tx, clientID)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("client: record push results: %w", err)
		}
		c.reportRejected(res, rejected)
		res.Pushed += applied
		if reused {
			if rekeyed {
				return fmt.Errorf("%w: again under client id %s", ErrMutationIDReused, clientID)
			}
			rekeyed, res.Rekeyed = true, true
			c.opts.Log.Warn("client: mutation ids already used by a copy of this data folder; pushing again under a new client id", "old_client_id", clientID)
			if c.opts.OnRekeyed != nil {
				c.opts.OnRekeyed()
			}
			if clientID, err = getMeta(ctx, c.db, "client_id"); err != nil {
				return err
			}
			continue
		}
		if out.Msg.RetryLater || len(out.Msg.Results) < len(batch) {
			res.Pending = len(batch) - len(out.Msg.Results)
			res.RetryAfter = parseRetryAfter(out.Header().Get("Retry-After"))
			return nil
		}
	}
}

// refusedWhole reports whether the server refused a push as a whole
// before running any of it: the request was larger than it reads
// (RESOURCE_EXHAUSTED without a reason; a rate limit carries one), or it
// failed validation (INVALID_ARGUMENT). Other failures (internal errors,
// a dropped connection) may come after some mutations ran, so they are
// never blamed on a mutation: the push is retried as it is.
func refusedWhole(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument:
		return true
	case connect.CodeResourceExhausted:
		return reason(err) == ""
	}
	return false
}

// rejectAlone records as rejected a mutation whose push, with it alone,
// the server refused whole: it can never be delivered as it is.
func (c *Client) rejectAlone(ctx context.Context, q queued, cause error, res *SyncResult) error {
	rej := Rejection{MutationID: q.id, Kind: q.kind, Code: "invalid", Reason: reason(cause), At: c.opts.Now().UTC()}
	var ce *connect.Error
	msg := cause.Error()
	if errors.As(cause, &ce) {
		msg = ce.Message()
	}
	if connect.CodeOf(cause) == connect.CodeResourceExhausted {
		rej.Code, rej.Reason = "too_large", syncv1.ReasonMutationTooLarge
		rej.Message = fmt.Sprintf("This change is %d bytes, more than the server accepts in one request (%s)", proto.Size(q.m), msg)
	} else {
		rej.Reason = cmp.Or(rej.Reason, syncv1.ReasonMutationRefused)
		rej.Message = "The server refused this change: " + msg
	}
	var ok bool
	err := c.tx(ctx, func(tx *sql.Tx) (err error) {
		ok, err = recordRejection(ctx, tx, &rej)
		return err
	})
	if err != nil {
		return fmt.Errorf("client: record rejection: %w", err)
	}
	if ok {
		c.reportRejected(res, []Rejection{rej})
	}
	return nil
}

func (c *Client) reportRejected(res *SyncResult, rejected []Rejection) {
	res.Rejected = append(res.Rejected, rejected...)
	for _, r := range rejected {
		if c.opts.OnRejected != nil {
			c.opts.OnRejected(r)
		}
	}
}

// rekey gives the replica a new client id when it still has old: another
// copy of the data folder used old's mutation ids for other mutations. The
// outbox and overlay stay as they are; the server sees the queued
// mutations as new ones of the new id. A process sharing the folder that
// re-keyed first already did it.
func rekey(ctx context.Context, tx *sql.Tx, old string) error {
	cur, err := getMeta(ctx, tx, "client_id")
	if err != nil || cur != old {
		return err
	}
	return setMeta(ctx, tx, "client_id", newClientID())
}

func (c *Client) unacked(ctx context.Context, limit int) ([]queued, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, kind, body, sent FROM outbox WHERE acked_at IS NULL AND unsure = 0 ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("client: read outbox: %w", err)
	}
	defer rows.Close()
	var out []queued
	for rows.Next() {
		var q queued
		var body []byte
		if err := rows.Scan(&q.id, &q.kind, &body, &q.sent); err != nil {
			return nil, err
		}
		q.m = &syncv1.Mutation{}
		if err := proto.Unmarshal(body, q.m); err != nil {
			return nil, fmt.Errorf("client: outbox mutation %d: %w", q.id, err)
		}
		q.m.Id = q.id
		out = append(out, q)
	}
	return out, rows.Err()
}

// pull reads every page up to the checkpoint and applies them in one local
// transaction at the checkpoint. It returns the buckets whose checksum
// differed (they are dropped so the next pull reads them from 0).
//
// Pages are fetched ahead: while one page is staged, the next is on its
// way. A pull that replaces the whole replica (the first one, cursor 0, or
// a reset) is a bulk load: its pages are written as they arrive into
// rows_next, a table of the replica's row format without secondary
// indexes, each page in one local transaction with the state to resume
// after it; at the checkpoint rows_next gets its indexes and becomes rows
// in the same transaction that moves the cursor, so the replica still
// changes only at the checkpoint. Other pulls stage their pages as blobs
// in staged and apply them at the checkpoint.
func (c *Client) pull(ctx context.Context, verify bool, res *SyncResult) ([]string, error) {
	cursor, err := getMetaInt(ctx, c.db, "cursor")
	if err != nil {
		return nil, err
	}
	// The held set as stored (compared as text at the checkpoint: a
	// thousand names decoded once a pull, not twice) and decoded.
	bucketsText, err := getMeta(ctx, c.db, "buckets")
	if err != nil {
		return nil, err
	}
	var buckets []string
	if err := decodeMeta(bucketsText, &buckets); err != nil {
		return nil, fmt.Errorf("client: read buckets: %w", err)
	}
	var staged []*syncv1.Change // a non-bulk pull's pages
	var token []byte
	var last *syncv1.PullResponse
	var lastKeys []rowKeys
	var received int64
	var tail []*syncv1.Change // the last changes, for Arrived
	restarts := 0
	c.setProgress(ctx, func(p *progress) { p.downloading, p.received, p.total = true, 0, 0 })
	// A pull cut off earlier (connection lost, process killed) from this
	// same replica state resumes after its last staged page.
	state, err := c.pullState(ctx)
	if err != nil {
		return nil, err
	}
	resumed, bulk, run := false, false, newClientID()
	if len(state.Token) > 0 && state.Cursor == cursor && slices.Equal(state.Buckets, buckets) {
		if state.Bulk {
			ok, err := c.bulkStaged(ctx, state.Run)
			if err != nil {
				return nil, err
			}
			if ok {
				token, resumed, bulk, run, received = state.Token, true, true, state.Run, state.Received
			}
		} else {
			pages, err := c.stagedChanges(ctx, state.Run, state.Pages)
			if err != nil {
				return nil, err
			}
			if pages != nil {
				staged, token, resumed, run, received = pages, state.Token, true, state.Run, int64(len(pages))
			}
		}
		if resumed {
			c.setProgress(ctx, func(p *progress) { p.received, p.total = received, max(state.Total, received) })
		}
	}
	if !resumed && len(state.Token) > 0 {
		if err := c.dropStaged(ctx); err != nil {
			return nil, err
		}
	}
	pages := 0
	if resumed {
		pages = state.Pages
	}
	req := &syncv1.PullRequest{ProtocolVersion: ProtocolVersion, Cursor: cursor,
		PageSize: int32(c.opts.PageSize), WantChecksums: verify, Window: int32(max(c.opts.Window, 0))}
	// The held set goes as its digest: the server knows it when it is what
	// the user may read now, and asks for the names otherwise.
	if len(buckets) > 0 {
		req.BucketsDigest = wire.BucketsDigest(buckets)
	}
	if verify {
		if req.Floors, err = floors(ctx, c.db); err != nil {
			return nil, err
		}
	}
fetching:
	for {
		fctx, stop := context.WithCancel(ctx)
		pagesIn := c.fetchPages(fctx, req, token)
		for f := range pagesIn {
			err := f.err
			if reason(err) == syncv1.ReasonBucketsDigestMismatch && req.BucketsDigest != nil {
				// The user's buckets changed: name the held ones.
				stop()
				for range pagesIn {
				}
				req.BucketsDigest, req.Buckets = nil, buckets
				continue fetching
			}
			if (reason(err) == syncv1.ReasonPullRestart || resumed && connect.CodeOf(err) == connect.CodeInvalidArgument) && restarts < 3 {
				// The server pruned its feed past our cursor mid-pull (the
				// staged pages may miss deletions), or no longer takes the
				// token a resumed pull kept: start again.
				stop()
				for range pagesIn {
				}
				restarts++
				staged, token, resumed, bulk, pages, received, tail = nil, nil, false, false, 0, 0, nil
				if err := c.dropStaged(ctx); err != nil {
					return nil, err
				}
				c.setProgress(ctx, func(p *progress) { p.received, p.total = 0, 0 })
				continue fetching
			}
			if err != nil {
				stop()
				for range pagesIn {
				}
				return nil, err
			}
			page, keys := f.page, f.keys
			if pages == 0 && !resumed {
				// The first page says whether this pull replaces the
				// replica.
				if bulk = cursor == 0 || page.Reset_; bulk {
					if err := c.startBulk(ctx); err != nil {
						stop()
						return nil, err
					}
				}
			}
			received += int64(len(page.Changes))
			tail = append(tail, page.Changes[max(0, len(page.Changes)-maxArrivals):]...)
			tail = tail[max(0, len(tail)-maxArrivals):]
			var total int64
			c.setProgress(ctx, func(p *progress) {
				if pages == 0 && !resumed {
					p.total = page.Total
				}
				p.received = received
				p.total = max(p.total, p.received)
				total = p.total
			})
			if len(page.NextPageToken) == 0 {
				last, lastKeys = page, keys
				stop()
				break fetching
			}
			token = page.NextPageToken
			// The page is kept durably, apart from the pulled rows (which
			// change only at the checkpoint), with the token of the next.
			pages++
			st := pullResume{Run: run, Pages: pages, Cursor: cursor, Buckets: buckets, Token: token, Total: total, Bulk: bulk, Received: received}
			if bulk {
				err = c.stageBulk(ctx, page.Changes, keys, st)
			} else {
				staged = append(staged, page.Changes...)
				err = c.stagePage(ctx, page.Changes, st)
			}
			if err != nil {
				stop()
				for range pagesIn {
				}
				return nil, err
			}
		}
		stop()
		return nil, fmt.Errorf("client: pull ended without its final page")
	}
	var drifted []string
	moved, current := false, cursor
	err = c.tx(ctx, func(tx *sql.Tx) error {
		drifted = nil
		// The answer extends the replica at the checkpoint it was asked
		// from; another process sharing the data folder may have moved it
		// meanwhile, and then this answer is dropped whole.
		now, err := getMetaInt(ctx, tx, "cursor")
		if err != nil {
			return err
		}
		nowText, err := getMeta(ctx, tx, "buckets")
		if err != nil {
			return err
		}
		same := nowText == bucketsText
		if !same {
			var nowBuckets []string
			if err := decodeMeta(nowText, &nowBuckets); err != nil {
				return err
			}
			same = slices.Equal(nowBuckets, buckets)
		}
		if err := clearRun(ctx, tx, run); err != nil {
			return err
		}
		if moved = now != cursor || !same; moved {
			current = now
			return nil
		}
		if bulk {
			if err := finishBulk(ctx, tx, last.Changes, lastKeys); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM windows`); err != nil {
				return err
			}
		} else {
			if last.Reset_ {
				if err := wipe(ctx, tx, false); err != nil {
					return err
				}
			}
			all := append(staged, last.Changes...)
			if err := markStale(ctx, tx, all); err != nil {
				return err
			}
			if err := applyChanges(ctx, tx, all); err != nil {
				return err
			}
		}
		// Buckets read from the beginning hold what their window says.
		heldBefore := make(map[string]bool, len(buckets))
		for _, b := range buckets {
			heldBefore[b] = true
		}
		for _, b := range last.Buckets {
			if !heldBefore[b] {
				if _, err := tx.ExecContext(ctx, `DELETE FROM windows WHERE bucket = ?`, b); err != nil {
					return err
				}
			}
		}
		for _, w := range last.Windows {
			if err := putWindow(ctx, tx, w); err != nil {
				return err
			}
		}
		// Lost buckets go after the staged changes: earlier pages may
		// have carried rows of a bucket lost before the last one.
		for _, b := range last.LostBuckets {
			if err := dropBucket(ctx, tx, b); err != nil {
				return err
			}
		}
		held := last.Buckets
		for _, sum := range last.Checksums {
			got, n, err := checksum(ctx, tx, sum.Bucket)
			if err != nil {
				return err
			}
			if got != sum.Sum || n != sum.Count {
				drifted = append(drifted, sum.Bucket)
				if err := dropBucket(ctx, tx, sum.Bucket); err != nil {
					return err
				}
				held = slices.DeleteFunc(held, func(b string) bool { return b == sum.Bucket })
			}
		}
		if err := setMeta(ctx, tx, "cursor", strconv.FormatInt(last.Checkpoint, 10)); err != nil {
			return err
		}
		if err := setMetaJSON(ctx, tx, "buckets", held); err != nil {
			return err
		}
		// The server's state now includes every mutation acknowledged at or
		// before the checkpoint: its optimistic rows have done their job.
		_, err = tx.ExecContext(ctx, `DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at <= ?`, last.Checkpoint)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("client: apply pull: %w", err)
	}
	if moved {
		res.Cursor = current
		return nil, nil
	}
	if err := c.refreshStale(ctx); err != nil {
		return nil, err
	}
	res.Pulled += int(received)
	for _, ch := range tail {
		a := Arrival{Bucket: ch.Bucket, Entity: ch.Entity, ID: ch.EntityId, Deleted: ch.Op == syncv1.Op_OP_DELETE}
		if !a.Deleted {
			a.Summary = summarize(ch.Entity, ch.Data)
		}
		res.Arrived = append(res.Arrived, a)
	}
	if len(res.Arrived) > maxArrivals {
		res.Arrived = res.Arrived[len(res.Arrived)-maxArrivals:]
	}
	res.Cursor = last.Checkpoint
	res.Reset = res.Reset || last.Reset_
	res.Lost = append(res.Lost, last.LostBuckets...)
	return drifted, nil
}

// dropBucket forgets a bucket's rows and window.
func dropBucket(ctx context.Context, tx *sql.Tx, bucket string) error {
	for _, q := range []string{`DELETE FROM rows WHERE bucket = ?`, `DELETE FROM windows WHERE bucket = ?`} {
		if _, err := tx.ExecContext(ctx, q, bucket); err != nil {
			return err
		}
	}
	return nil
}

// fetched is one page of a pull, or the error that ended it.
type fetched struct {
	page *syncv1.PullResponse
	keys []rowKeys // the page's changes' indexed columns, by index
	err  error
}

// rowKeys are the indexed columns of a change's row beside its key: a
// message's time and author (zero for other entities and deletes).
type rowKeys struct {
	at     int64
	author string
}

// keysOf reads the indexed columns of changes. The fetching goroutine
// reads them while the last page is written (scanning the messages' JSON
// was ~0.1 s of the writer's CPU per 100k rows).
func keysOf(changes []*syncv1.Change) []rowKeys {
	keys := make([]rowKeys, len(changes))
	for i, ch := range changes {
		if ch.Op != syncv1.Op_OP_DELETE && ch.Entity == "message" {
			keys[i].at, keys[i].author = messageKeys(ch.Data)
		}
	}
	return keys
}

// fetchPages fetches the pages of a pull from token on, one ahead of the
// reader: the next page is fetched while the reader stages the last, and
// held until the reader takes it (a pull cut off loses at most that one).
// It ends after the final page, an error, or when ctx ends. The access
// token is read once (and refreshed on a 401), so fetching never waits for
// a local transaction.
func (c *Client) fetchPages(ctx context.Context, req *syncv1.PullRequest, token []byte) <-chan fetched {
	out := make(chan fetched)
	go func() {
		defer close(out)
		var tok heldToken
		for {
			r := proto.Clone(req).(*syncv1.PullRequest)
			r.PageToken = token
			page, err := callWith(ctx, c, &tok, func(ctx context.Context) (*connect.Response[syncv1.PullResponse], error) {
				return c.rpc.Pull(ctx, connect.NewRequest(r))
			})
			f := fetched{err: err}
			if err == nil {
				f.page, f.keys = page.Msg, keysOf(page.Msg.Changes)
			}
			select {
			case out <- f:
			case <-ctx.Done():
				return
			}
			if err != nil || len(page.Msg.NextPageToken) == 0 {
				return
			}
			token = page.Msg.NextPageToken
		}
	}()
	return out
}

// rowsNext is the table a bulk load fills: rows' format, no secondary
// index. Both are WITHOUT ROWID: a row is one entry of one B-tree keyed by
// (bucket, entity, id), instead of a table row plus an entry of the
// primary key's index repeating the key (replicas made before keep a rowid
// table until a bulk load replaces it; nothing reads rowids).
const rowsNext = `CREATE TABLE IF NOT EXISTS rows_next (
    bucket TEXT NOT NULL,
    entity TEXT NOT NULL,
    id     TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    at     INTEGER NOT NULL DEFAULT 0,
    author TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (bucket, entity, id)
) STRICT, WITHOUT ROWID`

// startBulk empties rows_next for a new bulk load.
func (c *Client) startBulk(ctx context.Context) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS rows_next`); err != nil {
			return fmt.Errorf("client: start bulk load: %w", err)
		}
		if _, err := tx.ExecContext(ctx, rowsNext); err != nil {
			return fmt.Errorf("client: start bulk load: %w", err)
		}
		return nil
	})
}

// stageBulk writes one page of a bulk load into rows_next, in one local
// transaction with the state to resume after it.
func (c *Client) stageBulk(ctx context.Context, changes []*syncv1.Change, keys []rowKeys, st pullResume) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, rowsNext); err != nil {
			return fmt.Errorf("client: stage page: %w", err)
		}
		if err := writeChanges(ctx, tx, "rows_next", changes, keys); err != nil {
			return fmt.Errorf("client: stage page: %w", err)
		}
		return setMetaJSON(ctx, tx, "pull", st)
	})
}

// bulkStaged reports whether rows_next holds a bulk load to resume.
func (c *Client) bulkStaged(ctx context.Context, run string) (bool, error) {
	var n int
	err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'rows_next'`).Scan(&n)
	return n == 1 && run != "", err
}

// finishBulk writes a bulk load's final page into rows_next, builds its
// indexes and makes it the replica's rows, replacing what they held.
func finishBulk(ctx context.Context, tx *sql.Tx, changes []*syncv1.Change, keys []rowKeys) error {
	if _, err := tx.ExecContext(ctx, rowsNext); err != nil {
		return err
	}
	if err := writeChanges(ctx, tx, "rows_next", changes, keys); err != nil {
		return err
	}
	// The index build's sorter may use a helper thread (SQLite's worker
	// threads, off by default): it sorts runs of the 100k keys on the
	// other core while this one scans the table, and merges on both.
	for _, q := range []string{`DROP TABLE rows`, `ALTER TABLE rows_next RENAME TO rows`,
		`PRAGMA threads = 1`, rowIndexes, `PRAGMA threads = 0`, `DELETE FROM staged`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("client: finish bulk load: %w", err)
		}
	}
	return nil
}

// insertBatch is how many rows one INSERT statement writes: one
// statement runs per batch instead of one per row (7 values a row, well
// under SQLite's limit of 32,766 variables).
const insertBatch = 128

// applyChanges writes a pull's changes in order. Consecutive upserts go in
// multi-row INSERTs (a later row of the same key replaces an earlier one,
// as one statement per row would). Into an empty table (a first pull, or
// one after a reset) the secondary indexes are dropped first and built
// once at the end, in the same transaction: sorting them once is cheaper
// than maintaining them row by row.
func applyChanges(ctx context.Context, tx *sql.Tx, changes []*syncv1.Change) error {
	if len(changes) == 0 {
		return nil
	}
	if len(changes) >= bulkLoadMin {
		var nonEmpty int
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM rows)`).Scan(&nonEmpty)
		if err != nil {
			return err
		}
		if nonEmpty == 0 {
			// Room for the load's dirty pages and the index sorts in
			// memory (spilling them is most of the time otherwise); the
			// cache shrinks back after the load.
			var cache int64
			if err := tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = %d`, bulkLoadCacheKiB)); err != nil {
				return err
			}
			defer tx.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = %d`, cache))
			if _, err := tx.ExecContext(ctx, dropRowIndexes); err != nil {
				return err
			}
			if err := writeChanges(ctx, tx, "rows", changes, nil); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, rowIndexes)
			return err
		}
	}
	return writeChanges(ctx, tx, "rows", changes, nil)
}

// bulkLoadMin is the pull size from which an empty replica is loaded
// without its secondary indexes.
const bulkLoadMin = 1000

// bulkLoadCacheKiB is the page cache while an empty replica is loaded, as
// SQLite's cache_size (negative: KiB).
const bulkLoadCacheKiB = -256 << 10

// writeChanges writes changes in order into table (rows, or rows_next
// during a bulk load). keys, when not nil, are keysOf(changes), read
// ahead.
func writeChanges(ctx context.Context, tx *sql.Tx, table string, changes []*syncv1.Change, keys []rowKeys) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	del, err := tx.PrepareContext(ctx, `DELETE FROM `+table+` WHERE bucket = ? AND entity = ? AND id = ?`)
	if err != nil {
		return err
	}
	defer del.Close()
	args := make([]any, 0, 7*insertBatch)
	flush := func() error {
		n := len(args) / 7
		if n == 0 {
			return nil
		}
		var err error
		if n == insertBatch {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(table, insertBatch)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertSQL(table, n), args...)
		}
		args = args[:0]
		return err
	}
	for i, ch := range changes {
		if ch.Op == syncv1.Op_OP_DELETE {
			if err := flush(); err != nil {
				return err
			}
			if _, err := del.ExecContext(ctx, ch.Bucket, ch.Entity, ch.EntityId); err != nil {
				return err
			}
			continue
		}
		var at int64
		var author string
		if keys != nil {
			at, author = keys[i].at, keys[i].author
		} else if ch.Entity == "message" {
			at, author = messageKeys(ch.Data)
		}
		args = append(args, ch.Bucket, ch.Entity, ch.EntityId, ch.Seq, ch.Data, at, author)
		if len(args) == 7*insertBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func insertSQL(table string, n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR REPLACE INTO ` + table + ` (bucket, entity, id, seq, data, at, author) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?)")
	}
	return b.String()
}

// Run keeps the replica in sync until ctx ends: it syncs, then waits for
// a poke from the server's Subscribe stream (its buckets moved), a local
// write, or a minute, and syncs again. While the server is unreachable, or
// too busy to take the whole outbox, it retries with exponential backoff
// (1s doubling to 30s), never sooner than a Retry-After the server sent. It returns ErrSessionEnded, ErrIncompatible or
// ErrMutationIDReused, which retrying cannot fix, and nil when ctx ends.
func (c *Client) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.listen(ctx)
	backoff := time.Second
	for {
		res, err := c.Sync(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := time.Minute
		kick := c.kick // a local write or a poke ends the wait, unless the server asked for it
		switch {
		case errors.Is(err, ErrSessionEnded), errors.Is(err, ErrNotLoggedIn), errors.Is(err, ErrIncompatible),
			errors.Is(err, ErrMutationIDReused):
			return err
		case err != nil:
			if after := RetryAfterOf(err); after > 0 {
				kick = nil
				wait = max(backoff, after)
			} else {
				wait = backoff
			}
			backoff = min(2*backoff, 30*time.Second)
			c.opts.Log.Warn("sync failed; retrying", "err", err, "in", wait)
		case res.Pending > 0: // the server was busy: retry soon, backing off, never before its Retry-After
			if res.RetryAfter > 0 {
				kick = nil
			}
			wait, backoff = max(backoff, res.RetryAfter), min(2*backoff, 30*time.Second)
		default:
			backoff = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// poke wakes Run.
func (c *Client) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// listen holds a Subscribe stream open and pokes Run whenever the server's
// position passes the replica's cursor; it reconnects with backoff.
func (c *Client) listen(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := c.subscribe(ctx, func() { backoff = time.Second })
		if ctx.Err() != nil {
			return
		}
		c.opts.Log.Debug("subscribe ended", "err", err)
		if errors.Is(err, ErrSessionEnded) || errors.Is(err, ErrNotLoggedIn) {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		backoff = min(2*backoff, 30*time.Second)
		c.poke() // reconnected: catch up on what the stream missed
	}
}

func (c *Client) subscribe(ctx context.Context, connected func()) error {
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return err
	}
	req := connect.NewRequest(&syncv1.SubscribeRequest{ProtocolVersion: ProtocolVersion})
	req.Header().Set("Authorization", "Bearer "+tok)
	stream, err := c.live.Subscribe(ctx, req)
	if err != nil {
		return rpcError(err)
	}
	defer stream.Close()
	for stream.Receive() {
		connected()
		cursor, err := getMetaInt(ctx, c.db, "cursor")
		if err != nil {
			return err
		}
		if stream.Msg().Position > cursor {
			c.poke()
		}
	}
	if connect.CodeOf(stream.Err()) == connect.CodeUnauthenticated {
		_, err := c.accessToken(ctx, tok)
		return err
	}
	return rpcError(stream.Err())
}

// pullResume is a multi-page pull in progress, kept in meta ("pull") so
// that a pull cut off resumes after its last staged page: the replica
// state it was asked from, the token of its next page, and its total.
type pullResume struct {
	Run     string   `json:"run"`   // its staged rows
	Pages   int      `json:"pages"` // how many are staged
	Cursor  int64    `json:"cursor"`
	Buckets []string `json:"buckets"`
	Token   []byte   `json:"token"`
	Total   int64    `json:"total"`
	// Bulk: the pages are in rows_next (a bulk load), not in staged.
	Bulk     bool  `json:"bulk,omitempty"`
	Received int64 `json:"received,omitempty"`
}

func (c *Client) pullState(ctx context.Context) (pullResume, error) {
	var st pullResume
	err := getMetaJSON(ctx, c.db, "pull", &st)
	return st, err
}

// stagePage keeps one page of a pull in progress, in one local
// transaction with the state to resume after it.
func (c *Client) stagePage(ctx context.Context, changes []*syncv1.Change, st pullResume) error {
	body, err := proto.Marshal(&syncv1.PullResponse{Changes: changes})
	if err != nil {
		return err
	}
	return c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staged (run, changes) VALUES (?, ?)`, st.Run, body); err != nil {
			return fmt.Errorf("client: stage page: %w", err)
		}
		return setMetaJSON(ctx, tx, "pull", st)
	})
}

// stagedChanges reads the changes of run's staged pages in order; nil
// unless all the pages the state counts are there (another process
// sharing the folder may have dropped them).
func (c *Client) stagedChanges(ctx context.Context, run string, pages int) ([]*syncv1.Change, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT changes FROM staged WHERE run = ? ORDER BY n`, run)
	if err != nil {
		return nil, fmt.Errorf("client: read staged pages: %w", err)
	}
	defer rows.Close()
	out := []*syncv1.Change{}
	n := 0
	for rows.Next() {
		n++
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var page syncv1.PullResponse
		if err := proto.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("client: staged page: %w", err)
		}
		out = append(out, page.Changes...)
	}
	if n != pages || n == 0 {
		return nil, rows.Err()
	}
	return out, rows.Err()
}

func (c *Client) dropStaged(ctx context.Context) error {
	return c.tx(ctx, func(tx *sql.Tx) error { return clearStaged(ctx, tx) })
}

// clearRun drops run's staged pages, and the resume state if it is run's.
func clearRun(ctx context.Context, tx *sql.Tx, run string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM staged WHERE run = ?`, run); err != nil {
		return err
	}
	var st pullResume
	if err := getMetaJSON(ctx, tx, "pull", &st); err != nil {
		return err
	}
	if st.Run != run {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key = 'pull'`)
	return err
}

func clearStaged(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{`DELETE FROM staged`, `DROP TABLE IF EXISTS rows_next`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key = 'pull'`)
	return err
}
