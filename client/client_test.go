package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/servertest"
)

// netSwitch is a transport that can play "offline", lose answers, and
// counts requests per path.
type netSwitch struct {
	down      atomic.Bool
	loseNext  atomic.Value // path whose next answer is lost after the server handled it
	mu        sync.Mutex
	calls     map[string]int
	transport http.RoundTripper
}

func newNet() *netSwitch {
	return &netSwitch{calls: map[string]int{}, transport: http.DefaultTransport}
}

func (n *netSwitch) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	n.calls[r.URL.Path]++
	n.mu.Unlock()
	if n.down.Load() {
		return nil, errors.New("network is down")
	}
	res, err := n.transport.RoundTrip(r)
	if lose, _ := n.loseNext.Load().(string); err == nil && lose == r.URL.Path {
		n.loseNext.Store("")
		res.Body.Close()
		return nil, errors.New("connection reset after the request was sent")
	}
	return res, err
}

func (n *netSwitch) count(path string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[path]
}

type device struct {
	*client.Client
	net *netSwitch
	dir string
	rej []client.Rejection
	mu  sync.Mutex
}

func openDevice(t *testing.T, env *servertest.Env, dir string) *device {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	d := &device{net: newNet(), dir: dir}
	c, err := client.Open(context.Background(), client.Options{
		Server: env.URL, Dir: dir, HTTPClient: &http.Client{Transport: env.Checked(d.net)},
		Now: env.Clock.Now,
		OnRejected: func(r client.Rejection) {
			d.mu.Lock()
			d.rej = append(d.rej, r)
			d.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d.Client = c
	return d
}

func login(t *testing.T, env *servertest.Env, d *device, u servertest.User) {
	t.Helper()
	if _, err := d.Login(context.Background(), u.Username, u.Password); err != nil {
		t.Fatal(err)
	}
}

func mustSync(t *testing.T, d *device) client.SyncResult {
	t.Helper()
	res, err := d.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return res
}

func str(s string) *string { return &s }

func serverBio(t *testing.T, env *servertest.Env, u servertest.User) string {
	t.Helper()
	var body struct {
		User struct {
			Bio string `json:"bio"`
		} `json:"user"`
	}
	tok := loginToken(t, env, u)
	env.Do("GET", "/users/me", tok, nil).Want(200).Decode(&body)
	return body.User.Bio
}

func loginToken(t *testing.T, env *servertest.Env, u servertest.User) string {
	var a struct {
		AccessToken string `json:"accessToken"`
	}
	env.Do("POST", "/auth/login", "", map[string]string{"username": u.Username, "password": u.Password}).Want(200).Decode(&a)
	return a.AccessToken
}

func TestClient(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	ctx := context.Background()
	t.Run("register_sync_and_read_me_from_the_replica", func(t *testing.T) {
		env := shared.For(t)
		d := openDevice(t, env, "")
		u, err := d.Register(ctx, "Amy", "amy_r", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		mustSync(t, d)
		d.net.down.Store(true) // reads need no server
		me, err := d.Me(ctx)
		if err != nil || me.ID != u.ID || me.Username != "amy_r" {
			t.Fatalf("me %+v %v", me, err)
		}
	})
	t.Run("offline_write_is_optimistic_and_delivered_once", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		d := openDevice(t, env, "")
		login(t, env, d, amy)
		mustSync(t, d)
		d.net.down.Store(true)
		if _, err := d.UpdateProfile(ctx, client.ProfileUpdate{Bio: str("offline bio")}); err != nil {
			t.Fatal(err)
		}
		if me, _ := d.Me(ctx); me.Bio != "offline bio" {
			t.Fatalf("optimistic me %+v", me)
		}
		if _, err := d.Sync(ctx); !errors.Is(err, client.ErrOffline) {
			t.Fatalf("sync offline: %v", err)
		}
		if st, _ := d.Status(ctx); st.Outbox != 1 {
			t.Fatalf("outbox %d", st.Outbox)
		}
		d.net.down.Store(false)
		res := mustSync(t, d)
		if res.Pushed != 1 {
			t.Fatalf("result %+v", res)
		}
		if st, _ := d.Status(ctx); st.Outbox != 0 || st.Awaiting != 0 {
			t.Fatalf("status after sync %+v", st)
		}
		if got := serverBio(t, env, amy); got != "offline bio" {
			t.Fatalf("server bio %q", got)
		}
	})
	t.Run("lost_push_answer_is_not_applied_twice", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		d := openDevice(t, env, "")
		login(t, env, d, amy)
		d.UpdateProfile(ctx, client.ProfileUpdate{Bio: str("from device")})
		d.net.loseNext.Store("/vibesync.sync.v1.SyncService/Push")
		if _, err := d.Sync(ctx); err == nil {
			t.Fatal("sync succeeded although the answer was lost")
		}
		// Meanwhile the bio changes elsewhere; replaying the push must not undo that.
		env.Do("PATCH", "/users/me", loginToken(t, env, amy), map[string]string{"bio": "from web"}).Want(200)
		mustSync(t, d)
		if got := serverBio(t, env, amy); got != "from web" {
			t.Fatalf("mutation applied twice: server bio %q", got)
		}
		if me, _ := d.Me(ctx); me.Bio != "from web" {
			t.Fatalf("replica bio %q", me.Bio)
		}
	})
	t.Run("rejected_mutation_is_reported_and_undone", func(t *testing.T) {
		env := shared.For(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		d := openDevice(t, env, "")
		login(t, env, d, amy)
		mustSync(t, d)
		d.UpdateProfile(ctx, client.ProfileUpdate{Username: str(bob.Username)})
		if me, _ := d.Me(ctx); me.Username != bob.Username {
			t.Fatalf("optimistic username %q", me.Username)
		}
		res := mustSync(t, d)
		if len(res.Rejected) != 1 || res.Rejected[0].Code != "conflict" || res.Rejected[0].Kind != "update_profile" {
			t.Fatalf("rejections %+v", res.Rejected)
		}
		if len(d.rej) != 1 {
			t.Fatalf("OnRejected got %d", len(d.rej))
		}
		if me, _ := d.Me(ctx); me.Username != amy.Username {
			t.Fatalf("rejected username still shown: %q", me.Username)
		}
		if rs, _ := d.Rejections(ctx); len(rs) != 1 {
			t.Fatalf("stored rejections %+v", rs)
		}
	})
	t.Run("unimplemented_mutation_is_rejected", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		d := openDevice(t, env, "")
		login(t, env, d, amy)
		msg, err := d.SendMessage(ctx, "6b018d2c9fabd4b4776f1f19", "hi")
		if err != nil {
			t.Fatal(err)
		}
		if ms, _ := d.Messages(ctx, msg.Chat); len(ms) != 1 || !ms[0].Pending {
			t.Fatalf("queued message not shown: %+v", ms)
		}
		res := mustSync(t, d)
		if len(res.Rejected) != 1 {
			t.Fatalf("%+v", res)
		}
		if ms, _ := d.Messages(ctx, msg.Chat); len(ms) != 0 {
			t.Fatalf("rejected message still shown: %+v", ms)
		}
	})
	t.Run("expired_token_while_offline_costs_nothing", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		d := openDevice(t, env, "")
		login(t, env, d, amy)
		mustSync(t, d)
		d.net.down.Store(true)
		d.UpdateProfile(ctx, client.ProfileUpdate{Bio: str("queued")})
		env.Clock.Advance(2 * time.Hour) // the access token expired meanwhile
		d.Sync(ctx)
		d.net.down.Store(false)
		res := mustSync(t, d)
		if res.Pushed != 1 {
			t.Fatalf("%+v", res)
		}
		if d.net.count("/auth/refresh") == 0 {
			t.Fatal("no refresh on reconnect")
		}
	})
	t.Run("server_refusing_token_never_loops", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		d := openDevice(t, env, "")
		login(t, env, d, amy)
		mustSync(t, d)
		env.Clock.Advance(31 * 24 * time.Hour) // access and refresh tokens both dead
		d.UpdateProfile(ctx, client.ProfileUpdate{Bio: str("kept")})
		_, err := d.Sync(ctx)
		if !errors.Is(err, client.ErrSessionEnded) {
			t.Fatalf("sync with a dead session: %v", err)
		}
		if n := d.net.count("/auth/refresh"); n != 1 {
			t.Fatalf("%d refresh attempts", n)
		}
		pushes := d.net.count("/vibesync.sync.v1.SyncService/Push")
		if _, err := d.Sync(ctx); !errors.Is(err, client.ErrNotLoggedIn) {
			t.Fatalf("second sync: %v", err)
		}
		if d.net.count("/vibesync.sync.v1.SyncService/Push") != pushes || d.net.count("/auth/refresh") != 1 {
			t.Fatal("a dead session kept calling the server")
		}
		if err := d.Run(ctx); !errors.Is(err, client.ErrNotLoggedIn) {
			t.Fatalf("Run with a dead session: %v", err)
		}
		// Logging in again delivers what was queued.
		login(t, env, d, amy)
		if res := mustSync(t, d); res.Pushed != 1 {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("run_wakes_on_subscribe", func(t *testing.T) {
		// In a bubble, over in-memory pipes: once every goroutine of the
		// client and the server waits, the change has arrived or never
		// will (no polling, no deadline). Run's own periodic sync is a
		// minute apart; the few seconds let pass here are the tailer's
		// polls, so only the Subscribe stream can bring the change.
		synctest.Test(t, func(t *testing.T) {
			env := servertest.NewInBubble(t)
			amy := env.Register("Amy")
			d, err := client.Open(ctx, client.Options{Server: env.URL, Dir: t.TempDir(), HTTPClient: env.HTTP.Client(), Now: env.Clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.Login(ctx, amy.Username, amy.Password); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- d.Run(rctx) }()
			defer func() { cancel(); <-done }()
			synctest.Wait() // Run synced and waits on its stream
			env.Do("PATCH", "/users/me", loginToken(t, env, amy), map[string]string{"bio": "pushed live"}).Want(200)
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if me, _ := d.Me(ctx); me.Bio != "pushed live" {
				t.Fatalf("Run did not pick up a server change: bio %q", me.Bio)
			}
		})
	})
	t.Run("another_user_on_the_same_replica_starts_empty", func(t *testing.T) {
		env := shared.For(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		d := openDevice(t, env, "")
		login(t, env, d, amy)
		mustSync(t, d)
		d.UpdateProfile(ctx, client.ProfileUpdate{Bio: str("amy's")})
		login(t, env, d, bob)
		st, _ := d.Status(ctx)
		if st.Outbox != 0 || st.Rows != 0 {
			t.Fatalf("bob inherits amy's replica: %+v", st)
		}
		mustSync(t, d)
		if me, _ := d.Me(ctx); me.ID != bob.ID || strings.Contains(me.Bio, "amy") {
			t.Fatalf("me %+v", me)
		}
	})
}
