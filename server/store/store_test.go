package store_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/server/store/storetest"
)

// mustOpen opens and migrates a fresh database file in a temp dir.
func mustOpen(t *testing.T) *store.DB {
	t.Helper()
	return mustOpenAt(t, filepath.Join(t.TempDir(), "test.db"), time.Now)
}

func mustOpenAt(t *testing.T, path string, now func() time.Time) *store.DB {
	t.Helper()
	ctx := context.Background()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		storetest.CopyTo(t, path) // migrated already
	}
	db, err := store.Open(ctx, store.Config{URL: "file:" + path, Now: now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func write(t *testing.T, db *store.DB, fn func(*store.Tx) error) {
	t.Helper()
	if err := db.Write(context.Background(), fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func changes(t *testing.T, db *store.DB, f store.ChangeFilter) []store.Change {
	t.Helper()
	var out []store.Change
	err := db.Read(context.Background(), func(tx *store.Tx) (err error) {
		out, err = tx.Changes(context.Background(), f)
		return err
	})
	if err != nil {
		t.Fatalf("read changes: %v", err)
	}
	return out
}

func TestFeedIsCompactedAndRestampedOnEveryWrite(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	var first, second int64
	write(t, db, func(tx *store.Tx) (err error) {
		if first, err = tx.Put(ctx, "user:a", "user", "a", []byte(`{"v":1}`)); err != nil {
			return err
		}
		_, err = tx.Put(ctx, "user:a", "notification", "n1", []byte(`{}`))
		return err
	})
	write(t, db, func(tx *store.Tx) (err error) {
		second, err = tx.Put(ctx, "user:a", "user", "a", []byte(`{"v":2}`))
		return err
	})
	if second <= first {
		t.Fatalf("re-written entity kept seq %d (first %d)", second, first)
	}
	all := changes(t, db, store.ChangeFilter{Buckets: []string{"user:a"}})
	if len(all) != 2 {
		t.Fatalf("bucket has %d rows, want 2 (one per entity)", len(all))
	}
	if last := all[1]; last.Entity != "user" || string(last.Data) != `{"v":2}` || last.Seq != second {
		t.Fatalf("latest row = %+v, want the second write of the user", last)
	}
	// Reading from a cursor returns exactly what changed since.
	since := changes(t, db, store.ChangeFilter{Buckets: []string{"user:a"}, After: all[0].Seq})
	if len(since) != 1 || since[0].Seq != second {
		t.Fatalf("changes after %d = %+v, want only the user row", all[0].Seq, since)
	}
}

func TestFeedTombstonesReplaceUpsertsAndPrune(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db := mustOpenAt(t, filepath.Join(t.TempDir(), "t.db"), clock)
	ctx := context.Background()
	write(t, db, func(tx *store.Tx) error {
		_, err := tx.Put(ctx, "chat:c", "message", "m1", []byte(`{}`))
		return err
	})
	write(t, db, func(tx *store.Tx) error {
		_, err := tx.Tombstone(ctx, "chat:c", "message", "m1")
		return err
	})
	got := changes(t, db, store.ChangeFilter{Buckets: []string{"chat:c"}})
	if len(got) != 1 || got[0].Op != store.OpDelete || got[0].Data != nil {
		t.Fatalf("after delete the bucket holds %+v, want one tombstone", got)
	}
	mu.Lock()
	now = now.Add(48 * time.Hour)
	mu.Unlock()
	write(t, db, func(tx *store.Tx) error {
		n, err := tx.PruneTombstones(ctx, now.Add(-24*time.Hour))
		if err == nil && n != 1 {
			t.Errorf("pruned %d tombstones, want 1", n)
		}
		return err
	})
	if got := changes(t, db, store.ChangeFilter{Buckets: []string{"chat:c"}}); len(got) != 0 {
		t.Fatalf("pruned bucket still has %+v", got)
	}
}

func TestFeedReadsSeveralBucketsInSeqOrderAndPages(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	write(t, db, func(tx *store.Tx) error {
		for i, b := range []string{"user:a", "chat:x", "user:b", "chat:x", "user:a"} {
			if _, err := tx.Put(ctx, b, "thing", string(rune('a'+i)), []byte(`{}`)); err != nil {
				return err
			}
		}
		return nil
	})
	page := changes(t, db, store.ChangeFilter{Buckets: []string{"user:a", "chat:x"}, Limit: 3})
	if len(page) != 3 {
		t.Fatalf("page has %d rows, want 3", len(page))
	}
	rest := changes(t, db, store.ChangeFilter{Buckets: []string{"user:a", "chat:x"}, After: page[2].Seq})
	if len(rest) != 1 || rest[0].Bucket != "user:a" {
		t.Fatalf("second page = %+v, want the last user:a row", rest)
	}
	for i := 1; i < len(page); i++ {
		if page[i].Seq <= page[i-1].Seq {
			t.Fatalf("rows out of seq order: %+v", page)
		}
	}
	for _, c := range append(page, rest...) {
		if c.Bucket == "user:b" {
			t.Fatalf("read a bucket that was not asked for: %+v", c)
		}
	}
}

func TestFailedWriteLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Put(ctx, "user:a", "user", "a", []byte(`{}`)); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(ctx, "user:a", "x", []byte(`{}`), ""); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want the callback's error", err)
	}
	if got := changes(t, db, store.ChangeFilter{Buckets: []string{"user:a"}}); len(got) != 0 {
		t.Fatalf("rolled-back write left feed rows %+v", got)
	}
	var evs []store.Event
	db.Read(ctx, func(tx *store.Tx) (err error) { evs, err = tx.Events(ctx, 0, 10); return err })
	if len(evs) != 0 {
		t.Fatalf("rolled-back write left events %+v", evs)
	}
}

func TestEventsAppendInOrderAndCommitHookSeesThem(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	var commits []store.Commit
	db.OnCommit(func(c store.Commit) { commits = append(commits, c) })
	write(t, db, func(tx *store.Tx) error {
		if _, err := tx.AppendEvent(ctx, "user:a", "connection-request", []byte(`{"n":1}`), "sock1"); err != nil {
			return err
		}
		_, err := tx.AppendEvent(ctx, "chat:c", "chat-joined", []byte(`{"n":2}`), "")
		return err
	})
	write(t, db, func(tx *store.Tx) error { return nil }) // no feed rows: no hook
	var evs []store.Event
	var head int64
	err := db.Read(ctx, func(tx *store.Tx) (err error) {
		if evs, err = tx.Events(ctx, 0, 10); err != nil {
			return err
		}
		head, err = tx.EventHead(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Name != "connection-request" || evs[0].Socket != "sock1" || evs[1].Target != "chat:c" {
		t.Fatalf("events = %+v", evs)
	}
	if head != evs[1].Seq {
		t.Fatalf("EventHead = %d, want %d", head, evs[1].Seq)
	}
	if len(commits) != 1 || commits[0].EventSeq != evs[1].Seq {
		t.Fatalf("commit hook calls = %+v, want one with EventSeq %d", commits, evs[1].Seq)
	}
}

func TestUniqueViolationIsAConflict(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	now := time.Now()
	u := store.User{ID: "000000000000000000000001", Name: "A", Username: "Amy", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	write(t, db, func(tx *store.Tx) error { return tx.CreateUser(ctx, u) })
	u.ID = "000000000000000000000002"
	u.Username = "AMY"
	err := db.Write(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, u) })
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Conflict || e.Reason != "username_taken" {
		t.Fatalf("duplicate username (other case) gave %v, want conflict username_taken", err)
	}
}

func TestSettingIfAbsentKeepsTheFirstValue(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	var a, b string
	write(t, db, func(tx *store.Tx) (err error) { a, err = tx.SetSettingIfAbsent(ctx, "k", "first"); return err })
	write(t, db, func(tx *store.Tx) (err error) { b, err = tx.SetSettingIfAbsent(ctx, "k", "second"); return err })
	if a != "first" || b != "first" {
		t.Fatalf("got %q then %q, want first both times", a, b)
	}
}

func TestReadersCannotWrite(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	err := db.Read(ctx, func(tx *store.Tx) error {
		_, err := tx.Put(ctx, "user:a", "user", "a", nil)
		return err
	})
	if err == nil {
		t.Fatal("a read transaction wrote to the feed")
	}
}

func TestConcurrentWritersAllLand(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	const n = 50
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Put(ctx, "chat:c", "message", string(rune('A'+i)), []byte(`{}`))
				return err
			})
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if got := changes(t, db, store.ChangeFilter{Buckets: []string{"chat:c"}, Limit: 1000}); len(got) != n {
		t.Fatalf("%d rows landed, want %d", len(got), n)
	}
}

func TestMigrationsAllApplied(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ms, err := db.Migrations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations found")
	}
	for _, m := range ms {
		if !m.Applied {
			t.Errorf("migration %d %s not applied", m.Version, m.Name)
		}
	}
	if err := db.Ready(context.Background()); err != nil {
		t.Fatalf("Ready after Migrate: %v", err)
	}
}

func TestReadyReportsPendingMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(t.TempDir(), "p.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err == nil {
		t.Fatal("Ready = nil with migrations pending")
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("upgrade from the first migration: %v", err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready after upgrade: %v", err)
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, u := range []string{"", "file:", "file::memory:", "ftp://x"} {
		if db, err := store.Open(ctx, store.Config{URL: u}); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestFileDefaultsReachEveryConnection(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "d.db")
	db := mustOpenAt(t, path, time.Now)
	ctx := context.Background()
	// Foreign keys on: a session for a user that does not exist is refused.
	err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.CreateSession(ctx, store.Session{ID: "s", UserID: "nobody", CreatedAt: time.Now()})
	})
	if err == nil {
		t.Fatal("foreign keys are off: a dangling session was stored")
	}
	// WAL mode: a write leaves a -wal file beside the database.
	write(t, db, func(tx *store.Tx) error {
		_, err := tx.Put(ctx, "user:a", "user", "a", nil)
		return err
	})
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL file after a write: %v", err)
	}
}

