package social

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/wire"
)

// Sync: the rules of the pull/push protocol, transport-free. See "The
// change feed" in ARCHITECTURE.md.
//
// Cursors. A client holds a set of buckets complete up to one global feed
// position (its cursor, the checkpoint of its last complete pull). A pull
// reads, in one query, the changes after the cursor of the held buckets the
// user may still read, and every change of readable buckets the client does
// not hold yet (new buckets are read from 0). Held buckets the user may no
// longer read are reported as lost.
//
// Pages. The first page fixes the pull's upper bound (the feed head then)
// and the set of new buckets; both travel in the page token, so a bucket
// the user joins mid-pull waits for the next pull instead of arriving half
// read. The final page carries the checkpoint (that upper bound). A row
// rewritten between two pages leaves the pull's range and arrives, newer,
// with the next pull: the replica converges, it is never left with a stale
// row past its checkpoint.
//
// Tombstones are pruned after the retention window; the highest pruned seq
// is the horizon. A cursor below it (or beyond the feed head: the server's
// database was replaced) gets a reset: every readable bucket is read from 0
// and the client replaces its replica at the checkpoint.

// Pull paging limits.
const (
	DefaultPullPage = 1000
	MaxPullPage     = 5000
)

// PullRequest is one page request of a pull (see the sync protocol).
type PullRequest struct {
	Cursor        int64
	Buckets       []string
	PageToken     []byte
	PageSize      int
	WantChecksums bool
	// Window is how many of each fresh chat bucket's newest messages the
	// pull brings (0: all); older ones come with History.
	Window int
	// Floors are the held buckets' window floors, for checksums over what
	// the windows hold.
	Floors map[string]int64
	// BucketsDigest, instead of Buckets, names the held set by
	// wire.BucketsDigest: it must be the digest of the buckets the user
	// may read now (else ReasonBucketsDigestMismatch).
	BucketsDigest []byte
}

// PullPage is one page of a pull. Checkpoint, Buckets, Lost and Checksums
// are set on the final page only (NextPageToken empty). Checksums leave out
// buckets written since the pull's first page (not comparable yet).
type PullPage struct {
	Changes       []store.Change
	NextPageToken []byte
	Checkpoint    int64
	Buckets       []string
	Lost          []string
	Reset         bool
	Checksums     map[string]store.BucketChecksum
	// Windows, on the final page, are the fresh buckets the window cut.
	Windows []Window
	// Total, on the first page, is how many changes the whole pull
	// carries (for progress; rows rewritten between pages leave it).
	Total int64
}

// pullToken is the state of a pull between pages. A pull reads the held
// buckets' changes after the cursor first (in seq order, After marking the
// page boundary), then the fresh buckets from the beginning in (bucket,
// seq) order (BK, BA: the position reached), then the windowed ones one
// by one (B: the index in Fresh of the one being read, BA: its position),
// so no page reads again what an earlier page sent.
type pullToken struct {
	V      int      `json:"v"`
	Cursor int64    `json:"c"`
	After  int64    `json:"a"`
	Upto   int64    `json:"u"`
	Fresh  []string `json:"f,omitempty"`
	// Floors are the fresh buckets' window floors (see store.WindowFloor),
	// fixed on the first page: Floors[i] is Fresh[i]'s; nil without a
	// window.
	Floors    []int64 `json:"w,omitempty"`
	HeldDone  bool    `json:"h,omitempty"`
	FreshDone bool    `json:"fd,omitempty"`
	BK        string  `json:"bk,omitempty"`
	B         int     `json:"b,omitempty"`
	BA        int64   `json:"ba,omitempty"`
	// Gone are buckets of the pull the user could not read on some page:
	// that page skipped their changes, so the final page reports them lost
	// even if the user may read them again by then.
	Gone  []string `json:"g,omitempty"`
	Reset bool     `json:"r,omitempty"`
}

// pullTokenVersion marks tokens of this paging scheme; a token of an
// earlier one is refused (the client starts the pull again).
const pullTokenVersion = 2

