package live_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/live"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

var socketID = regexp.MustCompile(`^[A-Za-z0-9\-_]{16,25}$`)

// quickSignal lets two instances on one file hear each other's commits
// within 2 ms rather than the default 25 ms gap (Options.PollInterval).
// The tests of two instances wait for dozens of cross-instance deliveries
// one after another; what they check is who hears an event, not how soon.
func quickSignal(c *server.Config) { c.Live.PollInterval = 2 * time.Millisecond }

// record appends live events through a real write transaction, the way
// the rule layer does.
func record(t testing.TB, env *servertest.Env, socket, target, name string, data any) {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	err = env.Server.DB().Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.AppendEvent(context.Background(), target, name, b, socket)
		return err
	})
	if err != nil {
		t.Fatalf("append event: %v", err)
	}
}

func write(t testing.TB, env *servertest.Env, fn func(context.Context, *store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := env.Server.DB().Write(ctx, func(tx *store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func online(t testing.TB, env *servertest.Env, ids ...string) map[string]bool {
	t.Helper()
	var out map[string]bool
	err := env.Server.DB().Read(context.Background(), func(tx *store.Tx) (err error) {
		out, err = tx.Online(context.Background(), ids)
		return err
	})
	if err != nil {
		t.Fatalf("online: %v", err)
	}
	return out
}

// eventually polls cond until it holds; the deadline only stops a hung test.
// It waits for the server to notice a socket the test closed. Not in a
// synctest bubble: these tests dial over servertest.New's loopback TCP,
// where the server's read loop learns of a close on the kernel's
// schedule and a goroutine in a socket read never counts as blocked; the
// tests whose subject is time (heartbeats, the polling tailer) run in
// bubbles over servertest.NewInBubble's in-memory pipes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wsURL(env *servertest.Env) string { return "ws" + strings.TrimPrefix(env.URL, "http") + "/ws" }

func TestConnect(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")

	t.Run("connected_frame_carries_socket_id", func(t *testing.T) {
		s := env.Dial(amy.Token)
		if !socketID.MatchString(s.ID) {
			t.Fatalf("socket id %q does not match %s", s.ID, socketID)
		}
	})
	t.Run("socket_ids_are_unique", func(t *testing.T) {
		seen := map[string]bool{}
		for range 5 {
			s := env.Dial(amy.Token)
			if seen[s.ID] {
				t.Fatalf("socket id %q handed out twice", s.ID)
			}
			seen[s.ID] = true
			s.Conn.Close()
		}
	})
	t.Run("token_in_query", func(t *testing.T) {
		s := env.Dial("", servertest.Query("token", amy.Token))
		record(t, env, "", "user:"+amy.ID, "score-updated", map[string]int{"score": 1})
		s.Expect("score-updated")
	})
}

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	cases := []struct {
		name   string
		header http.Header
		query  string
		code   string
	}{
		{"missing_token", http.Header{}, "", "token_missing"},
		{"bad_bearer_token", http.Header{"Authorization": {"Bearer nope"}}, "", "token_invalid"},
		{"bad_query_token", http.Header{}, "token=nope", "token_invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantRefused(t, env, c.header, c.query, http.StatusUnauthorized, c.code)
		})
	}
	t.Run("logged_out_session", func(t *testing.T) {
		bob := env.Register("Bob")
		env.Do("POST", "/auth/logout", bob.Token, nil).Want(http.StatusNoContent)
		wantRefused(t, env, http.Header{"Authorization": {"Bearer " + bob.Token}}, "", http.StatusUnauthorized, "token_revoked")
	})
	t.Run("not_a_websocket_request", func(t *testing.T) {
		env.Do("GET", "/ws", amy.Token, nil).WantError(http.StatusBadRequest, "websocket_required")
	})
}

// wantRefused dials and expects a JSON error answer before the upgrade.
func wantRefused(t *testing.T, env *servertest.Env, h http.Header, query string, status int, code string) {
	t.Helper()
	u := wsURL(env)
	if query != "" {
		u += "?" + query
	}
	conn, res, err := websocket.DefaultDialer.Dial(u, h)
	if err == nil {
		conn.Close()
		t.Fatalf("upgrade succeeded, want %d", status)
	}
	if res == nil {
		t.Fatalf("dial: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d", res.StatusCode, status)
	}
	var body struct {
		Error, Message, Code string
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("error body is not JSON: %v", err)
	}
	if body.Code != code || body.Message == "" {
		t.Fatalf("error %+v, want code %q", body, code)
	}
}

func TestOrigins(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config) { c.AllowedOrigins = []string{"https://app.example.com"} })
	amy := env.Register("Amy")
	bearer := func(origin string) http.Header {
		h := http.Header{"Authorization": {"Bearer " + amy.Token}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return h
	}
	for _, origin := range []string{"", env.URL, "https://app.example.com"} {
		t.Run("allowed_"+origin, func(t *testing.T) {
			if _, _, err := env.DialRaw(bearer(origin)); err != nil {
				t.Fatalf("dial with Origin %q: %v", origin, err)
			}
		})
	}
	t.Run("foreign_origin", func(t *testing.T) {
		wantRefused(t, env, bearer("https://evil.example.com"), "", http.StatusForbidden, "origin_not_allowed")
	})
	t.Run("default_same_origin_only", func(t *testing.T) {
		env := servertest.New(t)
		amy := env.Register("Amy")
		h := http.Header{"Authorization": {"Bearer " + amy.Token}, "Origin": {"https://app.example.com"}}
		wantRefused(t, env, h, "", http.StatusForbidden, "origin_not_allowed")
	})
}

func TestDelivery(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob, cat := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")
	phone, laptop := env.Dial(amy.Token), env.Dial(amy.Token)
	bobs, cats := env.Dial(bob.Token), env.Dial(cat.Token)

	t.Run("user_event_reaches_every_device_of_that_user_only", func(t *testing.T) {
		record(t, env, "", "user:"+amy.ID, "connection-request", map[string]string{"_id": "c1"})
		record(t, env, "", "user:"+bob.ID, "marker", nil)
		record(t, env, "", "user:"+cat.ID, "marker", nil)
		if f := phone.Expect("connection-request"); !strings.Contains(string(f.Data), `"c1"`) {
			t.Fatalf("data %s", f.Data)
		}
		laptop.Expect("connection-request")
		bobs.Expect("marker") // no connection-request before it
		cats.Expect("marker")
	})
	t.Run("socket_that_caused_it_is_skipped", func(t *testing.T) {
		record(t, env, amy.ID+":"+phone.ID, "user:"+amy.ID, "connection-accepted", map[string]string{"_id": "c1"})
		record(t, env, "", "user:"+amy.ID, "marker", nil)
		laptop.Expect("connection-accepted")
		laptop.Expect("marker")
		phone.Expect("marker") // its own event never came
	})
	chat := "chat:0123456789abcdef01234567"
	t.Run("chat_event_reaches_members_only", func(t *testing.T) {
		write(t, env, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.AddBucketMember(ctx, chat, amy.ID); err != nil {
				return err
			}
			return tx.AddBucketMember(ctx, chat, bob.ID)
		})
		record(t, env, amy.ID+":"+laptop.ID, chat, "chat-created", map[string]string{"_id": "x"})
		record(t, env, "", "user:"+cat.ID, "marker", nil)
		record(t, env, "", "user:"+amy.ID, "marker", nil)
		phone.Expect("chat-created")
		phone.Expect("marker")
		bobs.Expect("chat-created")
		laptop.Expect("marker")
		cats.Expect("marker")
	})
	t.Run("member_who_left_gets_nothing_more", func(t *testing.T) {
		record(t, env, "", chat, "chat-joined", nil) // warms the audience cache
		bobs.Expect("chat-joined")
		write(t, env, func(ctx context.Context, tx *store.Tx) error { return tx.RemoveBucketMember(ctx, chat, bob.ID) })
		record(t, env, "", chat, "chat-participant-removed", nil)
		record(t, env, "", "user:"+bob.ID, "marker", nil)
		phone.Expect("chat-joined")
		phone.Expect("chat-participant-removed")
		bobs.Expect("marker")
	})
	t.Run("member_who_joined_gets_what_follows", func(t *testing.T) {
		write(t, env, func(ctx context.Context, tx *store.Tx) error { return tx.AddBucketMember(ctx, chat, cat.ID) })
		record(t, env, "", chat, "chat-joined", nil)
		cats.Expect("chat-joined")
	})
	t.Run("frame_shape", func(t *testing.T) {
		record(t, env, "", "user:"+bob.ID, "score-updated", map[string]int{"score": 7})
		_, b, err := bobs.Conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"event":"score-updated","data":{"score":7}}` {
			t.Fatalf("frame %s", b)
		}
	})
}

func TestSyncNotifications(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	syncer, plain := env.Dial(amy.Token, "sync=1"), env.Dial(amy.Token)
	var seq int64
	write(t, env, func(ctx context.Context, tx *store.Tx) (err error) {
		seq, err = tx.Put(ctx, "user:"+amy.ID, "note", "n1", []byte(`{"secret":"not sent"}`))
		return err
	})
	// An earlier move (registration) may be announced first; positions are
	// merged, so a later write of the user's may be announced with it.
	for seen := int64(0); seen < seq; {
		f := syncer.Expect("sync")
		var d struct{ Seq int64 }
		if err := json.Unmarshal(f.Data, &d); err != nil || d.Seq <= seen {
			t.Fatalf("sync data %s after %d, want a later position", f.Data, seen)
		}
		if string(f.Data) != `{"seq":`+itoa(d.Seq)+`}` {
			t.Fatalf("sync data %s, want the position only", f.Data)
		}
		seen = d.Seq
	}
	t.Run("chat_bucket_moves_reach_members", func(t *testing.T) {
		chat := "chat:0123456789abcdef01234567"
		write(t, env, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.AddBucketMember(ctx, chat, amy.ID); err != nil {
				return err
			}
			seq, err := tx.Put(ctx, chat, "message", "m1", []byte(`{}`))
			_ = seq
			return err
		})
		f := syncer.Expect("sync")
		var d struct{ Seq int64 }
		if err := json.Unmarshal(f.Data, &d); err != nil || d.Seq <= seq {
			t.Fatalf("sync %s after %d", f.Data, seq)
		}
	})
	t.Run("only_sync_clients", func(t *testing.T) {
		record(t, env, "", "user:"+amy.ID, "marker", nil)
		if f := plain.Next(); f.Event != "marker" {
			t.Fatalf("plain socket got %q first", f.Event)
		}
	})
	t.Run("subscription", func(t *testing.T) {
		sub := env.Server.Hub().Subscribe(amy.ID)
		defer sub.Close()
		var s2 int64
		write(t, env, func(ctx context.Context, tx *store.Tx) (err error) {
			s2, err = tx.Put(ctx, "user:"+amy.ID, "note", "n2", []byte(`{}`))
			return err
		})
		if got := <-sub.C; got != s2 {
			t.Fatalf("subscription got %d, want %d", got, s2)
		}
	})
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestConnectedComesFirstOnASyncSocket: the connected frame is the first
// a socket gets, even when its user's feed moves while it opens and a
// sync position is ready for it as soon as it is registered (Dial checks
// the first frame).
func TestConnectedComesFirstOnASyncSocket(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	env.Dial(amy.Token, "sync=1") // the hub reads moves only while someone listens
	ctx, stop := context.WithCancel(context.Background())
	moved := make(chan struct{})
	go func() {
		defer close(moved)
		for i := 0; ctx.Err() == nil; i++ {
			_ = env.Server.DB().Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Put(ctx, "user:"+amy.ID, "note", "n"+itoa(int64(i)), []byte(`{}`))
				return err
			})
		}
	}()
	defer func() { stop(); <-moved }()
	for range 40 {
		env.Dial(amy.Token, "sync=1").Conn.Close()
	}
}

func TestTwoInstances(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	one := servertest.Start(t, dir, quickSignal)
	two := servertest.Start(t, dir, quickSignal)
	amy, bob := one.Register("Amy"), one.Register("Bob")
	onOne, onTwo := one.Dial(amy.Token), two.Dial(amy.Token)
	bobOnTwo := two.Dial(bob.Token)

	t.Run("write_on_one_reaches_sockets_on_both", func(t *testing.T) {
		record(t, one, amy.ID+":"+onOne.ID, "user:"+amy.ID, "connection-request", map[string]string{"from": bob.ID})
		onTwo.Expect("connection-request")
		record(t, one, "", "user:"+amy.ID, "marker", nil)
		onOne.Expect("marker") // excluded socket on instance one
		onTwo.Expect("marker")
	})
	t.Run("write_on_two_reaches_one", func(t *testing.T) {
		record(t, two, "", "user:"+amy.ID, "connection-accepted", nil)
		onOne.Expect("connection-accepted")
		onTwo.Expect("connection-accepted")
	})
	t.Run("chat_audience_across_instances", func(t *testing.T) {
		chat := "chat:0123456789abcdef01234567"
		write(t, two, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.AddBucketMember(ctx, chat, amy.ID); err != nil {
				return err
			}
			return tx.AddBucketMember(ctx, chat, bob.ID)
		})
		record(t, one, "", chat, "chat-created", nil)
		onOne.Expect("chat-created")
		onTwo.Expect("chat-created")
		bobOnTwo.Expect("chat-created")
	})
	t.Run("presence_is_shared", func(t *testing.T) {
		cat := one.Register("Cat")
		if online(t, one, cat.ID)[cat.ID] {
			t.Fatal("cat online before connecting")
		}
		s := two.Dial(cat.Token)
		if !online(t, one, cat.ID)[cat.ID] {
			t.Fatal("cat's socket on instance two not seen by instance one")
		}
		s.Conn.Close()
		eventually(t, "cat offline after closing", func() bool { return !online(t, one, cat.ID)[cat.ID] })
	})
}

func TestPresence(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	if got := online(t, env, amy.ID, bob.ID); got[amy.ID] || got[bob.ID] || len(got) != 2 {
		t.Fatalf("online before connecting: %v", got)
	}
	s1, s2 := env.Dial(amy.Token), env.Dial(amy.Token)
	if got := online(t, env, amy.ID, bob.ID); !got[amy.ID] || got[bob.ID] {
		t.Fatalf("online with amy connected: %v", got)
	}
	t.Run("online_while_one_socket_is_open", func(t *testing.T) {
		s1.Conn.Close()
		eventually(t, "first socket gone", func() bool { return env.Server.Hub().Stats().Sockets == 1 })
		if !online(t, env, amy.ID)[amy.ID] {
			t.Fatal("amy offline with a socket still open")
		}
	})
	t.Run("expires_without_heartbeat", func(t *testing.T) {
		env.Clock.Advance(2 * time.Minute)
		if online(t, env, amy.ID)[amy.ID] {
			t.Fatal("presence outlived its TTL without a heartbeat")
		}
		if err := env.Server.Hub().Heartbeat(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !online(t, env, amy.ID)[amy.ID] {
			t.Fatal("heartbeat did not renew presence")
		}
	})
	t.Run("offline_after_last_socket_closes", func(t *testing.T) {
		s2.Conn.Close()
		eventually(t, "amy offline", func() bool { return !online(t, env, amy.ID)[amy.ID] })
	})
	t.Run("social_helper", func(t *testing.T) {
		env.Dial(bob.Token)
		got, err := env.Server.Social().Online(context.Background(), []string{amy.ID, bob.ID})
		if err != nil || got[amy.ID] || !got[bob.ID] {
			t.Fatalf("Online = %v, %v", got, err)
		}
	})
}

func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config) { c.Live.SendQueue = 4 })
	amy := env.Register("Amy")
	slow := env.Dial(amy.Token) // never reads until the hub gives up on it
	big := map[string]string{"blob": strings.Repeat("x", 64<<10)}
	for i := 0; env.Server.Hub().Stats().Dropped == 0; i++ {
		if i == 2000 {
			t.Fatal("the hub never dropped a socket that does not read")
		}
		write(t, env, func(ctx context.Context, tx *store.Tx) error {
			b, _ := json.Marshal(big)
			for range 8 {
				if _, err := tx.AppendEvent(ctx, "user:"+amy.ID, "big", b, ""); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if code := slow.CloseCode(); code != websocket.CloseTryAgainLater {
		t.Fatalf("close code %d, want 1013", code)
	}
	t.Run("reconnects", func(t *testing.T) {
		// Let the tailer finish the last batch: events are delivered in
		// order, so once bob has his, amy's big ones are behind us.
		bob := env.Register("Bob")
		barrier := env.Dial(bob.Token)
		record(t, env, "", "user:"+bob.ID, "barrier", nil)
		barrier.Expect("barrier")
		s := env.Dial(amy.Token)
		record(t, env, "", "user:"+amy.ID, "after", nil)
		s.Expect("after")
	})
}

func TestLimits(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config) { c.Live.MaxSocketsPerUser = 2 })
	amy := env.Register("Amy")
	t.Run("sockets_per_user", func(t *testing.T) {
		a := env.Dial(amy.Token)
		env.Dial(amy.Token)
		wantRefused(t, env, http.Header{"Authorization": {"Bearer " + amy.Token}}, "", http.StatusTooManyRequests, "too_many_sockets")
		a.Conn.Close()
		eventually(t, "a slot frees up", func() bool { return env.Server.Hub().Stats().Sockets == 1 })
		env.Dial(amy.Token)
	})
	t.Run("read_limit", func(t *testing.T) {
		bob := env.Register("Bob")
		s := env.Dial(bob.Token)
		if err := s.Conn.WriteMessage(websocket.TextMessage, make([]byte, live.MaxFrame+1)); err != nil {
			t.Fatal(err)
		}
		if code := s.CloseCode(); code != websocket.CloseMessageTooBig {
			t.Fatalf("close code %d, want 1009", code)
		}
	})
	t.Run("frame_at_the_limit_is_fine", func(t *testing.T) {
		cat := env.Register("Cat")
		s := env.Dial(cat.Token)
		if err := s.Conn.WriteMessage(websocket.TextMessage, make([]byte, live.MaxFrame)); err != nil {
			t.Fatal(err)
		}
		record(t, env, "", "user:"+cat.ID, "after", nil)
		s.Expect("after")
	})
}

// TestHeartbeats runs in a testing/synctest bubble: pings, pongs and the
// drop of a silent client follow the production ping interval on the
// bubble's fake clock, over real WebSockets on in-memory connections.
func TestHeartbeats(t *testing.T) {
	t.Parallel()
	const pingInterval = 25 * time.Second // the production default; the fake clock makes any value cheap
	withPings := func(c *server.Config) { c.Live.PingInterval = pingInterval }
	t.Run("server_pings_and_a_ponging_client_stays", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			env := servertest.NewInBubble(t, withPings)
			amy := env.Register("Amy")
			s := env.Dial(amy.Token)
			var pings atomic.Int64
			s.Conn.SetPingHandler(func(data string) error {
				pings.Add(1)
				return s.Conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
			})
			type result struct {
				f   servertest.Frame
				err error
			}
			done := make(chan result, 1)
			go func() {
				f, err := s.Read()
				done <- result{f, err}
			}()
			// Five ping intervals: well past the two after which a socket
			// that sends nothing is dropped.
			time.Sleep(5*pingInterval + time.Second)
			synctest.Wait()
			select {
			case r := <-done:
				t.Fatalf("socket ended while answering pings: %v", r.err)
			default:
			}
			if n := pings.Load(); n != 5 {
				t.Fatalf("%d pings in five ping intervals, want 5", n)
			}
			record(t, env, "", "user:"+amy.ID, "still-here", nil)
			if r := <-done; r.err != nil || r.f.Event != "still-here" {
				t.Fatalf("got %q, %v; want still-here", r.f.Event, r.err)
			}
			s.Conn.Close()
		})
	})
	t.Run("silent_client_is_dropped", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			env := servertest.NewInBubble(t, withPings)
			amy := env.Register("Amy")
			start := time.Now()
			s := env.Dial(amy.Token)
			s.Conn.SetPingHandler(func(string) error { return nil }) // never pongs
			if _, err := s.Read(); err == nil {
				t.Fatal("a client that never answers pings was kept")
			}
			// Dropped once two ping intervals pass without a frame, not before.
			if waited := time.Since(start); waited < 2*pingInterval || waited >= 2*pingInterval+time.Second {
				t.Fatalf("dropped after %v, want after two ping intervals (%v)", waited, 2*pingInterval)
			}
			synctest.Wait()
			if online(t, env, amy.ID)[amy.ID] {
				t.Fatal("a dropped socket's user is still online")
			}
		})
	})
}

func TestShutdownClosesWithGoingAway(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: dir, Password: servertest.FastPasswords, PublicURL: "http://vibesync.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	env := &servertest.Env{T: t, Server: srv, URL: "http://" + ln.Addr().String()}
	res := registerRaw(t, env.URL)
	s := env.Dial(res)
	cancel()
	if code := s.CloseCode(); code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func registerRaw(t *testing.T, base string) string {
	t.Helper()
	body := strings.NewReader(`{"name":"Amy","username":"amy.shutdown","password":"correct horse battery"}`)
	res, err := http.Post(base+"/auth/register", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ AccessToken string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("register: %v", err)
	}
	return out.AccessToken
}

func TestNoGoroutineLeak(t *testing.T) {
	env := servertest.New(t, func(c *server.Config) { c.Live.MaxSocketsPerUser = 32 })
	amy := env.Register("Amy")
	env.Dial(amy.Token).Conn.Close() // warm up pools and the tailer
	eventually(t, "warm-up socket gone", func() bool { return env.Server.Hub().Stats().Sockets == 0 })
	env.HTTP.Client().CloseIdleConnections()
	base := settled()
	var socks []*servertest.Socket
	for range 20 {
		socks = append(socks, env.Dial(amy.Token, "sync=1"))
	}
	record(t, env, "", "user:"+amy.ID, "ping", nil)
	for _, s := range socks {
		s.Expect("ping")
	}
	if n := runtime.NumGoroutine(); n < base+20 {
		t.Fatalf("%d goroutines with 20 sockets open, baseline %d: the count does not see sockets", n, base)
	}
	for i, s := range socks {
		if i%2 == 0 {
			s.Conn.Close() // abrupt
		} else {
			_ = s.Conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			s.CloseCode()
			s.Conn.Close()
		}
	}
	eventually(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= base })
}

// settled waits until the goroutine count stops falling and returns it.
// Real time, not a synctest bubble: the count is the whole process's,
// including goroutines of the loopback connections that a bubble would
// not see as blocked.
func settled() int {
	n := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

func TestPrune(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	s := env.Dial(amy.Token)
	record(t, env, "", "user:"+amy.ID, "old", nil)
	s.Expect("old")
	write(t, env, func(ctx context.Context, tx *store.Tx) error {
		return tx.AddBucketMember(ctx, "chat:0123456789abcdef01234567", amy.ID)
	})
	env.Clock.Advance(time.Hour)
	record(t, env, "", "user:"+amy.ID, "new", nil)
	s.Expect("new")
	if err := env.Server.Hub().Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	var names []string
	var members int
	err := env.Server.DB().Read(context.Background(), func(tx *store.Tx) error {
		evs, err := tx.Events(context.Background(), 0, 100)
		for _, e := range evs {
			names = append(names, e.Name)
		}
		if err != nil {
			return err
		}
		mc, err := tx.MemberChanges(context.Background(), 0, 100)
		members = len(mc)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "new" {
		t.Fatalf("events after prune: %v, want [new]", names)
	}
	if members != 0 {
		t.Fatalf("%d membership changes survived the prune", members)
	}
	record(t, env, "", "user:"+amy.ID, "after-prune", nil)
	s.Expect("after-prune")
}

func TestSessionEnd(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	var login struct{ AccessToken string }
	env.Do("POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": amy.Password}).Want(http.StatusOK).Decode(&login)
	other := env.Dial(login.AccessToken)
	s := env.Dial(amy.Token)
	env.Do("POST", "/auth/logout", amy.Token, nil).Want(http.StatusNoContent)
	if err := env.Server.Hub().Heartbeat(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := s.CloseCode(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	t.Run("other_logins_stay", func(t *testing.T) {
		record(t, env, "", "user:"+amy.ID, "still-here", nil)
		other.Expect("still-here")
	})
}

func TestSubscriptionEndsAtShutdown(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	sub := env.Server.Hub().Subscribe(amy.ID)
	if err := env.Server.Hub().Close(); err != nil {
		t.Fatal(err)
	}
	for range sub.C { // a position sent before shutdown may still be buffered
	}
	sub.Close() // idempotent after shutdown
	if _, open := <-env.Server.Hub().Subscribe(amy.ID).C; open {
		t.Fatal("subscription opened on a stopped hub")
	}
	wantRefused(t, env, http.Header{"Authorization": {"Bearer " + amy.Token}}, "", http.StatusServiceUnavailable, "shutting_down")
}
