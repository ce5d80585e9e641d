// Package servertest starts a real vibesync server (real SQLite file in a
// temp dir, the real handler behind httptest) for tests, and calls it the
// way an HTTP client would.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/store/storetest"
)

// noLimits: tests register many users from one address; the tests of
// the budgets set their own (WithRateLimits).
var noLimits = ratelimit.Off()

// WithRateLimits runs the server with the given budgets.
func WithRateLimits(c ratelimit.Config) Option {
	return func(cfg *server.Config) { cfg.RateLimits = &c }
}

// FastPasswords keeps argon2id real but cheap, so tests can register many
// users: 8 KiB (argon2's least for one lane), one pass: about 30 µs a hash
// here, against 80 µs at 64 KiB (2 % of the suite's CPU) and ten times
// that at 1 MiB. The production parameters are
// auth.DefaultPasswordParams; tests of the hashing cost set their own.
var FastPasswords = auth.PasswordParams{Memory: 8, Time: 1, Threads: 1}

// Clock is a settable clock shared by the server under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Env is one running server.
type Env struct {
	T      testing.TB
	Server *server.Server
	HTTP   *httptest.Server
	URL    string
	Clock  *Clock
	Dir    string
	n      *atomic.Int64 // shared with the views of For
	// client is the test client of this view (Do): exchanges are checked
	// against the OpenAPI document and breaches reported to T. base is
	// the unchecked transport under it, shared by the views.
	client *http.Client
	base   http.RoundTripper
	// dial connects to the server when it is not on a socket (NewInBubble).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Option adjusts the server config before start.
type Option func(*server.Config)

// New starts a server on a fresh database in t.TempDir() and stops it when
// the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	dir := t.TempDir()
	return Start(t, dir, opts...)
}

// Start starts a server whose data lives in dir (reuse dir to test restarts).
func Start(t testing.TB, dir string, opts ...Option) *Env {
	t.Helper()
	return StartOn(t, dir, "", opts...)
}

// StartOn is Start listening on addr ("": any free port of 127.0.0.1), so
// that a stopped server can come back at the same URL.
func StartOn(t testing.TB, dir, addr string, opts ...Option) *Env {
	t.Helper()
	return start(t, dir, addr, false, opts...)
}

// LoopbackHost is the loopback address a test should listen on when it
// needs a port to stay its own between a close and a listen (a server
// that stops and comes back at the same URL, a port probed free and then
// given to the server): 127.0.0.2 where the system routes it (Linux
// routes all of 127.0.0.0/8 to the loopback), else 127.0.0.1. The other
// test binaries running at once listen on 127.0.0.1, and one of them
// could otherwise be given the port in between.
var LoopbackHost = sync.OnceValue(func() string {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return "127.0.0.1"
	}
	ln.Close()
	return "127.0.0.2"
})

// start is StartOn; inBubble serves over in-memory pipes (NewInBubble).
func start(t testing.TB, dir, addr string, inBubble bool, opts ...Option) *Env {
	t.Helper()
	e := launch(t, dir, addr, inBubble, opts...)
	t.Cleanup(e.Stop)
	return e
}

// launch starts the server of start; the caller stops it.
func launch(t testing.TB, dir, addr string, inBubble bool, opts ...Option) *Env {
	t.Helper()
	clock := &Clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	dbPath := filepath.Join(dir, "vibesync.db")
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		// A copy of the migrated template: the server finds nothing to
		// migrate. (A restart in dir keeps its database.)
		storetest.CopyTo(t, dbPath)
	}
	cfg := server.Config{
		DataDir:     dir,
		DatabaseURL: "file:" + filepath.ToSlash(dbPath),
		Password:    FastPasswords,
		RateLimits:  &noLimits,
		Now:         clock.Now,
		PublicURL:   "http://vibesync.test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	var hs *httptest.Server
	var dial func(context.Context, string, string) (net.Conn, error)
	switch {
	case inBubble:
		var l *pipeListener
		hs, l = pipeServer(srv.Handler())
		dial = l.DialContext
	default:
		hs = httptest.NewUnstartedServer(srv.Handler())
	}
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			srv.Close()
			t.Fatalf("listen on %s: %v", addr, err)
		}
		hs.Listener.Close()
		hs.Listener = l
	}
	if !inBubble {
		hs.Start()
	}
	// Every exchange through the test client is checked against the
	// OpenAPI document.
	hc := hs.Client()
	base := hc.Transport
	hc.Transport = mustContract(t).CheckedTransport(base, func(err error) { t.Errorf("%v", err) })
	return &Env{T: t, Server: srv, HTTP: hs, URL: hs.URL, Clock: clock, Dir: dir, n: new(atomic.Int64), dial: dial,
		client: hc, base: base}
}

// For returns e reporting to t: the subtests of one test share the server
// their parent started, each with users of its own, rather than start one
// each (a start and stop costs some 5 ms of CPU and 10 ms of wall time).
// What a subtest writes stays for the next ones: one that needs the
// server to itself (a global list, a count of every row) starts its own.
// The server stops with the test that started it.
func (e *Env) For(t testing.TB) *Env {
	v := *e
	v.T = t
	v.client = &http.Client{Transport: mustContract(t).CheckedTransport(e.base, func(err error) { t.Errorf("%v", err) })}
	return &v
}

