package client

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// hookNet is a transport that runs hooks around requests: before(path, n)
// before the n-th request to path is sent, after(path, n) once its answer
// arrived. down makes every request fail as if offline.
type hookNet struct {
	mu            sync.Mutex
	calls         map[string]int
	down          bool
	before, after func(path string, n int)
}

func (h *hookNet) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.calls[r.URL.Path]++
	n, down, before, after := h.calls[r.URL.Path], h.down, h.before, h.after
	h.mu.Unlock()
	if down {
		return nil, errors.New("network is down")
	}
	if before != nil {
		before(r.URL.Path, n)
	}
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && after != nil {
		after(r.URL.Path, n)
	}
	return res, err
}

func (h *hookNet) set(fn func(*hookNet)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(h)
}

const (
	pullPath = "/vibesync.sync.v1.SyncService/Pull"
	pushPath = "/vibesync.sync.v1.SyncService/Push"
)

func openHooked(t *testing.T, env *servertest.Env, dir string, pageSize int, onRejected func(Rejection)) (*Client, *hookNet) {
	t.Helper()
	net := &hookNet{calls: map[string]int{}}
	c, err := Open(context.Background(), Options{Server: env.URL, Dir: dir, HTTPClient: &http.Client{Transport: env.Checked(net)},
		Now: env.Clock.Now, PageSize: pageSize, OnRejected: onRejected})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, net
}