// Pull reads one page of the changes userID may see, as one consistent
// snapshot.
func (s *Service) Pull(ctx context.Context, userID string, req PullRequest) (PullPage, error) {
	size := req.PageSize
	switch {
	case size == 0:
		size = DefaultPullPage
	case size < 0 || size > MaxPullPage:
		return PullPage{}, apperr.InvalidField(FieldPullPageSize, "%s must be 1 to %d", FieldPullPageSize, MaxPullPage)
	}
	if req.Cursor < 0 {
		return PullPage{}, apperr.InvalidField("cursor", "cursor must not be negative")
	}
	if req.Window < 0 {
		return PullPage{}, apperr.InvalidField("window", "window must not be negative (0 keeps every message)")
	}
	for _, b := range req.Buckets {
		if !validBucket(b) {
			return PullPage{}, apperr.InvalidField("buckets", "%q is not a bucket name", b)
		}
	}
	var tok pullToken
	if len(req.PageToken) > 0 {
		raw, err := base64.RawURLEncoding.DecodeString(string(req.PageToken))
		if err != nil || json.Unmarshal(raw, &tok) != nil || tok.V != pullTokenVersion || tok.After > tok.Upto ||
			(!tok.Reset && tok.Cursor != req.Cursor) || tok.B < 0 || tok.B > len(tok.Fresh) ||
			(tok.Floors != nil && len(tok.Floors) != len(tok.Fresh)) {
			return PullPage{}, apperr.InvalidField(FieldPullPageToken, "%s is not from a pull with this cursor; start the pull again", FieldPullPageToken)
		}
	}
	var out PullPage
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		list, err := tx.ReadableBuckets(ctx, userID)
		if err != nil {
			return err
		}
		readable := make(map[string]bool, len(list))
		for _, b := range list {
			readable[b] = true
		}
		if len(req.BucketsDigest) > 0 {
			// The held set by its digest: it is what the user may read
			// now, or the client must name it.
			if len(req.Buckets) > 0 || !bytes.Equal(req.BucketsDigest, wire.BucketsDigest(list)) {
				return apperr.Conflictf(syncv1.ReasonBucketsDigestMismatch,
					"The held buckets' digest is not that of the buckets you may read now: send the bucket names")
			}
			req.Buckets = list
		}
		if len(req.PageToken) > 0 && !tok.Reset && tok.Cursor > 0 {
			// Tombstones after the cursor pruned since the first page
			// would be missed: the pull starts again (and then resets).
			horizon, err := tx.TombstoneHorizon(ctx)
			if err != nil {
				return err
			}
			if horizon > tok.Cursor {
				return apperr.Conflictf(syncv1.ReasonPullRestart, "The feed was compacted during this pull; start it again from the cursor")
			}
		}
		first := len(req.PageToken) == 0
		if first {
			head, err := tx.FeedHead(ctx)
			if err != nil {
				return err
			}
			horizon, err := tx.TombstoneHorizon(ctx)
			if err != nil {
				return err
			}
			tok = pullToken{V: pullTokenVersion, Cursor: req.Cursor, Upto: head}
			if req.Cursor > 0 && (req.Cursor < horizon || req.Cursor > head) {
				tok.Cursor, tok.Reset = 0, true
			}
			held := setOf(heldBuckets(req.Buckets, tok.Reset))
			for _, b := range list {
				if !held[b] {
					tok.Fresh = append(tok.Fresh, b)
				}
			}
			if req.Window > 0 {
				if tok.Floors, err = windowFloors(ctx, tx, tok.Fresh, tok.Upto, req.Window); err != nil {
					return err
				}
			}
		}
		held := heldBuckets(req.Buckets, tok.Reset)
		gone := setOf(tok.Gone)
		for _, b := range slices.Concat(held, tok.Fresh) {
			if !readable[b] && !gone[b] {
				gone[b] = true
				tok.Gone = append(tok.Gone, b)
			}
		}
		more, err := s.fillPage(ctx, tx, userID, held, readable, gone, &tok, size, &out)
		if err != nil {
			return err
		}
		if first {
			if !more {
				out.Total = int64(len(out.Changes))
			} else if out.Total, err = countPull(ctx, tx, userID, held, tok); err != nil {
				return err
			}
		}
		out.Reset = tok.Reset
		if more {
			raw, err := json.Marshal(tok)
			if err != nil {
				return err
			}
			out.NextPageToken = []byte(base64.RawURLEncoding.EncodeToString(raw))
			return nil
		}
		out.Checkpoint = tok.Upto
		seen := map[string]bool{}
		for _, b := range slices.Concat(held, tok.Fresh) {
			if !gone[b] && !seen[b] {
				seen[b] = true
				out.Buckets = append(out.Buckets, b)
			}
		}
		// Lost: held buckets the user may no longer read, and buckets of
		// this pull that were unreadable on some page (the client drops
		// their rows, also those staged from earlier pages; a bucket
		// readable again is read from 0 by the next pull).
		lost := map[string]bool{}
		for _, b := range slices.Concat(req.Buckets, tok.Gone) {
			if (!readable[b] || gone[b]) && !lost[b] {
				lost[b] = true
				out.Lost = append(out.Lost, b)
			}
		}
		for i, b := range tok.Fresh {
			if tok.Floors == nil || tok.Floors[i] == 0 || gone[b] {
				continue
			}
			w, err := windowOf(ctx, tx, userID, b, tok.Floors[i])
			if err != nil {
				return err
			}
			out.Windows = append(out.Windows, w)
		}
		if !req.WantChecksums {
			return nil
		}
		// A bucket written after the pull's first page holds rows newer
		// than the checkpoint (or lacks rows rewritten past it): the
		// replica cannot match it yet, so it gets no checksum this time
		// rather than a false drift. A windowed bucket's checksum covers
		// what its window holds.
		floors := maps.Clone(req.Floors)
		if floors == nil {
			floors = map[string]int64{}
		}
		for i, b := range tok.Fresh {
			if tok.Floors != nil {
				floors[b] = tok.Floors[i]
			}
		}
		sums, err := tx.BucketChecksums(ctx, out.Buckets, floors)
		if err != nil {
			return err
		}
		for b, sum := range sums {
			if sum.Latest > tok.Upto {
				delete(sums, b)
			}
		}
		out.Checksums = sums
		return nil
	})
	return out, err
}

