package store_test

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/store"
)

// Two handles on one file stand for two server processes sharing it.
func TestChangedSeesOtherConnectionsCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	a := mustOpenAt(t, path, time.Now)
	b := mustOpenAt(t, path, time.Now)
	changed := func(db *store.DB) bool {
		t.Helper()
		ok, err := db.Changed(ctx)
		if err != nil {
			t.Fatalf("changed: %v", err)
		}
		return ok
	}
	if !changed(a) {
		t.Fatal("first call: want true (nothing seen yet)")
	}
	if changed(a) {
		t.Fatal("no commit since the last call: want false")
	}
	mustUsers(t, b, 1) // a write through the other handle
	if !changed(a) {
		t.Fatal("after another handle's commit: want true")
	}
	if changed(a) {
		t.Fatal("after seeing it: want false")
	}
	write(t, a, func(tx *store.Tx) error { _, err := tx.Put(ctx, "user:x", "users", "x", []byte(`{}`)); return err })
	if !changed(a) {
		t.Fatal("after a commit of a's own writer connection: want true")
	}
}

func TestCommitSignalHearsOtherProcesses(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("commit signals need inotify")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	a := mustOpenAt(t, path, time.Now)
	b := mustOpenAt(t, path, time.Now)
	sig := a.CommitSignal(time.Millisecond)
	if sig == nil {
		t.Fatal("no commit signal on an embedded database on Linux")
	}
	select {
	case <-sig:
		t.Fatal("signal before any commit after watching began")
	default:
	}
	write(t, b, func(tx *store.Tx) error { _, err := tx.Put(ctx, "user:x", "users", "x", []byte(`{}`)); return err })
	select {
	case <-sig:
	case <-time.After(time.Minute): // a liveness bound, not a timing assertion
		t.Fatal("no signal after another handle's commit")
	}
	// What the signal announced is visible to a read after it.
	ok, err := a.Changed(ctx)
	if err != nil || !ok {
		t.Fatalf("changed after the signal: %v, %v", ok, err)
	}
	a.Close()
	for range sig { // a signal still queued, then the close
	}
}
