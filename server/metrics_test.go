package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// sample is one scrape: every series as `name{label="value",...}` (labels
// sorted) with its value; histograms as name_count and name_sum.
type sample map[string]float64

func scrapeURL(t *testing.T, url string) sample {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, res.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	out := sample{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := func(n string) string {
				if len(labels) == 0 {
					return n
				}
				return n + "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key(name)] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key(name)] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key(name+"_count")] = float64(m.GetHistogram().GetSampleCount())
				out[key(name+"_sum")] = m.GetHistogram().GetSampleSum()
			case m.Untyped != nil:
				out[key(name)] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func scrape(t *testing.T, env *servertest.Env) sample {
	t.Helper()
	return scrapeURL(t, env.URL+"/metrics")
}

// moved checks that each series moved by exactly the given amount between
// two scrapes.
func moved(t *testing.T, before, after sample, want map[string]float64) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := after[k]; !ok {
			t.Errorf("%s: missing from /metrics", k)
			continue
		}
		if got := after[k] - before[k]; got != want[k] {
			t.Errorf("%s moved by %v, want %v", k, got, want[k])
		}
	}
}

// until scrapes until ok holds, for figures the live tailer updates in
// the background; it fails the test after a generous bound. Not in a
// synctest bubble: outside one the tailer waits on the database file's
// change signal, which never counts as blocked (in a bubble it would have
// to poll instead, and the figures under test would be the poller's).
func until(t *testing.T, env *servertest.Env, what string, ok func(sample) bool) sample {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := scrape(t, env)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last scrape %v", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func syncClient(env *servertest.Env, token string) syncv1connect.SyncServiceClient {
	return syncv1connect.NewSyncServiceClient(http.DefaultClient, env.URL, connect.WithInterceptors(
		connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("Authorization", "Bearer "+token)
				return next(ctx, req)
			}
		})))
}

func bioMutation(id int64, text string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_UpdateProfile{UpdateProfile: &syncv1.UpdateProfile{Bio: &text}}}
}

func usernameMutation(id int64, name string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_UpdateProfile{UpdateProfile: &syncv1.UpdateProfile{Username: &name}}}
}