// fillPage reads up to size changes into out, continuing from tok (which
// it advances): first the held buckets' changes after the cursor, then the
// fresh buckets one by one. It reports whether the pull has more.
func (s *Service) fillPage(ctx context.Context, tx *store.Tx, userID string, held []string, readable, gone map[string]bool, tok *pullToken, size int, out *PullPage) (bool, error) {
	if !tok.HeldDone {
		if len(held) > 0 && tok.Cursor < tok.Upto {
			changes, err := tx.PullChanges(ctx, store.PullFilter{
				UserID: userID, Held: held, HeldAll: holdsAll(held, readable), Cursor: tok.Cursor, After: tok.After, Upto: tok.Upto, Limit: size + 1,
			})
			if err != nil {
				return false, err
			}
			if len(changes) > size {
				out.Changes = changes[:size]
				tok.After = out.Changes[size-1].Seq
				return true, nil
			}
			out.Changes = changes
		}
		tok.HeldDone = true
	}
	if !tok.FreshDone {
		// Buckets without a window, in one statement.
		var rest []string
		for i, b := range tok.Fresh {
			if !gone[b] && b >= tok.BK && (tok.Floors == nil || tok.Floors[i] == 0) {
				rest = append(rest, b)
			}
		}
		slices.Sort(rest)
		if room := size - len(out.Changes); len(rest) > 0 {
			if room == 0 {
				return true, nil
			}
			changes, err := tx.FreshChanges(ctx, rest, tok.BK, tok.BA, tok.Upto, room+1)
			if err != nil {
				return false, err
			}
			if len(changes) > room {
				out.Changes = append(out.Changes, changes[:room]...)
				tok.BK, tok.BA = changes[room-1].Bucket, changes[room-1].Seq
				return true, nil
			}
			out.Changes = append(out.Changes, changes...)
		}
		tok.FreshDone, tok.BK, tok.BA = true, "", 0
	}
	// Windowed buckets, one by one.
	for ; tok.B < len(tok.Fresh); tok.B, tok.BA = tok.B+1, 0 {
		b := tok.Fresh[tok.B]
		if gone[b] || tok.Floors == nil || tok.Floors[tok.B] == 0 {
			continue
		}
		room := size - len(out.Changes)
		if room == 0 {
			return true, nil
		}
		changes, err := tx.BucketChanges(ctx, b, tok.BA, tok.Upto, tok.Floors[tok.B], room+1)
		if err != nil {
			return false, err
		}
		if len(changes) > room {
			out.Changes = append(out.Changes, changes[:room]...)
			tok.BA = changes[room-1].Seq
			return true, nil
		}
		out.Changes = append(out.Changes, changes...)
	}
	return false, nil
}