func TestSavepointUndoesOnlyTheFailedStep(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	boom := errors.New("rule violated")
	write(t, db, func(tx *store.Tx) error {
		if _, err := tx.Put(ctx, "user:a", "mutation", "1", []byte(`{}`)); err != nil {
			return err
		}
		err := tx.Savepoint(ctx, func(tx *store.Tx) error {
			if _, err := tx.Put(ctx, "user:a", "message", "m", []byte(`{}`)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("Savepoint returned %v", err)
		}
		return tx.Savepoint(ctx, func(tx *store.Tx) error {
			_, err := tx.Put(ctx, "user:a", "message", "ok", []byte(`{}`))
			return err
		})
	})
	got := changes(t, db, store.ChangeFilter{Buckets: []string{"user:a"}})
	if len(got) != 2 || got[0].EntityID != "1" || got[1].EntityID != "ok" {
		t.Fatalf("after a failed and a good savepoint the feed holds %+v", got)
	}
}

func TestAfterCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	boom := errors.New("rule violated")
	t.Run("runs_after_a_commit_in_order", func(t *testing.T) {
		db := mustOpen(t)
		var ran []string
		write(t, db, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "a") })
			tx.AfterCommit(func() { ran = append(ran, "b") })
			if len(ran) != 0 {
				t.Errorf("ran before the commit: %v", ran)
			}
			return nil
		})
		if len(ran) != 2 || ran[0] != "a" || ran[1] != "b" {
			t.Fatalf("ran %v, want [a b]", ran)
		}
	})
	t.Run("dropped_on_rollback", func(t *testing.T) {
		db := mustOpen(t)
		ran := false
		err := db.Write(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = true })
			return boom
		})
		if !errors.Is(err, boom) || ran {
			t.Fatalf("Write = %v, ran = %v; want the error and nothing run", err, ran)
		}
	})
	t.Run("dropped_with_a_rolled_back_savepoint_only", func(t *testing.T) {
		db := mustOpen(t)
		var ran []string
		write(t, db, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "outer") })
			_ = tx.Savepoint(ctx, func(tx *store.Tx) error {
				tx.AfterCommit(func() { ran = append(ran, "failed step") })
				return boom
			})
			return tx.Savepoint(ctx, func(tx *store.Tx) error {
				tx.AfterCommit(func() { ran = append(ran, "good step") })
				return nil
			})
		})
		if len(ran) != 2 || ran[0] != "outer" || ran[1] != "good step" {
			t.Fatalf("ran %v, want [outer, good step]", ran)
		}
	})
	t.Run("a_good_savepoint_is_dropped_when_the_outer_transaction_rolls_back", func(t *testing.T) {
		db := mustOpen(t)
		ran := false
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.Savepoint(ctx, func(tx *store.Tx) error {
				tx.AfterCommit(func() { ran = true })
				return nil
			}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || ran {
			t.Fatalf("Write = %v, ran = %v; want the error and nothing run", err, ran)
		}
	})
}

func TestAfterRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	boom := errors.New("rule violated")
	t.Run("runs_on_rollback_newest_first", func(t *testing.T) {
		db := mustOpen(t)
		var ran []string
		err := db.Write(ctx, func(tx *store.Tx) error {
			tx.AfterRollback(func() { ran = append(ran, "a") })
			tx.AfterRollback(func() { ran = append(ran, "b") })
			return boom
		})
		if !errors.Is(err, boom) || len(ran) != 2 || ran[0] != "b" || ran[1] != "a" {
			t.Fatalf("Write = %v, ran %v; want [b a]", err, ran)
		}
	})
	t.Run("dropped_on_commit", func(t *testing.T) {
		db := mustOpen(t)
		ran := false
		write(t, db, func(tx *store.Tx) error {
			tx.AfterRollback(func() { ran = true })
			return nil
		})
		if ran {
			t.Fatal("ran after a commit")
		}
	})
	t.Run("a_failed_savepoint_runs_only_its_own", func(t *testing.T) {
		db := mustOpen(t)
		var ran []string
		write(t, db, func(tx *store.Tx) error {
			tx.AfterRollback(func() { ran = append(ran, "outer") })
			_ = tx.Savepoint(ctx, func(tx *store.Tx) error {
				tx.AfterRollback(func() { ran = append(ran, "failed step") })
				return boom
			})
			if len(ran) != 1 || ran[0] != "failed step" {
				t.Errorf("after the failed step ran %v", ran)
			}
			return nil
		})
		if len(ran) != 1 {
			t.Fatalf("ran %v after the commit", ran)
		}
	})
	t.Run("a_good_savepoint_runs_when_the_outer_transaction_rolls_back", func(t *testing.T) {
		db := mustOpen(t)
		ran := false
		_ = db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.Savepoint(ctx, func(tx *store.Tx) error {
				tx.AfterRollback(func() { ran = true })
				return nil
			}); err != nil {
				return err
			}
			return boom
		})
		if !ran {
			t.Fatal("not run when the outer transaction rolled back")
		}
	})
}
