// Package remote_test runs the real server in-process against the libSQL
// test server (integration/libsqlserver) over HTTP, and counts the
// database round trips of each write: the figures docs/PERFORMANCE.md
// quotes, checked here as upper bounds.
package remote_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/integration/libsqlserver"
	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// startRemote starts a libSQL test server and a vibesync server using it
// as its database. The live tailer's polling is slowed to once an hour so
// that the test server's counters see only the requests under test.
func startRemote(t *testing.T) (*libsqlserver.Server, *servertest.Env) {
	t.Helper()
	cfg := libsqlserver.Config{Path: filepath.Join(t.TempDir(), "remote.db")}
	if testing.Verbose() && os.Getenv("LIBSQL_TRACE") != "" {
		cfg.Trace = func(s string) { t.Log(s) }
	}
	db, err := libsqlserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(db.Handler())
	t.Cleanup(func() {
		hs.Close()
		db.Close()
	})
	env := servertest.New(t, func(c *server.Config) {
		c.DatabaseURL = hs.URL
		c.Live.PollInterval = time.Hour
	})
	// Opening and migrating run outside the store's transactions, so the
	// store does not count them: remember that offset once it is steady.
	sdb := env.Server.DB()
	last := int64(-1)
	for {
		off := db.Total().Pipelines - sdb.RoundTrips() - sdb.BackgroundRoundTrips()
		if off == last {
			offsets.Store(env, off)
			return db, env
		}
		last = off
		time.Sleep(100 * time.Millisecond)
	}
}

// offsets holds, per server, the requests made before the store counted.
var offsets sync.Map

func baseline(env *servertest.Env) int64 {
	v, _ := offsets.Load(env)
	off, _ := v.(int64)
	return -off
}

// trips counts the round trips of do: those on the request's path (the
// store's count, exact: nothing else writes meanwhile) and all that reached
// the libSQL server while it ran, which also include the live tailer's
// read after a local commit (approximate: that read may land a moment
// later).
func trips(t *testing.T, db *libsqlserver.Server, env *servertest.Env, do func()) (path, all int64) {
	t.Helper()
	settle(t, db, env)
	sdb := env.Server.DB()
	store, wire := sdb.RoundTrips(), db.Total().Pipelines
	do()
	settle(t, db, env)
	return sdb.RoundTrips() - store, db.Total().Pipelines - wire
}

// settle waits until every request the store counted (on requests' paths
// and in the background) has reached the libSQL server and nothing else
// has: the two counts agree.
func settle(t *testing.T, db *libsqlserver.Server, env *servertest.Env) {
	t.Helper()
	sdb := env.Server.DB()
	deadline := time.Now().Add(10 * time.Second)
	for {
		counted := sdb.RoundTrips() + sdb.BackgroundRoundTrips() - baseline(env)
		seen := db.Total().Pipelines
		if counted == seen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store counted %d round trips, the libSQL server saw %d", counted, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRoundTripsPerWrite: each REST write and a push over the wire costs
// at most its budget of round trips on the request's path: a message send
// at most 3 (2, and one more to check a client-proposed id); the other
// budgets are today's counts (docs/PERFORMANCE.md), so a change that adds
// round trips shows here.
func TestRoundTripsPerWrite(t *testing.T) {
	t.Parallel()
	db, env := startRemote(t)
	amy := env.Register("amy.trips")
	bob := env.Register("bob.trips")
	cleo := env.Register("cleo.trips")

	var chatID, reqID string
	steps := []struct {
		name   string
		budget int64
		do     func()
	}{
		{"PATCH /users/me", 6, func() {
			env.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "counted"}).Want(http.StatusOK)
		}},
		{"PUT /users/me/status", 5, func() {
			env.Do("PUT", "/users/me/status", bob.Token, map[string]any{"text": "around", "durationMinutes": 30}).Want(http.StatusOK)
		}},
		{"POST /connections/:id", 22, func() {
			env.Do("POST", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusCreated)
		}},
		{"POST /connections/:id/accept", 21, func() {
			env.Do("POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(http.StatusOK)
		}},
		{"POST /users/:id/follow", 4, func() {
			env.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK)
		}},
		{"POST /chats", 15, func() {
			var made struct {
				Chat struct {
					ID string `json:"_id"`
				}
			}
			env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Trips", "category": "Study",
				"restricted": true, "participants": []string{bob.ID}}).Want(http.StatusCreated).Decode(&made)
			chatID = made.Chat.ID
		}},
		{"POST /chats/:id/messages", 3, func() {
			env.Do("POST", "/chats/"+chatID+"/messages", bob.Token, map[string]any{"text": "counted"}).Want(http.StatusCreated)
		}},
		{"POST /chats/:id/messages (client id)", 3, func() {
			env.Do("POST", "/chats/"+chatID+"/messages", amy.Token, map[string]any{"_id": "65f000000000000000000001", "text": "mine"}).Want(http.StatusCreated)
		}},
		{"POST /chats/:id/read", 6, func() {
			env.Do("POST", "/chats/"+chatID+"/read", amy.Token, nil).Want(http.StatusOK)
		}},
		{"POST /requests", 14, func() {
			var req struct {
				Request struct {
					ID string `json:"_id"`
				}
			}
			env.Do("POST", "/requests", cleo.Token, map[string]any{"chat": chatID}).Want(http.StatusCreated).Decode(&req)
			reqID = req.Request.ID
		}},
		{"PATCH /requests/:id", 22, func() {
			env.Do("PATCH", "/requests/"+reqID, amy.Token, map[string]any{"status": "accepted"}).Want(http.StatusOK)
		}},
	}
	report := fmt.Sprintf("\n  %-40s %s %s", "write", "request", "with the tailer")
	for _, s := range steps {
		t.Log("——", s.name)
		n, all := trips(t, db, env, s.do)
		report += fmt.Sprintf("\n  %-40s %7d %7d", s.name, n, all)
		if n > s.budget {
			t.Errorf("%s: %d round trips, budget %d", s.name, n, s.budget)
		}
	}

	rpc := syncv1connect.NewSyncServiceClient(http.DefaultClient, env.URL)
	push := func(muts ...*syncv1.Mutation) {
		req := connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: client.ProtocolVersion, ClientId: "trips-client-0001", Mutations: muts})
		req.Header().Set("Authorization", "Bearer "+bob.Token)
		res, err := rpc.Push(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Msg.Results {
			if r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
				t.Fatalf("push: %+v", r)
			}
		}
	}
	send := func(id int64) *syncv1.Mutation {
		return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_SendMessage{SendMessage: &syncv1.SendMessage{ChatId: chatID, Text: fmt.Sprint("pushed ", id)}}}
	}
	n, all := trips(t, db, env, func() { push(send(1)) })
	report += fmt.Sprintf("\n  %-40s %7d %7d", "Push (1 message)", n, all)
	if n > 4 {
		t.Errorf("a push of one message: %d round trips, budget 4", n)
	}
	n, all = trips(t, db, env, func() { push(send(2), send(3), send(4), send(5)) })
	report += fmt.Sprintf("\n  %-40s %7d %7d", "Push (4 messages)", n, all)
	if n > 16 {
		t.Errorf("a push of four messages: %d round trips, budget 16", n)
	}
	t.Log("round trips per write:" + report)
}