// countPull counts the changes of a whole pull (for progress): the held
// buckets' after the cursor and the fresh buckets' from the beginning (from
// their window's floor for a windowed bucket, leaving out its older
// non-message rows: an estimate the client lets the count pass).
func countPull(ctx context.Context, tx *store.Tx, userID string, held []string, tok pullToken) (int64, error) {
	var n int64
	if len(held) > 0 {
		c, err := tx.CountPullChanges(ctx, store.PullFilter{UserID: userID, Held: held, Cursor: tok.Cursor, Upto: tok.Upto})
		if err != nil {
			return 0, err
		}
		n += c
	}
	var whole []string
	for i, b := range tok.Fresh {
		if tok.Floors == nil || tok.Floors[i] == 0 {
			whole = append(whole, b)
			continue
		}
		c, err := tx.CountBucketChanges(ctx, b, tok.Floors[i], tok.Upto)
		if err != nil {
			return 0, err
		}
		n += c
	}
	// Bucket by bucket (the fresh buckets were readable when the pull
	// began): one statement over all of them would step through every
	// readable bucket's index range, even when only the user's own bucket
	// comes whole, as in a windowed sync.
	for _, b := range whole {
		c, err := tx.CountBucketChanges(ctx, b, 0, tok.Upto)
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// holdsAll reports whether held names every readable bucket.
func holdsAll(held []string, readable map[string]bool) bool {
	in := setOf(held)
	for b := range readable {
		if !in[b] {
			return false
		}
	}
	return true
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, b := range list {
		m[b] = true
	}
	return m
}

// heldBuckets is the set a pull treats as held: none after a reset.
func heldBuckets(buckets []string, reset bool) []string {
	if reset {
		return nil
	}
	return buckets
}

func validBucket(b string) bool {
	for _, p := range []string{"user:", "chat:"} {
		if len(b) > len(p) && b[:len(p)] == p {
			return ValidID("bucket", b[len(p):]) == nil
		}
	}
	return false
}

// FeedPosition is the highest feed seq among the buckets userID may read.
func (s *Service) FeedPosition(ctx context.Context, userID string) (int64, error) {
	var pos int64
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		pos, err = tx.FeedPosition(ctx, userID)
		return err
	})
	return pos, err
}

// MutationOutcome is what became of one pushed mutation. Err is nil when it
// was applied; Checkpoint is a feed position that includes its writes.
// Reused is set when the id was already processed with different content
// (Err then has reason ReasonMutationIDReused): nothing was run or
// recorded, and the push stops there.
type MutationOutcome struct {
	Err        *apperr.Error
	Duplicate  bool
	Reused     bool
	Checkpoint int64
}

// ReasonMutationIDReused rejects a mutation whose id this client already
// used for a mutation with other content (its data folder was restored
// from a backup or copied to another device): the client must push it
// again under a new client id.
const ReasonMutationIDReused = syncv1.ReasonMutationIDReused

