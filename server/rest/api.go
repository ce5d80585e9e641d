// Package rest serves the documented HTTP API (spec/) and the v1 API:
// decode, call server/social, encode. routes.go holds the whole route
// table; one file per resource holds its handlers.
package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/social"
)

// Config wires the API.
type Config struct {
	Social *social.Service
	Tokens *auth.Tokens
	Log    *slog.Logger
	// Ready reports whether the instance can serve (database reachable,
	// migrations applied); /readyz answers 503 while it returns an error.
	Ready func(context.Context) error
	// Media holds the uploaded files served at /media/ (none when nil).
	Media MediaFiles
	// Live serves GET /ws; when nil the route is not mounted.
	Live Live
	// Limits are the request budgets (nil: nothing is limited).
	Limits *ratelimit.Set
	// Timeouts bound how long a request body may take to arrive and an
	// answer to be written (zero: unbounded).
	Timeouts Timeouts
	// Streaming are paths of long-lived streams (GET /ws, the Connect
	// Subscribe stream) that Timeouts do not apply to.
	Streaming []string
}

// Timeouts bound the time a request may hold its connection, per route.
// They are set on the connection when the handler starts, after the
// headers arrived (the server's ReadHeaderTimeout covers those).
type Timeouts struct {
	// Body is how long a request body may take to arrive; a slower one
	// is cut with 408 body_timeout and its connection closed.
	Body time.Duration
	// Upload replaces Body on upload routes (multipart photos).
	Upload time.Duration
	// Write is how long writing the answer may take, counted after the
	// body's bound.
	Write time.Duration
}

// API is the REST handler set.
type API struct {
	svc    *social.Service
	tokens *auth.Tokens
	log    *slog.Logger
	ready  func(context.Context) error
	media  MediaFiles
	live   Live
	limits *ratelimit.Set
	times  Timeouts
	stream map[string]bool
	// uploads are the route patterns that take uploads (Timeouts.Upload).
	uploads map[string]bool
	routes  []string // mounted by Register
}

// New returns the API. Mount it with Register.
func New(cfg Config) *API {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ready := cfg.Ready
	if ready == nil {
		ready = func(context.Context) error { return nil }
	}
	stream := map[string]bool{}
	for _, p := range cfg.Streaming {
		stream[p] = true
	}
	return &API{svc: cfg.Social, tokens: cfg.Tokens, log: log, ready: ready, media: cfg.Media, live: cfg.Live,
		limits: cfg.Limits, times: cfg.Timeouts, stream: stream, uploads: map[string]bool{}}
}

// handlerFunc is an HTTP handler that returns its error for one place to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// public adapts a handler that needs no token.
func (a *API) public(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// authed adapts a 🔒 handler: 401 unless the request carries a valid,
// unrevoked access token; 400 for a malformed SocketHeader; 429 when the
// caller spent their write budget (any method but GET and HEAD).
func (a *API) authed(fn handlerFunc) http.Handler {
	return auth.Middleware(a.tokens, a.svc.CheckSession, a.writeError)(a.public(checkSocket(a.limitWrites(fn))))
}

// limitWrites takes one token of the caller's write budget before a write.
func (a *API) limitWrites(fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && a.limits != nil {
			if err := a.limits.Writes(caller(r).UserID, 1); err != nil {
				return err
			}
		}
		return fn(w, r)
	}
}

// clientAddr is the address r's per-address budgets are kept for.
func (a *API) clientAddr(r *http.Request) string {
	if a.limits == nil {
		return ratelimit.ClientAddr(r, nil)
	}
	return ratelimit.ClientAddr(r, a.limits.Config().TrustedProxies)
}

// limitAddr takes a token of the per-address budget of route before fn.
func (a *API) limitAddr(route string, fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if a.limits != nil {
			if err := a.limits.Auth(route, a.clientAddr(r)); err != nil {
				return err
			}
		}
		return fn(w, r)
	}
}

// upload marks pattern as an upload route (Timeouts.Upload) and returns h.
func (a *API) upload(pattern string, h http.Handler) (string, http.Handler) {
	a.uploads[pattern] = true
	return pattern, h
}

