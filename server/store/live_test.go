package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/store"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func onlineOf(t *testing.T, db *store.DB, ids ...string) map[string]bool {
	t.Helper()
	var out map[string]bool
	if err := db.Read(context.Background(), func(tx *store.Tx) (err error) {
		out, err = tx.Online(context.Background(), ids)
		return err
	}); err != nil {
		t.Fatalf("online: %v", err)
	}
	return out
}

func TestOnline(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now().UTC()}
	db := mustOpenAt(t, filepath.Join(t.TempDir(), "test.db"), clock.now)
	ctx := context.Background()
	ids := mustUsers(t, db, 3)
	amy, bob, cat := ids[0], ids[1], ids[2]
	add := func(socket, user, instance string, ttl time.Duration) {
		write(t, db, func(tx *store.Tx) error {
			return tx.AddPresence(ctx, store.Presence{Socket: socket, UserID: user, Instance: instance, ExpiresAt: tx.Now.Add(ttl)})
		})
	}
	add("sock-amy-1-xxxxxxxx", amy, "one", time.Minute)
	add("sock-amy-2-xxxxxxxx", amy, "two", time.Minute)
	add("sock-bob-1-xxxxxxxx", bob, "two", time.Minute)

	t.Run("every_id_answered", func(t *testing.T) {
		got := onlineOf(t, db, amy, bob, cat, "unknown")
		if len(got) != 4 || !got[amy] || !got[bob] || got[cat] || got["unknown"] {
			t.Fatalf("online = %v", got)
		}
		if got := onlineOf(t, db); len(got) != 0 {
			t.Fatalf("online of nobody = %v", got)
		}
	})
	t.Run("one_socket_left_keeps_user_online", func(t *testing.T) {
		write(t, db, func(tx *store.Tx) error { return tx.RemovePresence(ctx, "sock-amy-1-xxxxxxxx") })
		if !onlineOf(t, db, amy)[amy] {
			t.Fatal("amy offline with a socket on instance two")
		}
	})
	t.Run("rows_expire_unless_touched", func(t *testing.T) {
		clock.advance(45 * time.Second)
		write(t, db, func(tx *store.Tx) error {
			n, err := tx.TouchPresence(ctx, "two", tx.Now.Add(time.Minute))
			if n != 2 {
				t.Errorf("touched %d rows, want 2", n)
			}
			return err
		})
		add("sock-cat-1-xxxxxxxx", cat, "dead", 10*time.Second)
		clock.advance(30 * time.Second)
		if got := onlineOf(t, db, amy, bob, cat); !got[amy] || !got[bob] || got[cat] {
			t.Fatalf("online = %v, want amy and bob (touched), not cat (expired)", got)
		}
		var pruned int64
		write(t, db, func(tx *store.Tx) (err error) {
			pruned, err = tx.PrunePresence(ctx)
			return err
		})
		if pruned != 1 {
			t.Fatalf("pruned %d rows, want cat's 1", pruned)
		}
	})
	t.Run("drop_instance", func(t *testing.T) {
		write(t, db, func(tx *store.Tx) error { return tx.DropPresence(ctx, "two") })
		if got := onlineOf(t, db, amy, bob); got[amy] || got[bob] {
			t.Fatalf("online after dropping instance two = %v", got)
		}
	})
}

func TestMemberChanges(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	ids := mustUsers(t, db, 2)
	var head int64
	write(t, db, func(tx *store.Tx) (err error) {
		head, err = tx.MemberChangeHead(ctx)
		return err
	})
	write(t, db, func(tx *store.Tx) error {
		if err := tx.AddBucketMember(ctx, "chat:a", ids[0]); err != nil {
			return err
		}
		if err := tx.AddBucketMember(ctx, "chat:a", ids[0]); err != nil { // idempotent: no change
			return err
		}
		if err := tx.AddBucketMember(ctx, "chat:b", ids[1]); err != nil {
			return err
		}
		return tx.RemoveBucketMember(ctx, "chat:a", ids[0])
	})
	write(t, db, func(tx *store.Tx) error { // a cascade counts too
		_, err := tx.ExecForTest(ctx, `DELETE FROM users WHERE id = ?`, ids[1])
		return err
	})
	var got []string
	write(t, db, func(tx *store.Tx) error {
		cs, err := tx.MemberChanges(ctx, head, 100)
		for _, c := range cs {
			got = append(got, c.Bucket)
		}
		return err
	})
	if want := []string{"chat:a", "chat:b", "chat:a", "chat:b"}; !equal(got, want) {
		t.Fatalf("membership changes %v, want %v", got, want)
	}
}

func TestMovedBuckets(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	var after, last int64
	write(t, db, func(tx *store.Tx) (err error) {
		after, err = tx.FeedHead(ctx)
		return err
	})
	write(t, db, func(tx *store.Tx) error {
		for _, p := range [][3]string{{"user:a", "note", "1"}, {"chat:x", "message", "1"}, {"user:a", "note", "2"}, {"user:a", "note", "1"}} {
			seq, err := tx.Put(ctx, p[0], p[1], p[2], []byte(`{}`))
			if err != nil {
				return err
			}
			last = seq
		}
		return nil
	})
	var moves []store.BucketMove
	write(t, db, func(tx *store.Tx) (err error) {
		moves, err = tx.MovedBuckets(ctx, after, 0)
		return err
	})
	if len(moves) != 2 || moves[0].Bucket != "chat:x" || moves[1].Bucket != "user:a" || moves[1].Seq != last {
		t.Fatalf("moves %+v, want chat:x then user:a at %d", moves, last)
	}
	write(t, db, func(tx *store.Tx) (err error) {
		moves, err = tx.MovedBuckets(ctx, last, 0)
		return err
	})
	if len(moves) != 0 {
		t.Fatalf("moves after the head: %+v", moves)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
