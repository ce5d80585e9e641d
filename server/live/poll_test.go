package live_test

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// TestPollBacksOffWhileIdle runs in a testing/synctest bubble, on the
// fake clock, with the tailer polling (as it does on a libSQL server,
// where commits are not signalled) and a second connection to the same
// database standing for another instance: its commits reach this one only
// through the tailer's polls.
func TestPollBacksOffWhileIdle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const fastest, slowest = 25 * time.Millisecond, time.Second // the defaults
		env := servertest.NewInBubble(t)
		hub := env.Server.Hub()
		amy := env.Register("Amy")
		s := env.Dial(amy.Token)
		other, err := store.Open(context.Background(), store.Config{URL: "file:" + filepath.Join(env.Dir, "vibesync.db")})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		// elsewhere appends an event for Amy through the other instance and
		// returns how long (on the fake clock) it took to reach her socket.
		elsewhere := func(name string) time.Duration {
			t.Helper()
			t0 := time.Now()
			err := other.Write(context.Background(), func(tx *store.Tx) error {
				_, err := tx.AppendEvent(context.Background(), "user:"+amy.ID, name, []byte(`{}`), "")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			f, err := s.Read()
			if err != nil || f.Event != name {
				t.Fatalf("got %q, %v; want %s", f.Event, err, name)
			}
			return time.Since(t0)
		}

		// Idle: the interval backs off to IdlePollInterval.
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := hub.Stats().PollInterval; got != slowest {
			t.Fatalf("poll interval after 10 s idle: %v, want %v", got, slowest)
		}
		// The first write after the idle spell waits at most one slow
		// interval; the poll that finds it brings the interval back.
		if d := elsewhere("after-idle"); d > slowest {
			t.Fatalf("first event after idle took %v, want at most %v", d, slowest)
		}
		synctest.Wait()
		if got := hub.Stats().PollInterval; got != fastest {
			t.Fatalf("poll interval after a write: %v, want %v", got, fastest)
		}
		// Under load (a write every 500 ms, less than the grace apart) the
		// tailer keeps polling every PollInterval: each write arrives within
		// one fast interval.
		for i := range 20 {
			time.Sleep(500 * time.Millisecond)
			if d := elsewhere("busy"); d > fastest {
				t.Fatalf("write %d under load took %v, want at most %v", i, d, fastest)
			}
		}
		// A commit of this instance counts as activity too: after backing
		// off again, one local write snaps the interval back.
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := hub.Stats().PollInterval; got != slowest {
			t.Fatalf("poll interval after 10 s idle again: %v, want %v", got, slowest)
		}
		record(t, env, "", "user:"+amy.ID, "local", nil)
		if f, err := s.Read(); err != nil || f.Event != "local" {
			t.Fatalf("got %q, %v; want local", f.Event, err)
		}
		synctest.Wait()
		if got := hub.Stats().PollInterval; got != fastest {
			t.Fatalf("poll interval after a local write: %v, want %v", got, fastest)
		}
		s.Conn.Close()
	})
}