func mustContract(t testing.TB) *Contract {
	t.Helper()
	c, err := LoadContract()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return c
}

// The test binary's shared server (Shared).
var shared struct {
	once sync.Once
	env  *Env
	err  error
	dir  string
}

// Shared returns t's view (For) of one server that the tests of a binary
// calling it share, started on first use: for a test whose checks only
// read what its own users did (no list of every user or group, no moving
// the clock, no count of the server's queries, no restart, no HTTP.Client,
// whose checks report to no test), which would otherwise start a server of its
// own for a few requests. Its tests run at once on it, each with users of
// its own. The package's TestMain stops it (Main).
func Shared(t testing.TB) *Env {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "vibesync-shared-"); shared.err != nil {
			return
		}
		shared.env = launch(t, shared.dir, "", false)
		shared.env.HTTP.Client().Transport = shared.env.base // no test to report to: views have their own
	})
	if shared.err != nil {
		t.Fatalf("shared server: %v", shared.err)
	}
	if shared.env == nil { // the first caller's start failed, and said why
		t.Fatal("shared server: did not start")
	}
	return shared.env.For(t)
}

// Main runs a package's tests and then stops the server of Shared: the
// TestMain of a package whose tests call Shared is
//
//	func TestMain(m *testing.M) { servertest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// StopShared stops the server of Shared, if one started, and removes its
// data. Main calls it after the tests.
func StopShared() {
	if shared.env != nil {
		shared.env.HTTP.Close()
		if err := shared.env.Server.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "servertest: close the shared server: %v\n", err)
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

var stopped sync.Map

// Stop shuts the server down (idempotent, whichever view of it For gave).
func (e *Env) Stop() {
	if _, done := stopped.LoadOrStore(e.Server, true); done {
		return
	}
	e.HTTP.Close()
	if err := e.Server.Close(); err != nil {
		e.T.Errorf("close server: %v", err)
	}
}

// User is a registered test user.
type User struct {
	ID           string
	Name         string
	Username     string
	Password     string
	Token        string
	RefreshToken string
}

// Register creates a user with a unique username derived from name.
func (e *Env) Register(name string) User {
	e.T.Helper()
	username := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + fmt.Sprintf(".%d", e.n.Add(1))
	u := User{Name: name, Username: username, Password: "correct horse battery"}
	r := e.Do("POST", "/auth/register", "", map[string]string{"name": name, "username": username, "password": u.Password})
	r.Want(http.StatusCreated)
	var body struct {
		User struct {
			ID string `json:"_id"`
		} `json:"user"`
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	r.Decode(&body)
	u.ID, u.Token, u.RefreshToken = body.User.ID, body.AccessToken, body.RefreshToken
	return u
}

// Response is a finished HTTP exchange.
type Response struct {
	T      testing.TB
	Status int
	Header http.Header
	Body   []byte
	req    string
}

// Do sends a request with an optional bearer token and body: a string or
// []byte is sent as is, anything else as JSON, nil as no body.
func (e *Env) Do(method, path, token string, body any) *Response {
	e.T.Helper()
	req, err := NewRequest(context.Background(), method, e.URL+path, token, body)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return NewResponse(e.T, method+" "+path, res.StatusCode, res.Header, data)
}

// NewRequest builds an API request: a bearer token when token is set, and
// body sent as is when it is a string or []byte, as JSON otherwise, none
// when nil.
func NewRequest(ctx context.Context, method, url, token string, body any) (*http.Request, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// NewResponse wraps a finished exchange (described by req, e.g. "GET
// /users/me") for the Want… and Decode checks.
func NewResponse(t testing.TB, req string, status int, header http.Header, body []byte) *Response {
	return &Response{T: t, Status: status, Header: header, Body: body, req: req}
}

// Want fails the test unless the status is want.
func (r *Response) Want(want int) *Response {
	r.T.Helper()
	if r.Status != want {
		r.T.Fatalf("%s: status %d, want %d; body: %s", r.req, r.Status, want, r.Body)
	}
	return r
}

// WantError fails the test unless the response is a JSON error with the
// given status and machine-readable code.
func (r *Response) WantError(status int, code string) *Response {
	r.T.Helper()
	return r.WantErrorTitled(status, http.StatusText(status), code)
}

// WantErrorTitled is WantError for an API whose "error" titles are its
// own (the v1 API says "Resource not found").
func (r *Response) WantErrorTitled(status int, title, code string) *Response {
	r.T.Helper()
	r.Want(status)
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		r.T.Fatalf("%s: error body is not JSON: %s", r.req, r.Body)
	}
	if e.Error != title || e.Message == "" {
		r.T.Fatalf("%s: error body %s, want error %q and a message", r.req, r.Body, title)
	}
	if code != "" && e.Code != code {
		r.T.Fatalf("%s: error code %q, want %q; body: %s", r.req, e.Code, code, r.Body)
	}
	return r
}

// Decode unmarshals the JSON body into v.
func (r *Response) Decode(v any) *Response {
	r.T.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.T.Fatalf("%s: decode %s: %v", r.req, r.Body, err)
	}
	return r
}

// JSON returns the body as a generic JSON object.
func (r *Response) JSON() map[string]any {
	r.T.Helper()
	var m map[string]any
	r.Decode(&m)
	return m
}