// Transient reports whether err is worth retrying later (the database was
// busy or unreachable, or the request was cut short): such a mutation is not
// recorded and must be pushed again.
func Transient(err error) bool {
	return apperr.Is(err, apperr.Unavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// MaxPushMutations bounds one push; a client sends more in several.
const MaxPushMutations = wire.MaxPushMutations

// Push is one push of a client's queued mutations.
type Push struct {
	// ClientID is the client's random id: 16 to 64 of [A-Za-z0-9_-].
	ClientID string
	// Mutations in the order the client made them; ids strictly
	// increasing, at most MaxPushMutations.
	Mutations []PushedMutation
}

// PushedMutation is one mutation of a push. Fingerprint identifies its
// content (see ApplyMutation).
type PushedMutation struct {
	ID          int64
	Fingerprint []byte
	Mutation    Mutation
}

// PushResult answers a push. Results has one outcome per processed
// mutation, in order; mutations after the last were not processed: after a
// transient failure (RetryLater) the client pushes them again later; after
// an outcome with Reused set, it pushes that one and them again under a new
// client id. WriteCheckpoint is a feed position that includes the writes of
// every processed mutation.
type PushResult struct {
	Results         []PushedOutcome
	WriteCheckpoint int64
	RetryLater      bool
}

// PushedOutcome is the outcome of the pushed mutation ID.
type PushedOutcome struct {
	ID int64
	MutationOutcome
}

// ApplyPush checks a push as a whole (400 invalid_client_id,
// invalid_mutations: nothing runs) and runs its mutations in order, each
// as ApplyMutation runs it, pushChunk of them to a write transaction.
func (s *Service) ApplyPush(ctx context.Context, c Caller, p Push) (PushResult, error) {
	if err := validClientID(p.ClientID); err != nil {
		return PushResult{}, err
	}
	if len(p.Mutations) > MaxPushMutations {
		return PushResult{}, apperr.InvalidField("mutations", "push at most %d mutations at once", MaxPushMutations)
	}
	for i, m := range p.Mutations {
		if m.ID <= 0 {
			return PushResult{}, apperr.InvalidField("mutations", "mutation ids must be positive")
		}
		if i > 0 && m.ID <= p.Mutations[i-1].ID {
			return PushResult{}, apperr.InvalidField("mutations", "mutation ids must be strictly increasing")
		}
	}
	var out PushResult
	for rest := p.Mutations; len(rest) > 0; {
		chunk := rest[:min(len(rest), pushChunk)]
		rest = rest[len(chunk):]
		// One write for the chunk: its mutations share a transaction (and
		// the group commit with other writers), each in a savepoint of its
		// own, exactly as ApplyMutation runs one. A mutation that fails
		// transiently is rolled back alone and the ones behind it do not
		// run; those before it commit.
		results := make([]MutationOutcome, 0, len(chunk))
		var stopErr error
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			results, stopErr = results[:0], nil
			for _, m := range chunk {
				var res MutationOutcome
				err := tx.Savepoint(ctx, func(tx *store.Tx) error {
					return s.applyMutation(ctx, tx, c, p.ClientID, m.ID, m.Fingerprint, m.Mutation, &res)
				})
				if err != nil {
					stopErr = err
					return nil
				}
				results = append(results, res)
				if res.Reused {
					return nil
				}
			}
			return nil
		})
		if err != nil {
			results, stopErr = nil, err // nothing of the chunk committed
		}
		for i, res := range results {
			out.Results = append(out.Results, PushedOutcome{ID: chunk[i].ID, MutationOutcome: res})
			out.WriteCheckpoint = max(out.WriteCheckpoint, res.Checkpoint)
			if res.Reused {
				// The client pushes this one and those behind it again
				// under a new client id, in order.
				return out, nil
			}
		}
		if Transient(stopErr) {
			out.RetryLater = true
			return out, nil
		}
		if stopErr != nil {
			return PushResult{}, stopErr
		}
	}
	return out, nil
}

// pushChunk is how many mutations of a push share one write transaction:
// a push of 200 costs 7 commits instead of 200, while the writer is never
// held for more than a chunk's work at once.
const pushChunk = 32

func validClientID(id string) error {
	if len(id) < 16 || len(id) > 64 {
		return apperr.InvalidField(FieldClientID, "%s must be 16 to 64 characters", FieldClientID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return apperr.InvalidField(FieldClientID, "%s may contain only letters, digits, '-' and '_'", FieldClientID)
		}
	}
	return nil
}

// ApplyMutation runs mutation id of client clientID exactly once, in one
// transaction that also records it as processed, so a crash or a retried
// push can never apply it twice. A mutation already processed is not run
// again; its recorded outcome comes back with Duplicate set. A mutation
// failing for good (any error but a transient one) has its writes rolled
// back to a savepoint and is recorded as processed with its public error in
// the same transaction, so it never blocks the ones behind it. A transient
// failure (also any failure once ctx is done) records nothing and is
// returned as the error. An id at or below the client's last processed one
// without a recorded outcome is rejected as mutation_out_of_order, without
// running it or recording anything.
//
// Client ids are per user: the client is (c.UserID, clientID), so users
// never share or block one another's ids. fingerprint identifies the
// mutation's content and is recorded with it: a processed id pushed again
// with another fingerprint is not a retry but a reuse, rejected with
// ReasonMutationIDReused (Reused set), without running or recording it. A
// record without a fingerprint (made before they were kept) matches any.
func (s *Service) ApplyMutation(ctx context.Context, c Caller, clientID string, id int64, fingerprint []byte, m Mutation) (MutationOutcome, error) {
	if id <= 0 {
		return MutationOutcome{}, apperr.InvalidField("mutations.id", "mutation ids must be positive")
	}
	var out MutationOutcome
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		return s.applyMutation(ctx, tx, c, clientID, id, fingerprint, m, &out)
	})
	if err != nil {
		return MutationOutcome{}, err
	}
	return out, nil
}

