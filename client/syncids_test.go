package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// copyDir copies the files of a closed data folder.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		in, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(to, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCopiedDataFolder: two copies of one data folder (a restored backup,
// or a folder copied to a second device) queue different mutations under
// the same ids. The second to push is told the ids are reused, takes a new
// client id and pushes its work again: nothing is lost or reported as
// rejected, and neither copy loops or blocks the other.
func TestCopiedDataFolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy := env.Register("Amy")
	dir1, dir2 := t.TempDir(), t.TempDir()
	open := func(dir string, rekeyed *atomic.Int64) *Client {
		c, err := Open(ctx, Options{Server: env.URL, Dir: dir, HTTPClient: &http.Client{Transport: env.Checked(nil)}, Now: env.Clock.Now,
			OnRejected: func(r Rejection) { t.Errorf("%s: rejected %+v", dir, r) },
			OnRekeyed:  func() { rekeyed.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	bio := func(c *Client, text string) {
		t.Helper()
		if _, err := c.UpdateProfile(ctx, ProfileUpdate{Bio: &text}); err != nil {
			t.Fatal(err)
		}
	}
	sync := func(c *Client) SyncResult {
		t.Helper()
		res, err := c.Sync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var rekeyed1, rekeyed2 atomic.Int64
	first := open(dir1, &rekeyed1)
	if _, err := first.Login(ctx, amy.Username, amy.Password); err != nil {
		t.Fatal(err)
	}
	bio(first, "before the copy")
	sync(first)
	first.Close()
	copyDir(t, dir1, dir2)
	first, copied := open(dir1, &rekeyed1), open(dir2, &rekeyed2)
	before, _ := copied.Status(ctx)

	bio(first, "from the first")
	if res := sync(first); res.Pushed != 1 || res.Rekeyed {
		t.Fatalf("first: %+v", res)
	}
	bio(copied, "from the copy") // the same mutation id, other content
	bio(copied, "from the copy, again")
	res := sync(copied)
	if !res.Rekeyed || res.Pushed != 2 || len(res.Rejected) != 0 || res.Pending != 0 || rekeyed2.Load() != 1 {
		t.Fatalf("copy: %+v, told %d times", res, rekeyed2.Load())
	}
	after, _ := copied.Status(ctx)
	if after.ClientID == before.ClientID || after.Outbox != 0 || after.Awaiting != 0 {
		t.Fatalf("copy's status before %+v, after %+v", before, after)
	}
	if got := serverBio(t, env, amy); got != "from the copy, again" {
		t.Fatalf("server bio %q: the copy's work was lost", got)
	}
	if res := sync(copied); res.Rekeyed || rekeyed2.Load() != 1 {
		t.Fatalf("copy re-keyed again: %+v", res)
	}
	// The first copy keeps its id and goes on.
	bio(first, "first again")
	if res := sync(first); res.Pushed != 1 || res.Rekeyed || rekeyed1.Load() != 0 {
		t.Fatalf("first: %+v", res)
	}
	if st, _ := first.Status(ctx); st.ClientID != before.ClientID {
		t.Fatalf("first's client id changed: %s", st.ClientID)
	}
	sync(copied)
	for _, c := range []*Client{first, copied} {
		if me, err := c.Me(ctx); err != nil || me.Bio != "first again" {
			t.Fatalf("replica bio %q, %v", me.Bio, err)
		}
	}
}

// reusingServer answers every push as a reused mutation id.
type reusingServer struct {
	syncv1connect.UnimplementedSyncServiceHandler
	clients []string
}

func (s *reusingServer) Push(_ context.Context, req *connect.Request[syncv1.PushRequest]) (*connect.Response[syncv1.PushResponse], error) {
	s.clients = append(s.clients, req.Msg.GetClientId())
	m := req.Msg.GetMutations()[0]
	return connect.NewResponse(&syncv1.PushResponse{Results: []*syncv1.MutationResult{{Id: m.GetId(),
		Status: syncv1.MutationStatus_MUTATION_STATUS_REJECTED, Code: "conflict", Reason: "mutation_id_reused", Message: "reused"}}}), nil
}

// TestReusedIDsDoNotLoop: a server answering mutation_id_reused even to a
// fresh client id ends Sync and Run with ErrMutationIDReused after one
// re-key; the mutation stays queued, not reported rejected.
func TestReusedIDsDoNotLoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := &reusingServer{}
	mux := http.NewServeMux()
	mux.Handle(syncv1connect.NewSyncServiceHandler(srv))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	c, err := Open(ctx, Options{Server: hs.URL, Dir: t.TempDir(), HTTPClient: hs.Client(),
		OnRejected: func(r Rejection) { t.Errorf("rejected %+v", r) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := setMetaJSON(ctx, c.db, "session", session{Server: hs.URL, UserID: oid.New(), AccessToken: "a", RefreshToken: "r",
		ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	bio := "queued"
	if _, err := c.UpdateProfile(ctx, ProfileUpdate{Bio: &bio}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(ctx); !errors.Is(err, ErrMutationIDReused) {
		t.Fatalf("sync: %v", err)
	}
	if len(srv.clients) != 2 || srv.clients[0] == srv.clients[1] {
		t.Fatalf("pushes under client ids %v: want two, the second a new one", srv.clients)
	}
	if err := c.Run(ctx); !errors.Is(err, ErrMutationIDReused) {
		t.Fatalf("Run: %v", err)
	}
	if st, _ := c.Status(ctx); st.Outbox != 1 {
		t.Fatalf("outbox %d: the mutation must stay queued", st.Outbox)
	}
	if me, _ := c.Me(ctx); me.Bio != "queued" {
		t.Fatalf("optimistic bio %q", me.Bio)
	}
}

// TestSubscribeEndsWithTheSession: when the replica's login is revoked
// elsewhere (here: logged out with its token), the server ends the
// Subscribe stream at its next session check, and the client's listener
// stops with ErrSessionEnded instead of reconnecting.
func TestSubscribeEndsWithTheSession(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	c := openLoggedIn(t, env, amy)
	connected := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.subscribe(ctx, func() {
			select {
			case connected <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-connected:
	case err := <-done:
		t.Fatalf("stream ended at once: %v", err)
	}
	s, err := c.session(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	env.Do("POST", "/auth/logout", s.AccessToken, nil).Want(http.StatusNoContent)
	if err := env.Server.Hub().Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("subscribe ended with %v, want ErrSessionEnded", err)
	}
}
