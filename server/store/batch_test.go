package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// Concurrent writes queued behind the writer commit as one group; a write
// that fails leaves nothing behind (its settings row, feed row and event
// are rolled back) while the others of its group commit, and each caller
// gets its own result.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	var hooks []store.Commit
	var hookMu sync.Mutex
	db.OnCommit(func(c store.Commit) {
		hookMu.Lock()
		hooks = append(hooks, c)
		hookMu.Unlock()
	})
	const n = 8 // writes 1, 4 and 7 fail
	release := db.HoldWriterForTest(n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Write(ctx, func(tx *store.Tx) error {
				key := fmt.Sprintf("k%d", i)
				if _, err := tx.SetSettingIfAbsent(ctx, key, "v"); err != nil {
					return err
				}
				if _, err := tx.Put(ctx, "bucket:group", "thing", key, []byte(`{}`)); err != nil {
					return err
				}
				if _, err := tx.AppendEvent(ctx, "user:someone", "thing", []byte(`{}`), ""); err != nil {
					return err
				}
				if i%3 == 1 {
					return apperr.Conflictf("nope", "write %d fails", i)
				}
				return nil
			})
		}()
	}
	release()
	wg.Wait()
	for i, err := range errs {
		if i%3 == 1 {
			if e, ok := apperr.As(err); !ok || e.Reason != "nope" {
				t.Errorf("write %d: got %v, want its own conflict", i, err)
			}
		} else if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	err := db.Read(ctx, func(tx *store.Tx) error {
		for i := range n {
			v, err := tx.Setting(ctx, fmt.Sprintf("k%d", i))
			switch {
			case i%3 == 1 && !apperr.Is(err, apperr.NotFound):
				return fmt.Errorf("k%d of a failed write: got %q, %v", i, v, err)
			case i%3 != 1 && err != nil:
				return fmt.Errorf("k%d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(changes(t, db, store.ChangeFilter{Buckets: []string{"bucket:group"}})), 5; got != want {
		t.Errorf("feed rows: got %d, want %d (failed writes leave none)", got, want)
	}
	hookMu.Lock()
	defer hookMu.Unlock()
	if len(hooks) != 1 {
		t.Fatalf("commit hooks: got %d, want one for the group", len(hooks))
	}
	if hooks[0].FeedSeq == 0 || hooks[0].EventSeq == 0 {
		t.Errorf("hook: %+v, want the group's last feed and event seqs", hooks[0])
	}
}

// A write whose context ends while it waits in the queue is not run.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	release := db.HoldWriterForTest(2)
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran bool
	done := make(chan error, 2)
	go func() {
		done <- db.Write(cctx, func(tx *store.Tx) error { ran = true; return nil })
	}()
	go func() {
		done <- db.Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.SetSettingIfAbsent(context.Background(), "k", "v")
			return err
		})
	}()
	release()
	var errs []error
	for range 2 {
		errs = append(errs, <-done)
	}
	if ran {
		t.Error("the cancelled write ran")
	}
	if !errors.Is(errors.Join(errs...), context.Canceled) {
		t.Errorf("errors %v, want one context.Canceled", errs)
	}
}

// A write whose caller's context ends while it runs is not cut short: its
// statements run to the end and it commits, alone or in a group (an
// interrupted statement would roll back the whole shared transaction).
// Whether it runs is decided once, before it starts.
func TestWriteCancelledWhileRunning(t *testing.T) {
	t.Parallel()
	for _, group := range []int{1, 2} {
		t.Run(fmt.Sprintf("group_of_%d", group), func(t *testing.T) {
			db := mustOpen(t)
			release := db.HoldWriterForTest(group)
			cctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, group)
			go func() {
				done <- db.Write(cctx, func(tx *store.Tx) error {
					if _, err := tx.SetSettingIfAbsent(cctx, "before", "v"); err != nil {
						return err
					}
					cancel() // the client went away mid-write
					if _, err := tx.SetSettingIfAbsent(cctx, "after", "v"); err != nil {
						return err
					}
					_, err := tx.Setting(cctx, "before")
					return err
				})
			}()
			if group > 1 {
				go func() {
					done <- db.Write(context.Background(), func(tx *store.Tx) error {
						_, err := tx.SetSettingIfAbsent(context.Background(), "other", "v")
						return err
					})
				}()
			}
			release()
			for range group {
				if err := <-done; err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			err := db.Read(context.Background(), func(tx *store.Tx) error {
				keys := []string{"before", "after"}
				if group > 1 {
					keys = append(keys, "other")
				}
				for _, k := range keys {
					if _, err := tx.Setting(context.Background(), k); err != nil {
						return fmt.Errorf("%s: %w", k, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A write that panics is rolled back alone, its panic reaches its own
// caller, and the writer stays usable.
func TestGroupCommitPanic(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	release := db.HoldWriterForTest(2)
	recovered := make(chan any, 1)
	okErr := make(chan error, 1)
	go func() {
		defer func() { recovered <- recover() }()
		_ = db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.SetSettingIfAbsent(ctx, "panicky", "v"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	go func() {
		okErr <- db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.SetSettingIfAbsent(ctx, "fine", "v")
			return err
		})
	}()
	release()
	if p := <-recovered; p != "boom" {
		t.Errorf("caller recovered %v, want its own panic", p)
	}
	if err := <-okErr; err != nil {
		t.Errorf("the other write: %v", err)
	}
	err := db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.Setting(ctx, "panicky"); !apperr.Is(err, apperr.NotFound) {
			return fmt.Errorf("the panicking write's row: %v, want none", err)
		}
		_, err := tx.Setting(ctx, "fine")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	write(t, db, func(tx *store.Tx) error { _, err := tx.SetSettingIfAbsent(ctx, "after", "v"); return err })
}