func TestMetricsAfterScriptedFlow(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	amy, bob := env.Register("Amy"), env.Register("Bob")
	env.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK)
	amySync := syncClient(env, amy.Token)
	before := scrape(t, env)

	// REST: three reads, one miss on a parameterised route, one unknown route.
	for range 3 {
		env.Do("GET", "/users/me", amy.Token, nil).Want(http.StatusOK)
	}
	missing := oid.New()
	env.Do("GET", "/users/"+missing, amy.Token, nil).Want(http.StatusNotFound)
	env.Do("GET", "/no/such/route", amy.Token, nil).Want(http.StatusNotFound)

	// Live: two sockets for Amy, one for Bob.
	amy1, _ := env.Dial(amy.Token), env.Dial(amy.Token, "sync=1")
	env.Dial(bob.Token)

	// Sync: one push applied; a retry (duplicate), a taken username and an
	// invalid one (rejected), one more applied; then a bad request.
	const client = "client-metrics-aaaaaaaa"
	first, err := amySync.Push(ctx, connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 1, ClientId: client,
		Mutations: []*syncv1.Mutation{bioMutation(1, "hello")}}))
	if err != nil {
		t.Fatal(err)
	}
	second, err := amySync.Push(ctx, connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 1, ClientId: client,
		Mutations: []*syncv1.Mutation{bioMutation(1, "hello"), usernameMutation(2, bob.Username), usernameMutation(3, "x"), bioMutation(4, "again")}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Msg.Results) != 1 || len(second.Msg.Results) != 4 {
		t.Fatalf("results %v %v", first.Msg.Results, second.Msg.Results)
	}
	_, err = amySync.Push(ctx, connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 1, ClientId: "short"}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("bad client id: %v", err)
	}
	pull, err := amySync.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if len(pull.Msg.Changes) == 0 || len(pull.Msg.NextPageToken) != 0 {
		t.Fatalf("pull: %d changes, next page %q", len(pull.Msg.Changes), pull.Msg.NextPageToken)
	}

	// A group with Bob queues one push notification for him.
	chat := env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Hikers", "category": "Outdoors", "participants": []string{bob.ID}})
	chat.Want(http.StatusCreated)
	amy1.Expect("chat-created") // Amy's other devices hear of it too
	queued := scrape(t, env)
	if got := queued["vibesync_push_outbox_depth"] - before["vibesync_push_outbox_depth"]; got != 1 {
		t.Errorf("outbox depth moved by %v after one group with one other member, want 1", got)
	}
	if n, err := env.Server.DeliverPushes(ctx); err != nil || n != 1 {
		t.Fatalf("DeliverPushes = %d, %v", n, err)
	}

	// The tailer catches up with the feed head and the sockets' writers
	// send what it handed them (both run in the background): three
	// "connected" frames, the chat-created event to Amy's two sockets and
	// Bob's, and at least one sync position.
	const framesWanted = 3 + 3 + 1
	after := until(t, env, "tail caught up and frames sent", func(s sample) bool {
		return s["vibesync_feed_tail_lag"] == 0 && s["vibesync_feed_head_seq"] > before["vibesync_feed_head_seq"] &&
			s["vibesync_live_frames_sent_total"]-before["vibesync_live_frames_sent_total"] >= framesWanted
	})

	moved(t, before, after, map[string]float64{
		`vibesync_http_requests_total{code="200",method="get",route="GET /users/me"}`:                          3,
		`vibesync_http_request_duration_seconds_count{method="get",route="GET /users/me"}`:                     3,
		`vibesync_http_requests_total{code="404",method="get",route="GET /users/{id}"}`:                        1,
		`vibesync_http_requests_total{code="404",method="get",route="unmatched"}`:                              1,
		`vibesync_http_requests_total{code="201",method="post",route="POST /chats"}`:                           1,
		`vibesync_connect_calls_total{code="ok",procedure="/vibesync.sync.v1.SyncService/Push"}`:               2,
		`vibesync_connect_calls_total{code="invalid_argument",procedure="/vibesync.sync.v1.SyncService/Push"}`: 1,
		`vibesync_connect_calls_total{code="ok",procedure="/vibesync.sync.v1.SyncService/Pull"}`:               1,
		`vibesync_connect_call_duration_seconds_count{procedure="/vibesync.sync.v1.SyncService/Pull"}`:         1,
		`vibesync_sync_mutations_total{outcome="applied",reason=""}`:                                           2,
		`vibesync_sync_mutations_total{outcome="duplicate",reason=""}`:                                         1,
		`vibesync_sync_mutations_total{outcome="rejected",reason="username_taken"}`:                            1,
		`vibesync_sync_mutations_total{outcome="rejected",reason="invalid_username"}`:                          1,
		`vibesync_sync_pull_rows_total`:                   float64(len(pull.Msg.Changes)),
		`vibesync_sync_pull_bytes_total`:                  float64(proto.Size(pull.Msg)),
		`vibesync_live_sockets`:                           3,
		`vibesync_live_users_online`:                      2,
		`vibesync_push_deliveries_total{outcome="sent"}`:  1,
		`vibesync_push_deliveries_total{outcome="retry"}`: 0,
		`vibesync_push_outbox_depth`:                      0,
		`vibesync_live_slow_sockets_closed_total`:         0,
	})
	if got := after["vibesync_live_frames_sent_total"] - before["vibesync_live_frames_sent_total"]; got < framesWanted {
		t.Errorf("frames sent moved by %v, want at least 7", got)
	}
	// Every write went through the writer once: the batch sizes add up to
	// the waits observed, and the flow wrote at least five times.
	batches := after["vibesync_db_write_batch_size_sum"] - before["vibesync_db_write_batch_size_sum"]
	waits := after["vibesync_db_writer_wait_seconds_count"] - before["vibesync_db_writer_wait_seconds_count"]
	if batches != waits || batches < 5 {
		t.Errorf("write batches hold %v writes, %v waits observed; want equal and at least 5", batches, waits)
	}
	if after["vibesync_feed_tail_seq"] != after["vibesync_feed_head_seq"] {
		t.Errorf("tail %v, head %v", after["vibesync_feed_tail_seq"], after["vibesync_feed_head_seq"])
	}
	for _, name := range []string{
		`go_goroutines`, `process_resident_memory_bytes`,
		`go_sql_open_connections{db_name="writer"}`, `go_sql_open_connections{db_name="reader"}`,
	} {
		if _, ok := after[name]; !ok {
			t.Errorf("%s missing from /metrics", name)
		}
	}
	// Bounded labels: no id of a user or a thing ever becomes a label.
	for k := range after {
		for _, id := range []string{amy.ID, bob.ID, missing} {
			if strings.Contains(k, id) {
				t.Errorf("series %s carries an id", k)
			}
		}
	}
}

func TestMetricsSlowSocketClosed(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config) { c.Live.SendQueue = 4 })
	amy := env.Register("Amy")
	before := scrape(t, env)
	slow := env.Dial(amy.Token) // never reads
	big, _ := json.Marshal(map[string]string{"blob": strings.Repeat("x", 64<<10)})
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("the hub never closed a socket that does not read")
		}
		err := env.Server.DB().Write(context.Background(), func(tx *store.Tx) error {
			for range 8 {
				if _, err := tx.AppendEvent(context.Background(), "user:"+amy.ID, "big", big, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if s := scrape(t, env); s["vibesync_live_slow_sockets_closed_total"] > before["vibesync_live_slow_sockets_closed_total"] {
			moved(t, before, s, map[string]float64{`vibesync_live_slow_sockets_closed_total`: 1})
			if code := slow.CloseCode(); code != 1013 {
				t.Errorf("close code %d, want 1013", code)
			}
			return
		}
	}
}

func TestMetricsOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The metrics port is probed free, closed, then taken by the server:
	// on LoopbackHost no other test binary's server can be given it in
	// between (and answer for /metrics).
	probe, err := net.Listen("tcp", servertest.LoopbackHost()+":0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := probe.Addr().String()
	probe.Close()
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, Password: servertest.FastPasswords, MetricsListen: metricsAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	main := "http://" + ln.Addr().String()
	var res *http.Response
	// Serve opens the metrics listener after the main one, on a real port
	// (what this test is about), so the wait is in real time.
	for i := 0; ; i++ {
		if res, err = http.Get("http://" + metricsAddr + "/metrics"); err == nil {
			break
		}
		if i == 500 {
			t.Fatalf("metrics listener: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.Body.Close()
	res, err = http.Get(main + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	s := scrapeURL(t, "http://"+metricsAddr+"/metrics")
	if s[`vibesync_http_requests_total{code="200",method="get",route="GET /healthz"}`] != 1 {
		t.Errorf("healthz not counted: %v", s)
	}
	res, err = http.Get(main + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the main listener: %d, want 404 when metrics have their own address", res.StatusCode)
	}
}
