package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vibesync/vibesync/integration/libsqlserver"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// openStore opens the store on a fresh libSQL test server, migrated, with
// a chat to write messages into.
func openStore(t *testing.T) (*store.DB, string) {
	t.Helper()
	return openStoreWith(t, libsqlserver.Config{})
}

// openStoreWith is openStore on a server configured as cfg (its Path
// set here).
func openStoreWith(t *testing.T, cfg libsqlserver.Config) (*store.DB, string) {
	t.Helper()
	cfg.Path = filepath.Join(t.TempDir(), "store.db")
	srv, err := libsqlserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{URL: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, store.User{ID: "650000000000000000000001", Name: "Wire", Username: "wire", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.CreateChat(ctx, store.Chat{ID: "650000000000000000000002", CreatorID: "650000000000000000000001", IsGroup: true, Name: "Wire",
			LastActivityAt: now, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, hs.URL
}

func message(id string) store.Message {
	return store.Message{ID: id, ChatID: "650000000000000000000002", UserID: "650000000000000000000001", Text: "hi", CreatedAt: time.Now()}
}

// feedRows reads which entity ids of bucket b are in the feed.
func feedRows(t *testing.T, db *store.DB, b string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := db.Read(t.Context(), func(tx *store.Tx) error {
		cs, err := tx.Changes(t.Context(), store.ChangeFilter{Buckets: []string{b}})
		for _, c := range cs {
			out[c.EntityID] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Writes whose statements need no answer go out with COMMIT in one round
// trip, and the commit still reports the feed and event positions.
func TestRemoteWriteIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	db, _ := openStore(t)
	ctx := t.Context()
	var got store.Commit
	db.OnCommit(func(c store.Commit) { got = c })
	before := db.RoundTrips()
	err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertMessage(ctx, message("650000000000000000000010")); err != nil {
			return err
		}
		for _, id := range []string{"a", "b"} {
			if _, err := tx.Put(ctx, "chat:x", "message", id, []byte(`{}`)); err != nil {
				return err
			}
		}
		_, err := tx.AppendEvent(ctx, "chat:x", "message-created", []byte(`{}`), "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := db.RoundTrips() - before; n != 1 {
		t.Fatalf("%d round trips, want 1", n)
	}
	var head, events int64
	if err := db.Read(ctx, func(tx *store.Tx) (err error) {
		if head, err = tx.FeedHead(ctx); err != nil {
			return err
		}
		events, err = tx.EventHead(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.FeedSeq != head || got.EventSeq != events || head == 0 || events == 0 {
		t.Fatalf("commit reported %+v; the feed head is %d and the event head %d", got, head, events)
	}
}

// A queued statement that fails takes the whole write with it: nothing
// is half-written, and the error is the statement's (here the duplicate
// message id, as InsertMessage names it).
func TestRemoteFailedQueuedStatementRollsBackTheWrite(t *testing.T) {
	t.Parallel()
	db, _ := openStore(t)
	ctx := t.Context()
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertMessage(ctx, message("650000000000000000000020")) }); err != nil {
		t.Fatal(err)
	}
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Put(ctx, "chat:y", "message", "half", []byte(`{}`)); err != nil {
			return err
		}
		return tx.InsertMessage(ctx, message("650000000000000000000020"))
	})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Conflict || e.Reason != "message_id_taken" {
		t.Fatalf("duplicate message id: %v, want a conflict message_id_taken", err)
	}
	if rows := feedRows(t, db, "chat:y"); len(rows) != 0 {
		t.Fatalf("the failed write left feed rows %v", rows)
	}
	// The writer is usable again.
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Put(ctx, "chat:y", "message", "after", []byte(`{}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if rows := feedRows(t, db, "chat:y"); !rows["after"] || len(rows) != 1 {
		t.Fatalf("feed rows %v, want [after]", rows)
	}
}

// A savepoint that fails undoes only its own writes; when none of them
// had reached the server they are dropped without a round trip.
func TestRemoteSavepointUndoesOnlyItsStep(t *testing.T) {
	t.Parallel()
	db, _ := openStore(t)
	ctx := t.Context()
	errRule := errors.New("rule violated")
	before := db.RoundTrips()
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Put(ctx, "chat:z", "message", "kept1", []byte(`{}`)); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx *store.Tx) error {
			if _, err := tx.Put(ctx, "chat:z", "message", "undone", []byte(`{}`)); err != nil {
				return err
			}
			return errRule
		}); !errors.Is(err, errRule) {
			return errors.New("savepoint did not report its error")
		}
		// A step whose statements did reach the server (a read flushed
		// them) is rolled back there.
		if err := tx.Savepoint(ctx, func(tx *store.Tx) error {
			if _, err := tx.Put(ctx, "chat:z", "message", "undone2", []byte(`{}`)); err != nil {
				return err
			}
			if _, err := tx.FeedHead(ctx); err != nil {
				return err
			}
			return errRule
		}); !errors.Is(err, errRule) {
			return errors.New("second savepoint did not report its error")
		}
		_, err := tx.Put(ctx, "chat:z", "message", "kept2", []byte(`{}`))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := db.RoundTrips() - before; n != 2 {
		t.Fatalf("%d round trips, want 2 (the read, then the commit)", n)
	}
	if rows := feedRows(t, db, "chat:z"); len(rows) != 2 || !rows["kept1"] || !rows["kept2"] {
		t.Fatalf("feed rows %v, want kept1 and kept2", rows)
	}
}

// Two instances writing the same rows at once over the wire take turns:
// BEGIN IMMEDIATE makes the second wait for the first instead of failing
// when it upgrades a read to a write.
func TestRemoteWritersTakeTurns(t *testing.T) {
	t.Parallel()
	a, url := openStore(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	b, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	errs := make(chan error, 40)
	for w := range 40 {
		db := a
		if w%2 == 1 {
			db = b
		}
		go func() {
			errs <- db.Write(ctx, func(tx *store.Tx) error {
				head, err := tx.FeedHead(ctx)
				if err != nil {
					return err
				}
				_, err = tx.Put(ctx, "chat:turns", "n", fmt.Sprint(w), []byte(fmt.Sprint(head)))
				return err
			})
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if rows := feedRows(t, a, "chat:turns"); len(rows) != 40 {
		t.Fatalf("%d rows, want 40", len(rows))
	}
}

// Concurrent writes of one instance are committed in groups over the wire
// too; a write whose rule fails, or whose insert hits a UNIQUE constraint,
// is undone alone and the others commit.
func TestRemoteGroupCommit(t *testing.T) {
	t.Parallel()
	db, _ := openStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	const n = 24
	errs := make([]error, n)
	done := make(chan struct{})
	before := db.RoundTrips()
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			errs[i] = db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.FeedHead(ctx); err != nil {
					return err
				}
				switch i % 6 {
				case 1: // a rule fails after writing
					if _, err := tx.Put(ctx, "chat:group", "n", fmt.Sprint("undone", i), []byte(`{}`)); err != nil {
						return err
					}
					return apperr.Forbiddenf("no", "not allowed")
				case 2: // a username taken by the first write of its kind
					if err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("6500000000000000000001%02d", i), Name: "Dup",
						Username: "dup.user", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
						return err
					}
				}
				_, err := tx.Put(ctx, "chat:group", "n", fmt.Sprint(i), []byte(`{}`))
				return err
			})
		}()
	}
	for range n {
		<-done
	}
	t.Logf("%d writes in %d round trips", n, db.RoundTrips()-before)
	rows := feedRows(t, db, "chat:group")
	dups := 0
	for i, err := range errs {
		switch {
		case i%6 == 1:
			if !apperr.Is(err, apperr.Forbidden) || rows[fmt.Sprint("undone", i)] || rows[fmt.Sprint(i)] {
				t.Errorf("write %d (rule fails): %v, rows %v", i, err, rows)
			}
		case i%6 == 2 && err != nil:
			if !apperr.Is(err, apperr.Conflict) || rows[fmt.Sprint(i)] {
				t.Errorf("write %d (duplicate username): %v", i, err)
			}
			dups++
		case err != nil || !rows[fmt.Sprint(i)]:
			t.Errorf("write %d: %v, its row present: %v", i, err, rows[fmt.Sprint(i)])
		}
	}
	if dups != n/6-1 {
		t.Errorf("%d duplicate usernames refused, want %d (all but the first)", dups, n/6-1)
	}
}

// A write that outlives its stream (it dawdles between statements past
// the server's stream TTL, so the server rolls it back and closes the
// stream, and the batch that finds out also carries queued statements)
// fails. The connection it held must not serve the next write: that one
// succeeds on a fresh stream instead of failing with "stream is closed".
func TestRemoteWriteAfterClosedStream(t *testing.T) {
	t.Parallel()
	db, _ := openStoreWith(t, libsqlserver.Config{StreamTTL: 100 * time.Millisecond})
	ctx := t.Context()
	release := func(tx *store.Tx) error { return tx.ReleaseUsername(ctx, "nobody", time.Now()) }
	err := db.Write(ctx, func(tx *store.Tx) error {
		if err := release(tx); err != nil {
			return err
		}
		time.Sleep(400 * time.Millisecond) // the server closes the idle stream meanwhile
		if err := tx.InsertMessage(ctx, message("650000000000000000000010")); err != nil {
			return err
		}
		return release(tx)
	})
	if err == nil {
		t.Fatal("a write whose stream was closed under it reported success")
	}
	for i := range 3 {
		if err := db.Write(ctx, release); err != nil {
			t.Fatalf("write %d after the closed stream: %v", i+1, err)
		}
	}
}
