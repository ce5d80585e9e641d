package social

import (
	"context"
	"slices"
	"time"

	"github.com/vibesync/vibesync/server/store"
)

// Deleting stored files. A write that drops the rows naming files queues
// their keys in the media_deletions table in the same transaction, so the
// deletion is as durable as the commit. Once it commits, the files are
// deleted at once in the background (deleteQueued) and their rows
// forgotten; a file the store could not delete (unreachable, or the
// instance died first) stays queued, and DeleteQueuedMedia, which every
// instance runs periodically (RunMediaDeletions), tries it again with
// backoff until the store confirms. Deleting a missing file succeeds, so
// two instances deleting one key do no harm.

const (
	mediaDeleteTimeout = 30 * time.Second // one store call
	mediaBackoff       = 30 * time.Second // after a first failure, doubling
	mediaMaxBackoff    = time.Hour
	mediaClaim         = 100             // rows one pass claims at a time
	mediaLease         = 5 * time.Minute // how long claimed rows are hidden from other instances
)

// deleteMediaAfterCommit queues keys for deletion in tx and deletes them
// once tx commits, so a rollback never leaves rows that point at deleted
// files, and a failure after the commit never leaves files for good.
func (s *Service) deleteMediaAfterCommit(ctx context.Context, tx *store.Tx, keys ...string) error {
	keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "" })
	if len(keys) == 0 {
		return nil
	}
	if err := tx.EnqueueMediaDeletions(ctx, keys); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	tx.AfterCommit(func() {
		s.mediaJobs.Add(1)
		go func() {
			defer s.mediaJobs.Done()
			s.deleteQueued(ctx, keys)
		}()
	})
	return nil
}

// deleteQueued deletes keys from the store and forgets those deleted; the
// others stay queued for DeleteQueuedMedia.
func (s *Service) deleteQueued(ctx context.Context, keys []string) {
	var done []string
	for _, k := range keys {
		if err := s.deleteFile(ctx, k); err != nil {
			s.log.WarnContext(ctx, "delete media; queued for a retry", "key", k, "err", err)
			continue
		}
		done = append(done, k)
	}
	if len(done) == 0 {
		return
	}
	if err := s.db.Write(ctx, func(tx *store.Tx) error { return tx.MediaDeleted(ctx, done) }); err != nil {
		// The files are gone; their rows are deleted again (a no-op) and
		// forgotten by the next pass.
		s.log.WarnContext(ctx, "forget deleted media", "err", err)
	}
}

func (s *Service) deleteFile(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, mediaDeleteTimeout)
	defer cancel()
	return s.media.Delete(ctx, key)
}

// DeleteQueuedMedia deletes every queued file that is due (new ones, and
// failed ones whose backoff has passed) and returns how many it deleted.
// Rows it claims are hidden from other instances for a few minutes; a
// failure is tried again after 30 s, doubling up to an hour, with no
// limit on attempts. Safe to run on every instance at once.
func (s *Service) DeleteQueuedMedia(ctx context.Context) (int, error) {
	deleted := 0
	for {
		var due bool
		if err := s.db.Read(ctx, func(tx *store.Tx) (err error) { due, err = tx.HasDueMediaDeletions(ctx); return err }); err != nil || !due {
			return deleted, err
		}
		var claimed []store.MediaDeletion
		err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
			claimed, err = tx.ClaimMediaDeletions(ctx, mediaClaim, mediaLease)
			return err
		})
		if err != nil || len(claimed) == 0 {
			return deleted, err
		}
		var done []string
		failed := map[string]error{}
		for _, d := range claimed {
			if err := s.deleteFile(ctx, d.Key); err != nil {
				failed[d.Key] = err
				continue
			}
			done = append(done, d.Key)
		}
		err = s.db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.MediaDeleted(ctx, done); err != nil {
				return err
			}
			for _, d := range claimed {
				if err, ok := failed[d.Key]; ok {
					if err := tx.MediaDeletionFailed(ctx, d.Key, err.Error(), tx.Now.Add(mediaRetryAfter(d.Attempts))); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return deleted, err
		}
		deleted += len(done)
		for k, err := range failed {
			s.log.WarnContext(ctx, "delete media failed; will retry", "key", k, "err", err)
		}
		if len(claimed) < mediaClaim {
			return deleted, nil
		}
	}
}

// mediaRetryAfter is the wait after a failed attempt that had the given
// number of failures before it.
func mediaRetryAfter(attempts int) time.Duration {
	d := mediaBackoff
	for i := 0; i < attempts && d < mediaMaxBackoff; i++ {
		d *= 2
	}
	return min(d, mediaMaxBackoff)
}

// RunMediaDeletions runs DeleteQueuedMedia every interval until ctx ends.
func (s *Service) RunMediaDeletions(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.DeleteQueuedMedia(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "media deletions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close waits for the deletions started after recent commits.
func (s *Service) Close() error {
	s.mediaJobs.Wait()
	return nil
}
