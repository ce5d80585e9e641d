package integration

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/servertest"
)

// TestOfflineFirst runs two clients (the client package: local replica,
// outbox, sync) against the server image through a front door, cuts the
// server off — paused, then disconnected from its network and back on a
// new port — and checks that the clients keep working offline (reads from
// the replica, writes queued with their effects visible at once), that a
// push applied by the server whose answer was lost is not applied again
// when the client retries it, and that after reconnecting both replicas
// and the server converge with nothing duplicated, lost or rejected.
func TestOfflineFirst(t *testing.T) {
	needDocker(t)
	ctx := t.Context()
	net := newNetwork(t)
	srv := startServer(t, serverOptions{volume: newVolume(t), network: net})
	fd := newFrontDoor(t, srv)
	amy := openClient(t, fd.URL)
	bob := openClient(t, fd.URL)
	amyUser, err := amy.Register(ctx, "Amy Offline", "amy.offline", "amy offline password")
	if err != nil {
		t.Fatal(err)
	}
	bobUser, err := bob.Register(ctx, "Bob Offline", "bob.offline", "bob offline password")
	if err != nil {
		t.Fatal(err)
	}
	converge(t, amy, bob)
	rest := &server{name: "front door", url: fd.URL, client: &http.Client{Timeout: 10 * time.Second}}
	amyToken := rest.loginToken(t, account{ID: amyUser.ID, Username: "amy.offline", Password: "amy offline password"})
	bobToken := rest.loginToken(t, account{ID: bobUser.ID, Username: "bob.offline", Password: "bob offline password"})

	t.Run("paused", func(t *testing.T) {
		srv.pause(t)
		bio, name := "written offline", "Bob Unplugged"
		if _, err := amy.UpdateProfile(ctx, client.ProfileUpdate{Bio: &bio}); err != nil {
			t.Fatal(err)
		}
		if _, err := amy.Connect(ctx, bobUser.ID, "hi from a paused server"); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.UpdateProfile(ctx, client.ProfileUpdate{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if me, err := amy.Me(ctx); err != nil || me.Bio != bio {
			t.Fatalf("Amy's replica offline: %+v %v", me, err)
		}
		if cs, err := amy.Connections(ctx, "pending"); err != nil || len(cs) != 1 {
			t.Fatalf("Amy's pending connections offline: %+v %v", cs, err)
		}
		// This push reaches the paused server's socket and is given up on:
		// its answer is lost; it may or may not be applied after unpause.
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := amy.Sync(sctx)
		cancel()
		if err == nil {
			t.Fatal("Sync succeeded against a paused server")
		}
		if st, err := amy.Status(ctx); err != nil || st.Outbox != 2 {
			t.Fatalf("Amy's outbox while paused: %+v %v", st, err)
		}
		srv.unpause(t)
		var early struct{ User userJSON }
		rest.do(t, "GET", "/users/me", amyToken, nil).Want(http.StatusOK).Decode(&early)
		t.Logf("the push given up on was applied by the resumed server: %v (either way it must apply once)", early.User.Bio == bio)
		converge(t, amy, bob)

		var me struct{ User userJSON }
		rest.do(t, "GET", "/users/me", amyToken, nil).Want(http.StatusOK).Decode(&me)
		if me.User.Bio != bio {
			t.Fatalf("server has Amy's bio %q, want %q", me.User.Bio, bio)
		}
		var pending struct {
			Connections []map[string]any
			Count       int
		}
		rest.do(t, "GET", "/connections?status=pending", bobToken, nil).Want(http.StatusOK).Decode(&pending)
		if pending.Count != 1 {
			t.Fatalf("server has %d pending connections for Bob, want 1: %+v", pending.Count, pending.Connections)
		}
		for _, c := range []*client.Client{amy, bob} {
			cs, err := c.Connections(ctx, "")
			if err != nil || len(cs) != 1 || cs[0].Status != "pending" || cs[0].From.ID != amyUser.ID {
				t.Fatalf("replica connections after reconnecting: %+v %v", cs, err)
			}
		}
		if me, err := bob.Me(ctx); err != nil || me.Name != name {
			t.Fatalf("Bob's replica: %+v %v", me, err)
		}
	})

	t.Run("answer_lost", func(t *testing.T) {
		// The push reaches the server and is applied; its answer is lost.
		// The client retries it: it must apply once (a second connection
		// request to the same user would be rejected as request_exists).
		cleo := rest.register(t, "Cleo Offline", "cleo.offline")
		bio := "pushed twice, applied once"
		if _, err := bob.UpdateProfile(ctx, client.ProfileUpdate{Bio: &bio}); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Connect(ctx, cleo.ID, "hi Cleo"); err != nil {
			t.Fatal(err)
		}
		fd.loseAnswers(true)
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := bob.Sync(sctx)
		cancel()
		fd.loseAnswers(false)
		if err == nil {
			t.Fatal("Sync succeeded though every answer was lost")
		}
		var me struct{ User userJSON }
		srv.do(t, "GET", "/users/me", bobToken, nil).Want(http.StatusOK).Decode(&me)
		if me.User.Bio != bio {
			t.Fatalf("the push whose answer was lost did not land: bio %q", me.User.Bio)
		}
		if st, err := bob.Status(ctx); err != nil || st.Outbox == 0 {
			t.Fatalf("Bob's outbox after a lost answer: %+v %v", st, err)
		}
		converge(t, amy, bob)
		var pending struct{ Count int }
		srv.do(t, "GET", "/connections?status=pending", cleo.Token, nil).Want(http.StatusOK).Decode(&pending)
		if pending.Count != 1 {
			t.Fatalf("Cleo has %d pending requests, want Bob's one", pending.Count)
		}
	})

	t.Run("disconnected", func(t *testing.T) {
		srv.disconnect(t, net)
		fd.close(t) // the device has no network either: connecting is refused
		if err := bob.Accept(ctx, amyUser.ID); err != nil {
			t.Fatal(err)
		}
		bio := "written while disconnected"
		if _, err := amy.UpdateProfile(ctx, client.ProfileUpdate{Bio: &bio}); err != nil {
			t.Fatal(err)
		}
		if cs, err := bob.Connections(ctx, "accepted"); err != nil || len(cs) != 1 {
			t.Fatalf("Bob's accepted connections offline: %+v %v", cs, err)
		}
		if _, err := bob.Sync(ctx); !errors.Is(err, client.ErrOffline) {
			t.Fatalf("Sync while disconnected: %v, want ErrOffline", err)
		}
		// A server or balancer dropping connections must not lose work either.
		fd.reopen(t)
		bio2 := "written while the server was unreachable"
		if _, err := amy.UpdateProfile(ctx, client.ProfileUpdate{Bio: &bio2}); err != nil {
			t.Fatal(err)
		}
		if _, err := amy.Sync(ctx); err == nil {
			t.Fatal("Sync succeeded while the server is disconnected")
		} else if !errors.Is(err, client.ErrOffline) {
			t.Logf("a dropped connection is reported as %v, not ErrOffline", err)
		}
		bio = bio2
		srv.connect(t, net) // a new host port; the front door follows it
		converge(t, amy, bob)

		var st map[string]any
		rest.do(t, "GET", "/connections/"+bobUser.ID+"/status", amyToken, nil).Want(http.StatusOK).Decode(&st)
		if st["status"] != "connected" {
			t.Fatalf("server: Amy→Bob %v", st)
		}
		var me struct{ User userJSON }
		rest.do(t, "GET", "/users/me", amyToken, nil).Want(http.StatusOK).Decode(&me)
		if me.User.Bio != bio {
			t.Fatalf("server has Amy's bio %q, want %q", me.User.Bio, bio)
		}
		for _, c := range []*client.Client{amy, bob} {
			cs, err := c.Connections(ctx, "accepted")
			if err != nil || len(cs) != 1 || cs[0].From.ID != amyUser.ID || cs[0].To.ID != bobUser.ID {
				t.Fatalf("replica's accepted connections after reconnecting: %+v %v", cs, err)
			}
		}
	})
}

// openClient opens a client replica in a temp dir against base.
func openClient(t *testing.T, base string) *client.Client {
	t.Helper()
	contract, err := servertest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	// The client's REST calls are checked against the OpenAPI document too.
	checked := contract.CheckedTransport(nil, func(err error) { t.Errorf("%v", err) })
	// Every message: the scenarios compare the device's replica with the
	// server's whole chats.
	c, err := client.Open(t.Context(), client.Options{Server: base, Dir: t.TempDir(), Window: client.WindowAll,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: checked}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// converge syncs every client until none has anything queued, and fails on
// an error or a rejected mutation. Two passes let each client pull what
// the others pushed.
func converge(t *testing.T, cs ...*client.Client) {
	t.Helper()
	ctx := t.Context()
	for pass := 0; pass < 2; pass++ {
		for _, c := range cs {
			res, err := c.Sync(ctx)
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			if len(res.Rejected) > 0 {
				t.Fatalf("rejected: %+v", res.Rejected)
			}
		}
	}
	for _, c := range cs {
		st, err := c.Status(ctx)
		if err != nil || st.Outbox != 0 || st.Awaiting != 0 {
			t.Fatalf("not converged: %+v %v", st, err)
		}
		if rj, err := c.Rejections(ctx); err != nil || len(rj) > 0 {
			t.Fatalf("rejections: %+v %v", rj, err)
		}
	}
}
