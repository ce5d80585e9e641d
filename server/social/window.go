package social

import (
	"context"
	"slices"
	"strings"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// Windows. A pull with a window brings, of each chat bucket it reads from
// the beginning, every entity but messages whole and only the newest
// messages: those with seq >= the bucket's floor, the seq of its
// window-th newest live message when the first page was read. Older
// messages come with History, newest first, below the lowest seq the
// replica holds. Seqs are handed out by write transactions that run one
// after another, so once a pull has seen seq s every message below s is
// committed: a message sent later always has a higher seq and arrives by
// the next pull, a message deleted or rewritten later leaves its seq for a
// higher one and arrives (as a tombstone or a new row) by the next pull.
// So the replica holds every message at or above its floor, History reads
// the live messages below it, and none is skipped or read twice whatever
// is sent meanwhile.

// Window is what a replica holding a chat bucket from Floor on does not
// hold (see store.WindowSummary). Floor 0: it holds every message.
type Window struct {
	Bucket string
	Floor  int64
	store.WindowSummary
}

// History limits.
const (
	DefaultHistoryPage = 100
	MaxHistoryPage     = 1000
)

// HistoryPage answers History: the messages (newest first) and the window
// they leave (Floor 0 once nothing older is left).
type HistoryPage struct {
	Changes []store.Change
	Window  Window
}

// windowFloors fixes the window floor of each chat bucket of fresh (0:
// the bucket has no more than window messages, or is not a chat).
func windowFloors(ctx context.Context, tx *store.Tx, fresh []string, upto int64, window int) ([]int64, error) {
	floors := make([]int64, len(fresh))
	for i, b := range fresh {
		if !strings.HasPrefix(b, "chat:") {
			continue
		}
		f, err := tx.WindowFloor(ctx, b, upto, window)
		if err != nil {
			return nil, err
		}
		floors[i] = f
	}
	return floors, nil
}

func windowOf(ctx context.Context, tx *store.Tx, userID, bucket string, floor int64) (Window, error) {
	w := Window{Bucket: bucket, Floor: floor}
	if floor == 0 {
		return w, nil
	}
	sum, err := tx.WindowSummaryOf(ctx, strings.TrimPrefix(bucket, "chat:"), userID, floor)
	w.WindowSummary = sum
	return w, err
}

// History reads up to limit live messages of a chat bucket the user may
// read with seq below before (a replica's window floor), newest first, and
// the window the replica holds once it has them. limit 0 reads none: the
// answer is the window at before, with its counts as they are now (a
// replica asks after a message below its floor was deleted).
func (s *Service) History(ctx context.Context, userID, bucket string, before int64, limit int) (HistoryPage, error) {
	if !validBucket(bucket) || !strings.HasPrefix(bucket, "chat:") {
		return HistoryPage{}, apperr.InvalidField("bucket", "%q is not a chat bucket", bucket)
	}
	if before <= 0 {
		return HistoryPage{}, apperr.InvalidField("beforeSeq", "beforeSeq must be positive: the lowest seq of the chat's messages the replica holds")
	}
	switch {
	case limit < 0 || limit > MaxHistoryPage:
		return HistoryPage{}, apperr.InvalidField("limit", "limit must be 0 to %d", MaxHistoryPage)
	}
	var out HistoryPage
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		list, err := tx.ReadableBuckets(ctx, userID)
		if err != nil {
			return err
		}
		if !slices.Contains(list, bucket) {
			return apperr.Forbiddenf("not_participant", "You may not read this chat's messages")
		}
		floor := before
		if limit > 0 {
			changes, err := tx.HistoryChanges(ctx, bucket, before, limit+1)
			if err != nil {
				return err
			}
			if len(changes) > limit {
				out.Changes = changes[:limit]
				floor = out.Changes[limit-1].Seq
			} else {
				out.Changes, floor = changes, 0
			}
		}
		out.Window, err = windowOf(ctx, tx, userID, bucket, floor)
		return err
	})
	return out, err
}