// applyMutation is ApplyMutation inside the write transaction tx: an error
// means the mutation must leave nothing behind (tx, or the caller's
// savepoint, rolls back).
func (s *Service) applyMutation(ctx context.Context, tx *store.Tx, c Caller, clientID string, id int64, fingerprint []byte, m Mutation, out *MutationOutcome) error {
	if done, err := s.processed(ctx, tx, c, clientID, id, fingerprint, out); done || err != nil {
		return err
	}
	if m == nil {
		m = UnsupportedMutation{}
	}
	failed := tx.Savepoint(ctx, func(tx *store.Tx) error { return m.apply(ctx, s, tx, c) })
	if failed == nil {
		return s.record(ctx, tx, c, clientID, id, fingerprint, nil, out)
	}
	if Transient(failed) {
		return failed
	}
	if ctx.Err() != nil {
		// A cut-short request may fail with a driver error that does
		// not say so ("interrupted"): it is retried, never recorded.
		return errors.Join(ctx.Err(), failed)
	}
	pub := apperr.Public(failed)
	if pub.Code == apperr.Internal {
		s.log.ErrorContext(ctx, "mutation failed", "err", failed, "client", clientID, "mutation", id, "user", c.UserID)
	}
	return s.record(ctx, tx, c, clientID, id, fingerprint, pub, out)
}

// processed reports whether mutation id of the client was already
// processed, filling out with its recorded outcome.
func (s *Service) processed(ctx context.Context, tx *store.Tx, c Caller, clientID string, id int64, fingerprint []byte, out *MutationOutcome) (bool, error) {
	cl, err := tx.SyncClient(ctx, c.UserID, clientID)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if id > cl.LastMutationID {
		return false, nil
	}
	rec, err := tx.MutationRecordOf(ctx, c.UserID, clientID, id)
	switch {
	case apperr.Is(err, apperr.NotFound):
		// An id below the client's last with no outcome on record: the
		// client skipped it and sends it late (ids must increase), or it
		// ran longer ago than records are kept. Neither may run it now,
		// and claiming it applied could lose it silently: it is rejected,
		// without a record (nothing happened), and the replica shows the
		// server's state.
		*out = MutationOutcome{Err: apperr.Conflictf(syncv1.ReasonMutationOutOfOrder,
			"Mutation %d is not above this client's last processed mutation %d and has no recorded outcome (it was skipped, processed too long ago to remember, or the id was used by another copy of this client): it is not run now, and whether it ran before is unknown. Check for its effect before making the change again",
			id, cl.LastMutationID)}
		out.Checkpoint, err = tx.FeedHead(ctx)
		return true, err
	case err != nil:
		return false, err
	}
	if len(rec.Fingerprint) > 0 && !bytes.Equal(rec.Fingerprint, fingerprint) {
		*out = MutationOutcome{Reused: true, Err: apperr.Conflictf(ReasonMutationIDReused,
			"Mutation %d of this client was already processed with different content (the data folder was restored or copied): it is not run. Push it again under a new client id",
			id)}
		out.Checkpoint, err = tx.FeedHead(ctx)
		return true, err
	}
	*out = MutationOutcome{Duplicate: true, Checkpoint: rec.Checkpoint}
	if rec.Code != "" {
		out.Err = &apperr.Error{Code: apperr.Code(rec.Code), Reason: rec.Reason, Message: rec.Message, Field: rec.Field}
	}
	return true, nil
}

func (s *Service) record(ctx context.Context, tx *store.Tx, c Caller, clientID string, id int64, fingerprint []byte, pub *apperr.Error, out *MutationOutcome) error {
	head, err := tx.FeedHead(ctx)
	if err != nil {
		return err
	}
	rec := store.MutationRecord{UserID: c.UserID, ClientID: clientID, MutationID: id, Fingerprint: fingerprint, Checkpoint: head}
	if pub != nil {
		rec.Code, rec.Reason, rec.Message, rec.Field = string(pub.Code), pub.Reason, pub.Message, pub.Field
	}
	*out = MutationOutcome{Err: pub, Checkpoint: head}
	return tx.RecordMutation(ctx, rec)
}

// PruneFeed deletes tombstones and mutation records older than window
// (tombstones then reach nobody whose cursor is older: they get a reset).
func (s *Service) PruneFeed(ctx context.Context, window time.Duration) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		cutoff := tx.Now.Add(-window)
		if _, err := tx.PruneTombstones(ctx, cutoff); err != nil {
			return err
		}
		_, err := tx.PruneMutationRecords(ctx, cutoff)
		return err
	})
}
