package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	dc "github.com/ory/dockertest/v3/docker"
	"github.com/tursodatabase/libsql-client-go/libsql"

	"github.com/vibesync/vibesync/client"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// libsqlFixture is a container of the libSQL test server
// (integration/libsqlserver): Hrana over HTTP on a SQLite file, standing in
// for sqld or Turso. Instances reach it by its name on a shared network;
// the test reaches it on its published port, to read its counters and to
// inspect the database with the libSQL client.
type libsqlFixture struct {
	name string
	id   string
	url  string // http://127.0.0.1:<port>
}

// startLibsql starts the libSQL test server on net with extra flags
// (e.g. -latency 10ms) and waits until it answers.
func startLibsql(t testing.TB, net *dc.Network, flags ...string) *libsqlFixture {
	t.Helper()
	needDocker(t)
	f := &libsqlFixture{name: uniqueName("libsql")}
	c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{
		Name: f.name,
		Config: &dc.Config{
			Image:        libsqlImage,
			Cmd:          flags,
			ExposedPorts: map[dc.Port]struct{}{containerPort: {}},
			Labels:       labels(),
		},
		HostConfig: &dc.HostConfig{
			PortBindings: map[dc.Port][]dc.PortBinding{containerPort: {{HostIP: "127.0.0.1"}}},
			NetworkMode:  net.Name,
		},
		NetworkingConfig: &dc.NetworkingConfig{EndpointsConfig: map[string]*dc.EndpointConfig{net.Name: {}}},
	})
	if err != nil {
		t.Fatalf("create libSQL server: %v", err)
	}
	f.id = c.ID
	t.Cleanup(func() {
		if err := pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: f.id, Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("remove %s: %v", f.name, err)
		}
	})
	if err := pool.Client.StartContainer(f.id, nil); err != nil {
		t.Fatalf("start libSQL server: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ci, err := pool.Client.InspectContainer(f.id)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range ci.NetworkSettings.Ports[containerPort] {
			if b.HostIP == "127.0.0.1" && b.HostPort != "" {
				f.url = "http://127.0.0.1:" + b.HostPort
			}
		}
		if f.url != "" {
			if res, err := http.Get(f.url + "/health"); err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return f
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("libSQL server %s did not answer within 30s", f.name)
	return nil
}

// dbURL is the database URL instances on the fixture's network use.
func (f *libsqlFixture) dbURL() string { return "http://" + f.name + ":8080" }

// open opens the fixture's database from the test with the libSQL client.
func (f *libsqlFixture) open(t testing.TB) *sql.DB {
	t.Helper()
	conn, err := libsql.NewConnector(f.url)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

// remoteServer creates (without starting) a vibesyncd container whose
// database is the fixture; it has its own volume for media.
func remoteServer(t testing.TB, net *dc.Network, f *libsqlFixture, env ...string) *server {
	t.Helper()
	return createServer(t, serverOptions{volume: newVolume(t), network: net,
		env: append([]string{"VIBESYNC_DATABASE_URL=" + f.dbURL()}, env...)})
}

// TestRemoteFlows runs the foundation, connections and chats flows with
// the database on a libSQL server over the wire, each against its own.
func TestRemoteFlows(t *testing.T) {
	needDocker(t)
	net := newNetwork(t)
	for _, fl := range []struct {
		name string
		env  []string
		run  func(*testing.T, *server)
	}{
		{"foundation", nil, foundationFlow},
		{"connections", nil, connectionsFlow},
		{"chats", []string{"VIBESYNC_PUBLIC_URL=" + publicURL}, chatsFlow},
	} {
		t.Run(fl.name, func(t *testing.T) {
			t.Parallel()
			f := startLibsql(t, net)
			srv := remoteServer(t, net, f, fl.env...)
			srv.start(t)
			fl.run(t, srv)
		})
	}
}

// TestRemoteDatabase runs three instances against one libSQL server over
// the wire, all started at the same moment on an empty database: the
// two-instance checks of TestSharedDatabase (migrations, secrets, writes
// and reads across instances, racing requests, live WebSocket events
// across instances, a restart), then a Subscribe stream hearing another
// instance's write, an offline client converging through two instances,
// and one instance killed with SIGKILL in the middle of writes while the
// others keep serving with nothing acknowledged lost.
func TestRemoteDatabase(t *testing.T) {
	needDocker(t)
	net := newNetwork(t)
	// A short stream TTL: a stream left holding the write lock by a killed
	// instance is rolled back within seconds, as a real server does.
	f := startLibsql(t, net, "-stream-ttl", "3s", "-busy-timeout", "8s")
	a := remoteServer(t, net, f)
	b := remoteServer(t, net, f)
	c := remoteServer(t, net, f)
	cStarted := make(chan error, 1)
	go func() { cStarted <- pool.Client.StartContainer(c.id, nil) }()
	sharedDatabase(t, a, b)
	if err := <-cStarted; err != nil {
		t.Fatalf("start %s: %v", c.name, err)
	}
	c.waitReady(t)
	db := f.open(t)

	t.Run("migrations_once_under_the_schema_lock", func(t *testing.T) {
		var dup, locks int
		if err := db.QueryRow(`SELECT count(*) FROM (SELECT version_id FROM goose_db_version
			WHERE version_id > 0 GROUP BY version_id HAVING count(*) > 1)`).Scan(&dup); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM schema_lock`).Scan(&locks); err != nil {
			t.Fatal(err)
		}
		if dup != 0 || locks != 0 {
			t.Fatalf("%d migrations recorded twice, %d schema locks left behind; want 0 and 0", dup, locks)
		}
		var status struct{ Status string }
		c.do(t, "GET", "/readyz", "", nil).Want(http.StatusOK).Decode(&status)
	})

	t.Run("subscribe_hears_another_instance", func(t *testing.T) {
		dora := c.register(t, "Dora Remote", "dora.remote")
		eve := a.register(t, "Eve Remote", "eve.remote")
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		rpc := syncv1connect.NewSyncServiceClient(http.DefaultClient, c.URL())
		req := connect.NewRequest(&syncv1.SubscribeRequest{ProtocolVersion: client.ProtocolVersion})
		req.Header().Set("Authorization", "Bearer "+dora.Token)
		stream, err := rpc.Subscribe(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		if !stream.Receive() {
			t.Fatalf("no first Subscribe message: %v", stream.Err())
		}
		first := stream.Msg().Position
		// Eve asks Dora to connect through A; Dora's stream is on C.
		a.do(t, "POST", "/v1/connections/"+eve.ID+"/request", eve.Token,
			map[string]string{"receiver_id": dora.ID, "message": "over the wire"}).Want(http.StatusCreated)
		for stream.Receive() {
			if stream.Msg().Position > first {
				return
			}
		}
		t.Fatalf("Subscribe on C never moved past %d after a write through A: %v", first, stream.Err())
	})

	t.Run("offline_client_converges", func(t *testing.T) {
		ctx := t.Context()
		fdA := newFrontDoor(t, a)
		fdB := newFrontDoor(t, b)
		fay := openClient(t, fdA.URL)
		gus := openClient(t, fdB.URL)
		fayUser, err := fay.Register(ctx, "Fay Remote", "fay.remote", "fay remote password")
		if err != nil {
			t.Fatal(err)
		}
		gusUser, err := gus.Register(ctx, "Gus Remote", "gus.remote", "gus remote password")
		if err != nil {
			t.Fatal(err)
		}
		converge(t, fay, gus)
		fdA.close(t) // Fay's device loses the network
		bio := "written offline, delivered through A"
		if _, err := fay.UpdateProfile(ctx, client.ProfileUpdate{Bio: &bio}); err != nil {
			t.Fatal(err)
		}
		if _, err := fay.Connect(ctx, gusUser.ID, "queued while offline"); err != nil {
			t.Fatal(err)
		}
		if _, err := fay.Sync(ctx); err == nil {
			t.Fatal("Sync succeeded with no network")
		}
		name := "Gus Online"
		if _, err := gus.UpdateProfile(ctx, client.ProfileUpdate{Name: &name}); err != nil {
			t.Fatal(err)
		}
		converge(t, gus)
		fdA.reopen(t)
		converge(t, fay, gus)
		if cs, err := gus.Connections(ctx, "pending"); err != nil || len(cs) != 1 || cs[0].From.ID != fayUser.ID {
			t.Fatalf("Gus's replica after Fay came back: %+v %v", cs, err)
		}
		tok := c.loginToken(t, account{ID: fayUser.ID, Username: "fay.remote", Password: "fay remote password"})
		if me := c.me(t, tok); me.Bio != bio {
			t.Fatalf("C reads Fay's bio %q, want %q", me.Bio, bio)
		}
	})

	t.Run("kill9_mid_write_others_serve", func(t *testing.T) {
		killRemoteInstance(t, db, a, []*server{b, c})
	})
}

// killRemoteInstance runs writers through victim and survivors, kills
// victim with SIGKILL while its writes are in flight, keeps writing through
// the survivors, and checks that every acknowledged write is in the
// database and readable through a survivor.
func killRemoteInstance(t *testing.T, db *sql.DB, victim *server, survivors []*server) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	acked := map[string]bool{}
	var afterKill atomic.Int64
	var killed atomic.Bool
	var wg sync.WaitGroup
	write := func(s *server, w int) {
		defer wg.Done()
		for k := 0; ctx.Err() == nil; k++ {
			u := fmt.Sprintf("k9.%s.%d.%d", s.name[len(s.name)-2:], w, k)
			rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
			status, body, err := s.call(rctx, "POST", "/auth/register", "",
				map[string]string{"name": "Kill " + u, "username": u, "password": "kill nine password"})
			rcancel()
			switch {
			case err == nil && status == http.StatusCreated:
				mu.Lock()
				acked[u] = true
				mu.Unlock()
				if killed.Load() && s != victim {
					afterKill.Add(1)
				}
			case s == victim:
				return // the victim is gone
			case err == nil && status == http.StatusServiceUnavailable:
				// The database was busy: a client retries.
			case ctx.Err() != nil:
				return
			default:
				t.Errorf("write through survivor %s: %d %s %v", s.name, status, body, err)
				return
			}
		}
	}
	for w := range 3 {
		wg.Add(1)
		go write(victim, w)
		for _, s := range survivors {
			wg.Add(1)
			go write(s, w)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	victim.kill(t)
	killed.Store(true)
	deadline := time.Now().Add(20 * time.Second)
	for afterKill.Load() < 20 && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if n := afterKill.Load(); n < 20 {
		t.Fatalf("survivors acknowledged %d writes in the 20s after the kill, want at least 20", n)
	}
	var names []string
	rows, err := db.Query(`SELECT username FROM users WHERE username LIKE 'k9.%'`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		stored[u] = true
	}
	rows.Close()
	for u := range acked {
		if !stored[u] {
			names = append(names, u)
		}
	}
	if len(names) > 0 {
		t.Fatalf("%d acknowledged registrations lost: %v", len(names), names)
	}
	t.Logf("%d registrations acknowledged (%d by survivors after the kill), all stored; %d stored in all",
		len(acked), afterKill.Load(), len(stored))
	// A survivor reads what the dead instance acknowledged.
	for u := range acked {
		if strings.Contains(u, victim.name[len(victim.name)-2:]) {
			var list struct{ Count int }
			tok := survivors[0].register(t, "Reader", "k9reader."+victim.name[len(victim.name)-2:]).Token
			survivors[0].do(t, "GET", "/users?search="+u+"&limit=1", tok, nil).Want(http.StatusOK).Decode(&list)
			if list.Count != 1 {
				t.Fatalf("%s does not find %s, acknowledged by the killed instance", survivors[0].name, u)
			}
			break
		}
	}
}

// fixtureStats reads the libSQL test server's counters per client address.
func (f *libsqlFixture) stats(t testing.TB) map[string]struct{ Pipelines, Statements int64 } {
	t.Helper()
	res, err := http.Get(f.url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]struct{ Pipelines, Statements int64 }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