// setDeadlines bounds r's body and answer on the connection, per route;
// streams are exempt. Errors mean the connection cannot take deadlines
// (a test recorder), and then there is nothing to bound.
func (a *API) setDeadlines(w http.ResponseWriter, r *http.Request, pattern string) {
	if a.stream[r.URL.Path] {
		return
	}
	read := a.times.Body
	if a.uploads[pattern] {
		read = a.times.Upload
	}
	rc := http.NewResponseController(w)
	now := time.Now()
	if read > 0 {
		_ = rc.SetReadDeadline(now.Add(read))
	}
	if a.times.Write > 0 {
		_ = rc.SetWriteDeadline(now.Add(max(read, 0) + a.times.Write))
	}
}

// SocketHeader carries the socket id of the caller's live connection, if
// they have one: live events caused by the request are not sent back to
// that socket (the caller's other devices still get them).
const SocketHeader = "X-Socket-Id"

// checkSocket answers 400 invalid_socket before fn runs when the request
// carries a malformed SocketHeader, so caller(r) can trust it.
func checkSocket(fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := caller(r).Validate(); err != nil {
			return err
		}
		return fn(w, r)
	}
}

// caller is the authenticated user of r (authed routes only), with the
// socket id of SocketHeader.
func caller(r *http.Request) social.Caller {
	c, _ := auth.FromContext(r.Context())
	return social.Caller{UserID: c.UserID, Socket: r.Header.Get(SocketHeader)}
}

// Middleware wraps the whole mux: request ids, access log, panic recovery,
// and JSON answers for unknown routes and wrong methods.
func (a *API) Middleware(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.ErrorContext(r.Context(), "panic", "panic", p, "request_id", id, "stack", string(debug.Stack()))
				if !rec.wrote {
					a.writeError(rec, r, apperr.New(apperr.Internal, "internal", "Something went wrong on our side"))
				}
			}
			a.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
				slog.Duration("took", time.Since(start)), slog.String("request_id", id))
		}()
		_, pattern := mux.Handler(r)
		a.setDeadlines(w, r, pattern)
		if headerBytes(r) > MaxHeaderBytes {
			a.writeError(rec, r, apperr.New(apperr.HeadersTooLarge, "headers_too_large",
				"The request headers must be at most %d bytes", MaxHeaderBytes))
			return
		}
		if pattern == "" {
			a.noRoute(rec, r, mux)
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

// MaxHeaderBytes bounds a request's headers (431 headers_too_large, a JSON
// error). net/http's own bound (http.Server.MaxHeaderBytes, 1 MiB) sits
// above it: headers past that are refused by net/http with a plain-text
// 431 before any handler runs, so this lower bound is where the JSON
// answer comes from.
const MaxHeaderBytes = 64 << 10

// headerBytes is about how many bytes r's request line and headers took.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// noRoute answers JSON 404 or 405 where the mux would answer plain text.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	probe := &statusRecorder{ResponseWriter: discardWriter{h: w.Header()}, status: http.StatusOK}
	h, _ := mux.Handler(r)
	h.ServeHTTP(probe, r)
	w.Header().Del("Content-Type")
	w.Header().Del("X-Content-Type-Options")
	if probe.status == http.StatusMethodNotAllowed { // the Allow header is already set
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: http.StatusText(http.StatusMethodNotAllowed),
			Message: r.Method + " is not allowed on " + r.URL.Path, Code: "method_not_allowed"})
		return
	}
	a.writeError(w, r, apperr.NotFoundf("route_not_found", "No route for %s %s", r.Method, r.URL.Path))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Flush sends buffered data now (server streams of the Connect services).
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		s.wrote = true
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer
// (WebSocket hijacking, flushing streams).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// recordingMux remembers the patterns it mounts.
type recordingMux struct {
	*http.ServeMux
	routes *[]string
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	*m.routes = append(*m.routes, pattern)
	m.ServeMux.Handle(pattern, h)
}

// Routes are the patterns Register mounted, in order: the route table the
// authorization-matrix test walks, so a new route without its rows fails.
func (a *API) Routes() []string { return append([]string(nil), a.routes...) }