func addMessages(t *testing.T, env *servertest.Env, chat string, n int) {
	t.Helper()
	err := env.Server.DB().Write(context.Background(), func(tx *store.Tx) error {
		for range n {
			id := oid.New()
			if _, err := tx.Put(context.Background(), "chat:"+chat, "message", id, []byte(`{"_id":"`+id+`","chat":"`+chat+`","text":"x"}`)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func rowsOf(t *testing.T, c *Client, bucket string) int {
	t.Helper()
	var n int
	if err := c.db.QueryRow(`SELECT COUNT(*) FROM rows WHERE bucket = ?`, bucket).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPullProtocol(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("cancelled_mid_pull_keeps_the_previous_checkpoint", func(t *testing.T) {
		env := servertest.New(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		chat, _ := seedChat(t, env, amy, bob, env.Clock.Now(), nil)
		c, net := openHooked(t, env, t.TempDir(), 2, nil)
		if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		before, _ := c.Status(ctx)
		addMessages(t, env, chat, 5)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		first := net.calls[pullPath] + 1
		net.set(func(h *hookNet) {
			h.after = func(path string, n int) {
				if path == pullPath && n == first+1 { // the second page has arrived
					cancel()
				}
			}
		})
		if _, err := c.Sync(sctx); err == nil {
			t.Fatal("a cancelled sync succeeded")
		}
		after, _ := c.Status(ctx)
		if after.Cursor != before.Cursor || after.Rows != before.Rows {
			t.Fatalf("cancelled pull changed the replica: before %+v, after %+v", before, after)
		}
		if ms, _ := c.Messages(ctx, chat); len(ms) != 0 {
			t.Fatalf("%d messages of an unfinished pull", len(ms))
		}
		net.set(func(h *hookNet) { h.after = nil })
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if ms, _ := c.Messages(ctx, chat); len(ms) != 5 {
			t.Fatalf("%d messages after the next sync, want 5", len(ms))
		}
	})
	t.Run("bucket_lost_mid_pull_is_dropped_with_its_staged_rows", func(t *testing.T) {
		env := servertest.New(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		chat, _ := seedChat(t, env, amy, bob, env.Clock.Now(), nil)
		c, net := openHooked(t, env, t.TempDir(), 2, nil)
		if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		addMessages(t, env, chat, 5)
		first := net.calls[pullPath] + 1
		net.set(func(h *hookNet) {
			h.after = func(path string, n int) {
				if path == pullPath && n == first {
					err := env.Server.DB().Write(ctx, func(tx *store.Tx) error {
						return tx.RemoveBucketMember(ctx, "chat:"+chat, amy.ID)
					})
					if err != nil {
						t.Error(err)
					}
				}
			}
		})
		res, err := c.Sync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Lost) != 1 || res.Lost[0] != "chat:"+chat {
			t.Fatalf("lost %v", res.Lost)
		}
		if n := rowsOf(t, c, "chat:"+chat); n != 0 {
			t.Fatalf("%d rows of the lost chat stay in the replica", n)
		}
		if chats, _ := c.Chats(ctx, ""); len(chats) != 0 {
			t.Fatalf("chats %+v", chats)
		}
	})
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("survives_a_restart", func(t *testing.T) {
		env := servertest.New(t)
		amy := env.Register("Amy")
		dir := t.TempDir()
		c, net := openHooked(t, env, dir, 0, nil)
		if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		net.set(func(h *hookNet) { h.down = true })
		bio := "written offline"
		if _, err := c.UpdateProfile(ctx, ProfileUpdate{Bio: &bio}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); !errors.Is(err, ErrOffline) {
			t.Fatalf("offline sync: %v", err)
		}
		c.Close()
		c, _ = openHooked(t, env, dir, 0, nil)
		if me, _ := c.Me(ctx); me.Bio != bio {
			t.Fatalf("reopened replica shows bio %q", me.Bio)
		}
		res, err := c.Sync(ctx)
		if err != nil || res.Pushed != 1 {
			t.Fatalf("sync after restart: %+v %v", res, err)
		}
		if res, _ := c.Sync(ctx); res.Pushed != 0 {
			t.Fatalf("pushed again: %+v", res)
		}
		if st, _ := c.Status(ctx); st.Outbox != 0 || st.Awaiting != 0 {
			t.Fatalf("status %+v", st)
		}
		if me, _ := c.Me(ctx); me.Bio != bio {
			t.Fatalf("bio %q after sync", me.Bio)
		}
	})
	t.Run("rejection_is_reported_once_by_processes_sharing_a_folder", func(t *testing.T) {
		env := servertest.New(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		dir := t.TempDir()
		var mu sync.Mutex
		var reports []Rejection
		report := func(r Rejection) {
			mu.Lock()
			reports = append(reports, r)
			mu.Unlock()
		}
		a, _ := openHooked(t, env, dir, 0, report)
		if _, err := a.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		b, bnet := openHooked(t, env, dir, 0, report)
		taken := bob.Username
		if _, err := a.UpdateProfile(ctx, ProfileUpdate{Username: &taken}); err != nil {
			t.Fatal(err)
		}
		// b sends its push; a pushes the same mutation and records the
		// rejection before b's answer arrives.
		bnet.set(func(h *hookNet) {
			h.before = func(path string, n int) {
				if path == pushPath && n == 1 {
					if _, err := a.Sync(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		})
		res, err := b.Sync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rejected) != 0 || res.Pushed != 0 {
			t.Fatalf("b reports a mutation a already reported: %+v", res)
		}
		if len(reports) != 1 {
			t.Fatalf("%d reports of one rejection: %+v", len(reports), reports)
		}
		if rs, _ := a.Rejections(ctx); len(rs) != 1 {
			t.Fatalf("stored rejections %+v", rs)
		}
		if me, _ := b.Me(ctx); me.Username != amy.Username {
			t.Fatalf("rejected username shown: %q", me.Username)
		}
	})
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("a_bucket_written_mid_pull_is_not_a_drift", func(t *testing.T) {
		env := servertest.New(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		chat, _ := seedChat(t, env, amy, bob, env.Clock.Now(), nil)
		c, net := openHooked(t, env, t.TempDir(), 2, nil)
		if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		addMessages(t, env, chat, 5)
		first := net.calls[pullPath] + 1
		net.set(func(h *hookNet) {
			h.after = func(path string, n int) {
				if path == pullPath && n == first {
					addMessages(t, env, chat, 1)
				}
			}
		})
		res, err := c.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Drifted) != 0 {
			t.Fatalf("a chat written during the pull counts as drifted: %v", res.Drifted)
		}
		net.set(func(h *hookNet) { h.after = nil })
		if res, err := c.Verify(ctx); err != nil || len(res.Drifted) != 0 {
			t.Fatalf("verify after catching up: %+v %v", res, err)
		}
		if ms, _ := c.Messages(ctx, chat); len(ms) != 6 {
			t.Fatalf("%d messages, want 6", len(ms))
		}
	})
	t.Run("only_the_drifted_bucket_is_read_again", func(t *testing.T) {
		env := servertest.New(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		drift, _ := seedChat(t, env, amy, bob, env.Clock.Now(), nil)
		fine, _ := seedChat(t, env, amy, bob, env.Clock.Now(), nil)
		addMessages(t, env, drift, 3)
		addMessages(t, env, fine, 3)
		c, _ := openHooked(t, env, t.TempDir(), 0, nil)
		if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.ExecContext(ctx, `UPDATE rows SET seq = seq - 1 WHERE bucket = ? AND entity = 'message'`, "chat:"+drift); err != nil {
			t.Fatal(err)
		}
		// Each chat bucket holds what the test wrote: the chat, its two
		// participants and three messages.
		const bucketRows = 1 + 2 + 3
		if n := rowsOf(t, c, "chat:"+fine); n != bucketRows {
			t.Fatalf("the intact chat has %d rows after the sync, want %d", n, bucketRows)
		}
		res, err := c.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Drifted) != 1 || res.Drifted[0] != "chat:"+drift {
			t.Fatalf("drifted %v", res.Drifted)
		}
		// The repair pull carries the drifted chat's rows only.
		if res.Pulled != bucketRows {
			t.Fatalf("pulled %d changes to repair a bucket of %d rows", res.Pulled, bucketRows)
		}
		if n := rowsOf(t, c, "chat:"+drift); n != bucketRows {
			t.Fatalf("the repaired chat has %d rows, want %d", n, bucketRows)
		}
		if n := rowsOf(t, c, "chat:"+fine); n != bucketRows {
			t.Fatalf("the intact chat has %d rows, want %d", n, bucketRows)
		}
		if res, _ := c.Verify(ctx); len(res.Drifted) != 0 {
			t.Fatalf("still drifted: %v", res.Drifted)
		}
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("a_slow_refresh_blocks_no_read_or_write", func(t *testing.T) {
		env := servertest.New(t)
		amy := env.Register("Amy")
		dir := t.TempDir()
		a, anet := openHooked(t, env, dir, 0, nil)
		if _, err := a.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		b, bnet := openHooked(t, env, dir, 0, nil) // another process on the same folder
		env.Clock.Advance(time.Hour)               // the access token has expired
		arrived, release := make(chan struct{}), make(chan struct{})
		anet.set(func(h *hookNet) {
			h.before = func(path string, n int) {
				if path == "/auth/refresh" {
					close(arrived)
					<-release // the network hangs
				}
			}
		})
		synced := make(chan error, 2)
		go func() { _, err := a.Sync(ctx); synced <- err }()
		<-arrived
		done := make(chan error, 1)
		go func() {
			bio := "written during a refresh"
			if _, err := a.UpdateProfile(ctx, ProfileUpdate{Bio: &bio}); err != nil {
				done <- err
				return
			}
			_, err := b.Me(ctx)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a write waited for the refresh's network call")
		}
		go func() { _, err := b.Sync(ctx); synced <- err }() // waits for a's refresh, not a second one
		close(release)
		for range 2 {
			if err := <-synced; err != nil {
				t.Fatal(err)
			}
		}
		if n := anet.calls["/auth/refresh"] + bnet.calls["/auth/refresh"]; n != 1 {
			t.Fatalf("%d refreshes for one expired token", n)
		}
		if got := serverBio(t, env, amy); got != "written during a refresh" {
			t.Fatalf("server bio %q", got)
		}
	})
}

func serverBio(t *testing.T, env *servertest.Env, u servertest.User) string {
	t.Helper()
	var a struct {
		AccessToken string `json:"accessToken"`
	}
	env.Do("POST", "/auth/login", "", map[string]string{"username": u.Username, "password": u.Password}).Want(200).Decode(&a)
	var body struct {
		User struct {
			Bio string `json:"bio"`
		} `json:"user"`
	}
	env.Do("GET", "/users/me", a.AccessToken, nil).Want(200).Decode(&body)
	return body.User.Bio
}

func TestPullRestartsWhenPrunedMidPull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, ids := seedChat(t, env, amy, bob, env.Clock.Now(), []struct {
		by  servertest.User
		off time.Duration
	}{{bob, time.Second}})
	c, net := openHooked(t, env, t.TempDir(), 2, nil)
	if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	addMessages(t, env, chat, 4)
	err := env.Server.DB().Write(ctx, func(tx *store.Tx) error { // a deletion on the pull's last page
		_, err := tx.Tombstone(ctx, "chat:"+chat, "message", ids[0])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Hour)
	first := net.calls[pullPath] + 1
	net.set(func(h *hookNet) {
		h.after = func(path string, n int) {
			if path == pullPath && n == first { // the hourly prune runs mid-pull
				if err := env.Server.Social().PruneFeed(ctx, time.Minute); err != nil {
					t.Error(err)
				}
			}
		}
	})
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reset {
		t.Fatalf("no reset after a prune past the cursor: %+v", res)
	}
	ms, _ := c.Messages(ctx, chat)
	for _, m := range ms {
		if m.ID == ids[0] {
			t.Fatal("a deleted message survived the prune")
		}
	}
	if len(ms) != 4 {
		t.Fatalf("%d messages, want 4", len(ms))
	}
}

func TestPullAnswerOfAnotherProcessWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, _ := seedChat(t, env, amy, bob, env.Clock.Now(), nil)
	dir := t.TempDir()
	a, anet := openHooked(t, env, dir, 2, nil)
	if _, err := a.Login(ctx, amy.Username, amy.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	b, _ := openHooked(t, env, dir, 2, nil)
	addMessages(t, env, chat, 3)
	first := anet.calls[pullPath] + 1
	anet.set(func(h *hookNet) {
		h.after = func(path string, n int) {
			if path == pullPath && n == first { // b completes a newer pull meanwhile
				addMessages(t, env, chat, 1)
				if _, err := b.Sync(ctx); err != nil {
					t.Error(err)
				}
			}
		}
	})
	res, err := a.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := b.Status(ctx)
	if res.Pulled != 0 || res.Cursor != st.Cursor {
		t.Fatalf("a applied its older answer over b's: %+v, replica at %d", res, st.Cursor)
	}
	if ms, _ := a.Messages(ctx, chat); len(ms) != 4 {
		t.Fatalf("%d messages, want 4", len(ms))
	}
}

func TestBusyServerKeepsTheOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t, func(cfg *server.Config) { cfg.DatabaseURL += "?_busy_timeout=50" })
	amy := env.Register("Amy")
	c, _ := openHooked(t, env, t.TempDir(), 0, nil)
	if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", filepath.Join(env.Dir, "vibesync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, bio := range []string{"one", "two"} {
		if _, err := c.UpdateProfile(ctx, ProfileUpdate{Bio: &bio}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending != 2 || res.Pushed != 0 || len(res.Rejected) != 0 {
		t.Fatalf("sync against a busy server: %+v", res)
	}
	if me, _ := c.Me(ctx); me.Bio != "two" {
		t.Fatalf("optimistic bio %q", me.Bio)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Sync(ctx); err != nil || res.Pushed != 2 {
		t.Fatalf("sync once the server is free: %+v %v", res, err)
	}
	if st, _ := c.Status(ctx); st.Outbox != 0 || st.Awaiting != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestRunRetriesSoonAfterABusyServer(t *testing.T) {
	t.Parallel()
	// In a bubble, over in-memory pipes: Run's wait after the busy answer
	// (its Retry-After) passes on the fake clock, and once every
	// goroutine waits the outbox is drained or never will be. SQLite's own
	// busy wait (50 ms) sleeps in real time inside the driver, which the
	// bubble waits out like any running goroutine.
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		env := servertest.NewInBubble(t, func(cfg *server.Config) { cfg.DatabaseURL += "?_busy_timeout=50" })
		amy := env.Register("Amy")
		other, err := sql.Open("sqlite", filepath.Join(env.Dir, "vibesync.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		conn, err := other.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var busy sync.Once
		var busyAnswers atomic.Int32
		c, err := Open(ctx, Options{Server: env.URL, Dir: t.TempDir(), HTTPClient: env.HTTP.Client(), Now: env.Clock.Now,
			OnSync: func(res SyncResult) {
				if res.Pending > 0 { // the busy answer came: the lock goes
					busyAnswers.Add(1)
					busy.Do(func() {
						if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
							t.Error(err)
						}
					})
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(rctx) }()
		defer func() { cancel(); <-done }()
		synctest.Wait() // Run synced once and waits
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		bio := "delivered after a busy spell"
		if _, err := c.UpdateProfile(ctx, ProfileUpdate{Bio: &bio}); err != nil { // wakes Run
			t.Fatal(err)
		}
		start := time.Now()
		time.Sleep(20 * time.Second) // far below Run's idle minute
		synctest.Wait()
		if st, _ := c.Status(ctx); st.Outbox != 0 || busyAnswers.Load() == 0 {
			t.Fatalf("after a busy answer and %v: outbox %d (%d busy answers seen)", time.Since(start), st.Outbox, busyAnswers.Load())
		}
	})
}

// oldServer speaks another protocol version.
type oldServer struct {
	syncv1connect.UnimplementedSyncServiceHandler
	pulls atomic.Int64
}

func (s *oldServer) Pull(context.Context, *connect.Request[syncv1.PullRequest]) (*connect.Response[syncv1.PullResponse], error) {
	s.pulls.Add(1)
	err := connect.NewError(connect.CodeFailedPrecondition, errors.New("this server speaks sync protocol version 2; upgrade the client and reset its replica"))
	err.Meta().Set("vibesync-reason", "protocol_version_unsupported")
	return nil, err
}

func TestIncompatibleServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := &oldServer{}
	mux := http.NewServeMux()
	mux.Handle(syncv1connect.NewSyncServiceHandler(old))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := Open(ctx, Options{Server: srv.URL, Dir: t.TempDir(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := setMetaJSON(ctx, c.db, "session", session{Server: srv.URL, UserID: oid.New(), AccessToken: "a", RefreshToken: "r",
		ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Sync(ctx)
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "version 2; upgrade the client") {
		t.Fatalf("sync against another protocol: %v", err)
	}
	if err := c.Run(ctx); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("Run against another protocol: %v", err)
	}
	if n := old.pulls.Load(); n != 2 {
		t.Fatalf("%d pulls; a refused version is not retried", n)
	}
}
