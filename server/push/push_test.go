package push_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/push"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/server/store/storetest"
)

var ctx = context.Background()

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustOpen(t *testing.T) (*store.DB, *clock) {
	t.Helper()
	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	return storetest.Open(t, c.Now), c
}

// queue creates a user with the given device tokens and one queued push.
func queue(t *testing.T, db *store.DB, tokens ...string) (userID string, pushID int64) {
	t.Helper()
	userID = oid.New()
	err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, store.User{ID: userID, Name: "U", Username: "u" + userID[16:], PasswordHash: "x", CreatedAt: tx.Now, UpdatedAt: tx.Now}); err != nil {
			return err
		}
		for _, tok := range tokens {
			if err := tx.AddPushDevice(ctx, userID, tok); err != nil {
				return err
			}
		}
		return tx.EnqueuePush(ctx, store.Push{UserID: userID, Event: "chat-joined", Title: "T", Body: "B", Data: `{"chat":"c1"}`})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Read(ctx, func(tx *store.Tx) error {
		ps, err := tx.PushesOf(ctx, userID)
		if err == nil {
			pushID = ps[0].ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return userID, pushID
}

func state(t *testing.T, db *store.DB, id int64) store.PushState {
	t.Helper()
	var st store.PushState
	if err := db.Read(ctx, func(tx *store.Tx) (err error) { st, err = tx.PushStateOf(ctx, id); return err }); err != nil {
		t.Fatal(err)
	}
	return st
}

type recorder struct {
	mu   sync.Mutex
	msgs []push.Message
	err  error
}

func (r *recorder) Send(_ context.Context, m push.Message) (push.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return push.Result{}, r.err
}

func TestWorker(t *testing.T) {
	t.Parallel()
	t.Run("delivers_queued_pushes_once", func(t *testing.T) {
		db, _ := mustOpen(t)
		user, id := queue(t, db, "tok1")
		rec := &recorder{}
		w := &push.Worker{DB: db, Sender: rec}
		if n, err := w.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("sent %d, %v", n, err)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatal("sent twice")
		}
		if len(rec.msgs) != 1 || rec.msgs[0].UserID != user || rec.msgs[0].Data["chat"] != "c1" || rec.msgs[0].Tokens[0] != "tok1" {
			t.Fatalf("%+v", rec.msgs)
		}
		if st := state(t, db, id); !st.Sent || st.Attempts != 1 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("failures_are_retried_with_backoff_then_given_up", func(t *testing.T) {
		db, clk := mustOpen(t)
		_, id := queue(t, db)
		rec := &recorder{err: errors.New("service down")}
		w := &push.Worker{DB: db, Sender: rec, MaxAttempts: 3, Backoff: time.Minute}
		w.RunOnce(ctx)
		if st := state(t, db, id); st.Sent || st.Failed || st.Attempts != 1 || st.LastError != "service down" {
			t.Fatalf("after 1: %+v", st)
		}
		w.RunOnce(ctx)
		if len(rec.msgs) != 1 {
			t.Fatal("retried before the backoff")
		}
		clk.Advance(time.Minute)
		w.RunOnce(ctx)
		clk.Advance(2 * time.Minute)
		w.RunOnce(ctx)
		if st := state(t, db, id); !st.Failed || st.Attempts != 3 {
			t.Fatalf("after 3: %+v", st)
		}
		clk.Advance(time.Hour)
		w.RunOnce(ctx)
		if len(rec.msgs) != 3 {
			t.Fatalf("attempts %d", len(rec.msgs))
		}
	})
	t.Run("a_claimed_push_is_leased_from_other_workers", func(t *testing.T) {
		db, clk := mustOpen(t)
		queue(t, db)
		var claimed []store.Push
		db.Write(ctx, func(tx *store.Tx) (err error) { claimed, err = tx.ClaimPushes(ctx, 10, time.Minute); return err })
		if len(claimed) != 1 {
			t.Fatal("nothing claimed")
		}
		rec := &recorder{}
		(&push.Worker{DB: db, Sender: rec}).RunOnce(ctx)
		if len(rec.msgs) != 0 {
			t.Fatal("a leased push was sent by another worker")
		}
		clk.Advance(2 * time.Minute)
		(&push.Worker{DB: db, Sender: rec}).RunOnce(ctx)
		if len(rec.msgs) != 1 {
			t.Fatal("an expired lease was not taken over")
		}
	})
}

// gate is a sender that counts sends in flight and holds each one until
// release is closed (or, with release nil, returns at once), reporting
// every send on sent.
type gate struct {
	mu       sync.Mutex
	inFlight int
	most     int
	arrived  chan int // the number in flight after each arrival
	release  chan struct{}
	sent     chan string
}

func (g *gate) Send(_ context.Context, m push.Message) (push.Result, error) {
	g.mu.Lock()
	g.inFlight++
	g.most = max(g.most, g.inFlight)
	n := g.inFlight
	g.mu.Unlock()
	if g.arrived != nil {
		g.arrived <- n
	}
	if g.release != nil {
		<-g.release
	}
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
	if g.sent != nil {
		g.sent <- m.UserID
	}
	return push.Result{}, nil
}

// within fails the test when ch yields nothing for a minute: the worker
// is stuck (a bound on a hang, not a speed figure).
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatal("the worker made no progress for a minute")
		panic("unreachable")
	}
}

func TestWorkerRun(t *testing.T) {
	t.Parallel()
	t.Run("drains_batch_after_batch_without_waiting_an_interval", func(t *testing.T) {
		t.Parallel()
		db, _ := mustOpen(t)
		const queued = 7
		for range queued {
			queue(t, db)
		}
		g := &gate{sent: make(chan string, queued)}
		// An interval of an hour: a worker that waited between batches
		// would deliver the first 2 and then nothing within the test.
		w := &push.Worker{DB: db, Sender: g, Batch: 2, Interval: time.Hour}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { w.Run(rctx); close(done) }()
		defer func() { cancel(); <-done }()
		users := map[string]bool{}
		for range queued {
			users[within(t, g.sent)] = true
		}
		if len(users) != queued {
			t.Fatalf("%d users reached, want %d", len(users), queued)
		}
	})
	t.Run("sends_up_to_concurrency_at_once_never_more", func(t *testing.T) {
		t.Parallel()
		db, _ := mustOpen(t)
		const concurrency, queued = 3, 8
		for range queued {
			queue(t, db)
		}
		g := &gate{arrived: make(chan int, queued), release: make(chan struct{})}
		w := &push.Worker{DB: db, Sender: g, Concurrency: concurrency}
		res := make(chan error, 1)
		go func() {
			n, err := w.RunOnce(ctx)
			if err == nil && n != queued {
				err = fmt.Errorf("sent %d of %d", n, queued)
			}
			res <- err
		}()
		// A worker sending one at a time would hold the first send and
		// never reach the third.
		for range concurrency {
			within(t, g.arrived)
		}
		close(g.release)
		if err := within(t, res); err != nil {
			t.Fatal(err)
		}
		if g.most != concurrency {
			t.Fatalf("at most %d sends in flight, want %d", g.most, concurrency)
		}
	})
}

// fakeFCM is a local stand-in for Google's token endpoint and the FCM API.
type fakeFCM struct {
	t      *testing.T
	key    *rsa.PrivateKey
	srv    *httptest.Server
	mu     sync.Mutex
	tokens int // access tokens handed out: at-1, at-2, …
	expiry int // expires_in of the tokens handed out (default 3600)
	valid  map[string]bool
	sent   []map[string]any
	auth   []string       // Authorization header of each FCM call
	status map[string]int // device token → answer status
}

// fakeKey is the service account's key of every fake: generating a
// 2048-bit RSA key costs some 50 ms of CPU, and no test needs one of its
// own.
var fakeKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func newFakeFCM(t *testing.T) *fakeFCM {
	key, err := fakeKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeFCM{t: t, key: key, status: map[string]int{}, valid: map[string]bool{}, expiry: 3600}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			http.Error(w, "bad grant", 400)
			return
		}
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(r.Form.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}))
		if err != nil || claims["iss"] != "svc@proj.iam" || claims["scope"] != push.FCMScope || claims["aud"] != f.srv.URL+"/token" {
			http.Error(w, "bad assertion", 401)
			return
		}
		f.mu.Lock()
		f.tokens++
		tok, expiry := fmt.Sprintf("at-%d", f.tokens), f.expiry
		f.valid[tok] = true
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": expiry, "token_type": "Bearer"})
	})
	mux.HandleFunc("POST /v1/projects/proj/messages:send", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		ok := f.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":{"status":"UNAUTHENTICATED"}}`, 401)
			return
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		msg, _ := body["message"].(map[string]any)
		device, _ := msg["token"].(string)
		f.mu.Lock()
		st := f.status[device]
		f.sent = append(f.sent, msg)
		f.mu.Unlock()
		if st == 0 {
			st = 200
		}
		w.WriteHeader(st)
		if st == 404 {
			w.Write([]byte(`{"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}`))
			return
		}
		w.Write([]byte(`{"name":"projects/proj/messages/1"}`))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// serviceAccountFile writes a key file for the fake and returns its path.
func (f *fakeFCM) serviceAccountFile(t *testing.T) string {
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(f.key)})
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "proj", "client_email": "svc@proj.iam",
		"private_key": string(pemKey), "token_uri": f.srv.URL + "/token"})
	p := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFCM(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (*fakeFCM, *push.FCM) {
		fake := newFakeFCM(t)
		s, err := push.NewFCM(ctx, push.FCMConfig{ServiceAccountFile: fake.serviceAccountFile(t), Endpoint: fake.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		return fake, s
	}
	t.Run("sends_to_every_device_with_an_oauth_token", func(t *testing.T) {
		fake, s := setup(t)
		db, _ := mustOpen(t)
		_, id := queue(t, db, "dev-a", "dev-b")
		queue(t, db, "dev-c")
		if n, err := (&push.Worker{DB: db, Sender: s}).RunOnce(ctx); err != nil || n != 2 {
			t.Fatalf("sent %d, %v", n, err)
		}
		if len(fake.sent) != 3 || fake.tokens != 1 {
			t.Fatalf("sent %d messages with %d token requests", len(fake.sent), fake.tokens)
		}
		n := fake.sent[0]["notification"].(map[string]any)
		d := fake.sent[0]["data"].(map[string]any)
		if n["title"] != "T" || n["body"] != "B" || d["chat"] != "c1" {
			t.Fatalf("message %+v", fake.sent[0])
		}
		if !state(t, db, id).Sent {
			t.Fatal("not marked sent")
		}
		for _, a := range fake.auth {
			if a != "Bearer at-1" {
				t.Fatalf("authorization %q, want the one cached token", a)
			}
		}
	})
	t.Run("expired_tokens_are_fetched_again", func(t *testing.T) {
		fake, s := setup(t)
		fake.expiry = 5 // inside the oauth2 package's early-expiry margin: stale at once
		for i := range 3 {
			if _, err := s.Send(ctx, push.Message{Title: "T", Tokens: []string{fmt.Sprint("dev-", i)}}); err != nil {
				t.Fatal(err)
			}
		}
		if fake.tokens != 3 || fake.auth[2] != "Bearer at-3" {
			t.Fatalf("%d token requests, last authorization %q", fake.tokens, fake.auth[2])
		}
	})
	t.Run("a_refused_token_is_dropped", func(t *testing.T) {
		fake, s := setup(t)
		if _, err := s.Send(ctx, push.Message{Title: "T", Tokens: []string{"dev-a"}}); err != nil {
			t.Fatal(err)
		}
		fake.mu.Lock()
		fake.valid = map[string]bool{} // revoked by Google
		fake.mu.Unlock()
		if _, err := s.Send(ctx, push.Message{Title: "T", Tokens: []string{"dev-a"}}); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("send with a revoked token: %v", err)
		}
		if _, err := s.Send(ctx, push.Message{Title: "T", Tokens: []string{"dev-a"}}); err != nil {
			t.Fatalf("send after the refusal: %v", err)
		}
		if fake.tokens != 2 || fake.auth[2] != "Bearer at-2" {
			t.Fatalf("%d token requests, authorizations %v", fake.tokens, fake.auth)
		}
	})
	t.Run("unregistered_devices_are_forgotten", func(t *testing.T) {
		fake, s := setup(t)
		fake.status["dead"] = 404
		db, _ := mustOpen(t)
		user, id := queue(t, db, "dead", "alive")
		(&push.Worker{DB: db, Sender: s}).RunOnce(ctx)
		var left []string
		db.Read(ctx, func(tx *store.Tx) (err error) { left, err = tx.PushDevices(ctx, user); return err })
		if len(left) != 1 || left[0] != "alive" || !state(t, db, id).Sent {
			t.Fatalf("devices %v, state %+v", left, state(t, db, id))
		}
	})
	t.Run("server_errors_are_retried", func(t *testing.T) {
		fake, s := setup(t)
		fake.status["flaky"] = 503
		db, _ := mustOpen(t)
		_, id := queue(t, db, "flaky")
		(&push.Worker{DB: db, Sender: s}).RunOnce(ctx)
		if st := state(t, db, id); st.Sent || st.Failed || st.Attempts != 1 || !strings.Contains(st.LastError, "503") {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("a_message_fcm_refuses_is_given_up_at_once", func(t *testing.T) {
		fake, s := setup(t)
		fake.status["bad-1"], fake.status["bad-2"] = 400, 400
		fake.status["flaky"] = 503
		db, _ := mustOpen(t)
		_, refused := queue(t, db, "bad-1")
		_, mixed := queue(t, db, "bad-2", "flaky") // one device may yet take it
		(&push.Worker{DB: db, Sender: s, MaxAttempts: 5}).RunOnce(ctx)
		if st := state(t, db, refused); !st.Failed || st.Attempts != 1 || !strings.Contains(st.LastError, "400") {
			t.Fatalf("refused everywhere: %+v", st)
		}
		if st := state(t, db, mixed); st.Failed || st.Sent || st.Attempts != 1 {
			t.Fatalf("refused by one device, failing on another: %+v", st)
		}
	})
	t.Run("token_endpoint_failure_is_retried", func(t *testing.T) {
		fake, s := setup(t)
		fake.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) })
		db, _ := mustOpen(t)
		_, id := queue(t, db, "dev-a")
		(&push.Worker{DB: db, Sender: s}).RunOnce(ctx)
		if st := state(t, db, id); st.Sent || st.Failed || st.Attempts != 1 || !strings.Contains(st.LastError, "access token") {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("service_account_file_is_checked", func(t *testing.T) {
		for name, body := range map[string]string{
			"lacks private_key":      `{"type":"service_account","project_id":"p","client_email":"a@b"}`,
			"private_key":            `{"type":"service_account","project_id":"p","client_email":"a@b","private_key":"nope"}`,
			`want "service_account"`: `{"type":"authorized_user","project_id":"p","client_email":"a@b","private_key":"x"}`,
			"not JSON":               `{`,
		} {
			p := filepath.Join(t.TempDir(), "bad.json")
			os.WriteFile(p, []byte(body), 0o600)
			if _, err := push.NewFCM(ctx, push.FCMConfig{ServiceAccountFile: p}); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: err = %v", body, err)
			}
		}
		if _, err := push.NewFCM(ctx, push.FCMConfig{ServiceAccountFile: filepath.Join(t.TempDir(), "missing.json")}); err == nil {
			t.Error("a missing key file was accepted")
		}
	})
}

// TestFCMApplicationDefaultCredentials finds the key through
// GOOGLE_APPLICATION_CREDENTIALS, as on a machine set up with gcloud or a
// mounted key, and sends with it.
func TestFCMApplicationDefaultCredentials(t *testing.T) {
	fake := newFakeFCM(t)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", fake.serviceAccountFile(t))
	s, err := push.NewFCM(ctx, push.FCMConfig{Endpoint: fake.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if s.Project() != "proj" {
		t.Fatalf("project %q, want the key's", s.Project())
	}
	if _, err := s.Send(ctx, push.Message{Title: "T", Tokens: []string{"dev-a"}}); err != nil {
		t.Fatal(err)
	}
	if fake.tokens != 1 || len(fake.sent) != 1 {
		t.Fatalf("%d tokens, %d sent", fake.tokens, len(fake.sent))
	}
	t.Run("another_project", func(t *testing.T) {
		s, err := push.NewFCM(ctx, push.FCMConfig{Endpoint: fake.srv.URL, ProjectID: "other"})
		if err != nil || s.Project() != "other" {
			t.Fatalf("project %v, %v", s, err)
		}
	})
}
