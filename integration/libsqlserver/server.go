// Package libsqlserver is a libSQL-protocol test server: the server side of
// Hrana over HTTP (version 2, `POST /v2/pipeline`, and the same JSON body
// under version 3, `POST /v3/pipeline`) as published in the libSQL
// repository (docs/HTTP_V2_SPEC.md, docs/HRANA_3_SPEC.md), backed by one
// SQLite database file.
//
// It exists so the integration suite can run several vibesyncd instances
// against a database server over the wire, the way a deployment across
// hosts runs against sqld or Turso. It lives under integration/ and is
// never linked into the server binary.
//
// What it shares with a real server, and what the suite relies on:
//   - every stream is its own SQLite connection, so SQLite's locking is the
//     server's: one writer at a time; a stream holding a write transaction
//     blocks other writers (they wait up to the busy timeout, then fail
//     with SQLITE_BUSY) while readers see the last committed state;
//   - batons are single-use, unpredictable, and expire: a stream idle for
//     longer than StreamTTL is rolled back and closed, and its baton is
//     answered with an HTTP 400 error (the client then drops the stream);
//   - batch steps honour their conditions (ok, error, not, and, or,
//     is_autocommit) and report per-step results and errors;
//   - values use the JSON encodings of the spec (integers as strings,
//     blobs as unpadded base64, floats as numbers), columns carry decltype.
//
// Each pipeline request can be delayed by Latency, standing in for the
// network between an instance and its database, and the server counts
// pipeline requests (round trips) and statements per client address.
package libsqlserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the SQLite the server stores into
)

// Config configures a Server.
type Config struct {
	// Path is the SQLite database file.
	Path string
	// Latency delays every pipeline request before it runs (0: none).
	Latency time.Duration
	// StreamTTL closes a stream idle for longer (default 10s).
	StreamTTL time.Duration
	// BusyTimeout is how long a statement waits for another stream's write
	// lock before failing with SQLITE_BUSY (default 5s).
	BusyTimeout time.Duration
	// AuthToken, when set, is required as `Authorization: Bearer <token>`.
	AuthToken string
	// Trace, when set, is told the SQL of every pipeline request, one
	// string per request (statements separated by " ‖ ").
	Trace func(string)
}

// Server serves Hrana over HTTP. Create it with New; Close it when done.
type Server struct {
	cfg Config
	db  *sql.DB

	mu      sync.Mutex
	streams map[string]*stream // by current baton
	stats   map[string]*Stats  // by client host
	closed  bool

	latency atomic.Int64 // nanoseconds; settable while serving
	stop    chan struct{}
	wg      sync.WaitGroup
}

// Stats counts what one client (by remote host) sent.
type Stats struct {
	// Pipelines is the number of pipeline requests that did more than
	// close a stream: the round trips a client waits for.
	Pipelines int64 `json:"pipelines"`
	// Closes counts pipeline requests that only closed a stream (the
	// client sends them in the background when it recycles a connection).
	Closes int64 `json:"closes"`
	// Statements is the number of statements executed (batch steps
	// included, skipped steps not).
	Statements int64 `json:"statements"`
	// Writes is the number of executed statements that were not read-only
	// queries (INSERT, UPDATE, DELETE, DDL, transaction control).
	Writes int64 `json:"writes"`
}

// stream is one Hrana stream: a dedicated SQLite connection.
type stream struct {
	mu      sync.Mutex
	conn    *sql.Conn
	sqls    map[int32]string // store_sql texts
	used    time.Time
	expired bool
}

// New opens (creating if needed) the database at cfg.Path.
func New(cfg Config) (*Server, error) {
	if cfg.Path == "" {
		return nil, errors.New("libsqlserver: empty database path")
	}
	if cfg.StreamTTL <= 0 {
		cfg.StreamTTL = 10 * time.Second
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	dsn := "file:" + cfg.Path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(" +
		strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10) + ")&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("libsqlserver: open %s: %w", cfg.Path, err)
	}
	db.SetMaxIdleConns(64)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("libsqlserver: open %s: %w", cfg.Path, err)
	}
	s := &Server{cfg: cfg, db: db, streams: map[string]*stream{}, stats: map[string]*Stats{}, stop: make(chan struct{})}
	s.latency.Store(int64(cfg.Latency))
	s.wg.Add(1)
	go s.reap()
	return s, nil
}

// SetLatency changes the delay added to every pipeline request.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Close closes every stream (rolling back what they hold) and the database.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	streams := s.streams
	s.streams = map[string]*stream{}
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	for _, st := range streams {
		st.close()
	}
	return s.db.Close()
}

// Stats returns the counters of every client host seen so far.
func (s *Server) Stats() map[string]Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Stats, len(s.stats))
	for k, v := range s.stats {
		out[k] = *v
	}
	return out
}

// Total sums the counters of every client.
func (s *Server) Total() Stats {
	var t Stats
	for _, v := range s.Stats() {
		t.Pipelines += v.Pipelines
		t.Closes += v.Closes
		t.Statements += v.Statements
		t.Writes += v.Writes
	}
	return t
}

// OpenStreams is the number of streams currently open.
func (s *Server) OpenStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// reap closes streams idle for longer than the TTL.
func (s *Server) reap() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.StreamTTL / 4)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-tick.C:
			var old []*stream
			s.mu.Lock()
			for b, st := range s.streams {
				if now.Sub(st.lastUsed()) > s.cfg.StreamTTL {
					delete(s.streams, b)
					old = append(old, st)
				}
			}
			s.mu.Unlock()
			for _, st := range old {
				st.close()
			}
		}
	}
}

func (st *stream) lastUsed() time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.used
}

// close rolls back whatever transaction the stream holds and releases its
// connection.
func (st *stream) close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.expired {
		return
	}
	st.expired = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = st.conn.ExecContext(ctx, "ROLLBACK") // fails harmlessly when none is open
	_ = st.conn.Close()
}

// Handler serves GET /v2 and /v3 (version checks), POST /v2/pipeline and
// /v3/pipeline, GET /health, and GET /stats (the counters as JSON).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("GET /v2", ok)
	mux.HandleFunc("GET /v3", ok)
	mux.HandleFunc("GET /health", ok)
	mux.HandleFunc("POST /v2/pipeline", s.pipeline)
	mux.HandleFunc("POST /v3/pipeline", s.pipeline)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
	return mux
}

// Wire shapes (HTTP_V2_SPEC.md, HRANA_3_SPEC.md "Shared structures").

type pipelineReq struct {
	Baton    *string         `json:"baton"`
	Requests []streamRequest `json:"requests"`
}

type pipelineResp struct {
	Baton   *string        `json:"baton"`
	BaseURL *string        `json:"base_url"`
	Results []streamResult `json:"results"`
}

type streamRequest struct {
	Type  string  `json:"type"`
	Stmt  *stmt   `json:"stmt"`
	Batch *batch  `json:"batch"`
	SQL   *string `json:"sql"`
	SQLID *int32  `json:"sql_id"`
}

type streamResult struct {
	Type     string `json:"type"` // "ok" or "error"
	Response any    `json:"response,omitempty"`
	Error    *Error `json:"error,omitempty"`
}

// Error is the spec's Error structure.
type Error struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
}

func (e *Error) Error() string { return e.Message }

type stmt struct {
	SQL       *string    `json:"sql"`
	SQLID     *int32     `json:"sql_id"`
	Args      []value    `json:"args"`
	NamedArgs []namedArg `json:"named_args"`
	WantRows  *bool      `json:"want_rows"`
}

type namedArg struct {
	Name  string `json:"name"`
	Value value  `json:"value"`
}

type value struct {
	Type   string          `json:"type"`
	Value  json.RawMessage `json:"value,omitempty"`
	Base64 *string         `json:"base64,omitempty"`
}

type col struct {
	Name     *string `json:"name"`
	Decltype *string `json:"decltype"`
}

type stmtResult struct {
	Cols             []col     `json:"cols"`
	Rows             [][]value `json:"rows"`
	AffectedRowCount int64     `json:"affected_row_count"`
	LastInsertRowid  *string   `json:"last_insert_rowid"`
}

type batch struct {
	Steps []batchStep `json:"steps"`
}

type batchStep struct {
	Condition *batchCond `json:"condition"`
	Stmt      stmt       `json:"stmt"`
}

type batchCond struct {
	Type  string      `json:"type"`
	Step  *uint32     `json:"step"`
	Cond  *batchCond  `json:"cond"`
	Conds []batchCond `json:"conds"`
}

type batchResult struct {
	StepResults []*stmtResult `json:"step_results"`
	StepErrors  []*Error      `json:"step_errors"`
}

type typed struct {
	Type string `json:"type"`
}

type executeResp struct {
	Type   string      `json:"type"`
	Result *stmtResult `json:"result"`
}

type batchResp struct {
	Type   string       `json:"type"`
	Result *batchResult `json:"result"`
}

type autocommitResp struct {
	Type         string `json:"type"`
	IsAutocommit bool   `json:"is_autocommit"`
}

// httpError answers a pipeline request that cannot run at all; the spec
// says the stream is then no longer valid. The body carries the spec's
// Error fields and, like sqld, the message under "error" too.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "message": msg, "code": code})
}

func (s *Server) count(r *http.Request, req *pipelineReq) *Stats {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats[host]
	if st == nil {
		st = &Stats{}
		s.stats[host] = st
	}
	if len(req.Requests) == 1 && req.Requests[0].Type == "close" {
		st.Closes++
	} else {
		st.Pipelines++
	}
	return st
}

func (s *Server) pipeline(w http.ResponseWriter, r *http.Request) {
	if d := time.Duration(s.latency.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if s.cfg.AuthToken != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.AuthToken {
		httpError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Authentication failed: the token is missing or wrong")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		httpError(w, http.StatusBadRequest, "HTTP_BODY_READ", "could not read the request body")
		return
	}
	var req pipelineReq
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "HTTP_PARSE", "invalid pipeline request: "+err.Error())
		return
	}
	stats := s.count(r, &req)
	if s.cfg.Trace != nil {
		s.cfg.Trace(describe(&req))
	}
	st, err := s.streamFor(r.Context(), req.Baton)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			httpError(w, http.StatusBadRequest, e.Code, e.Message)
		} else {
			httpError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		}
		return
	}
	st.mu.Lock()
	resp := pipelineResp{Results: make([]streamResult, 0, len(req.Requests))}
	closed := false
	for _, q := range req.Requests {
		if closed {
			resp.Results = append(resp.Results, streamResult{Type: "error", Error: &Error{Message: "the stream is closed", Code: "STREAM_CLOSED"}})
			continue
		}
		out, err := s.handle(r.Context(), st, q, stats)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{Message: err.Error(), Code: "SQLITE_ERROR"}
			}
			resp.Results = append(resp.Results, streamResult{Type: "error", Error: e})
			continue
		}
		if q.Type == "close" {
			closed = true
		}
		resp.Results = append(resp.Results, streamResult{Type: "ok", Response: out})
	}
	st.used = time.Now()
	st.mu.Unlock()
	if closed {
		st.close()
	} else {
		b := newBaton()
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			st.close()
			httpError(w, http.StatusServiceUnavailable, "SHUTTING_DOWN", "the server is shutting down")
			return
		}
		s.streams[b] = st
		s.mu.Unlock()
		resp.Baton = &b
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// streamFor opens a new stream (nil baton) or takes the one baton names;
// the baton is spent either way.
func (s *Server) streamFor(ctx context.Context, baton *string) (*stream, error) {
	if baton == nil || *baton == "" {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		return &stream{conn: conn, sqls: map[int32]string{}, used: time.Now()}, nil
	}
	s.mu.Lock()
	st, ok := s.streams[*baton]
	delete(s.streams, *baton)
	s.mu.Unlock()
	if !ok {
		return nil, &Error{Message: "The stream has expired due to inactivity, or the baton is not valid", Code: "STREAM_EXPIRED"}
	}
	return st, nil
}

func newBaton() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) handle(ctx context.Context, st *stream, q streamRequest, stats *Stats) (any, error) {
	switch q.Type {
	case "close":
		return typed{Type: "close"}, nil
	case "execute":
		if q.Stmt == nil {
			return nil, &Error{Message: "execute needs a stmt", Code: "PROTO"}
		}
		res, err := s.execute(ctx, st, q.Stmt, stats)
		if err != nil {
			return nil, err
		}
		return executeResp{Type: "execute", Result: res}, nil
	case "batch":
		if q.Batch == nil {
			return nil, &Error{Message: "batch needs a batch", Code: "PROTO"}
		}
		res, err := s.batch(ctx, st, q.Batch, stats)
		if err != nil {
			return nil, err
		}
		return batchResp{Type: "batch", Result: res}, nil
	case "sequence":
		text, err := st.text(q.SQL, q.SQLID)
		if err != nil {
			return nil, err
		}
		stats.Statements++
		stats.Writes++
		if _, err := st.conn.ExecContext(ctx, text); err != nil {
			return nil, sqlError(err)
		}
		return typed{Type: "sequence"}, nil
	case "store_sql":
		if q.SQLID == nil || q.SQL == nil {
			return nil, &Error{Message: "store_sql needs sql_id and sql", Code: "PROTO"}
		}
		st.sqls[*q.SQLID] = *q.SQL
		return typed{Type: "store_sql"}, nil
	case "close_sql":
		if q.SQLID == nil {
			return nil, &Error{Message: "close_sql needs sql_id", Code: "PROTO"}
		}
		delete(st.sqls, *q.SQLID)
		return typed{Type: "close_sql"}, nil
	case "get_autocommit":
		ac, err := autocommit(ctx, st)
		if err != nil {
			return nil, err
		}
		return autocommitResp{Type: "get_autocommit", IsAutocommit: ac}, nil
	case "describe":
		return nil, &Error{Message: "describe is not supported by this test server", Code: "NOT_SUPPORTED"}
	}
	return nil, &Error{Message: fmt.Sprintf("unknown request type %q", q.Type), Code: "PROTO"}
}

func (st *stream) text(sqlText *string, id *int32) (string, error) {
	switch {
	case sqlText != nil && id != nil:
		return "", &Error{Message: "give either sql or sql_id, not both", Code: "PROTO"}
	case sqlText != nil:
		return *sqlText, nil
	case id != nil:
		t, ok := st.sqls[*id]
		if !ok {
			return "", &Error{Message: fmt.Sprintf("no SQL text stored under id %d", *id), Code: "SQL_NOT_FOUND"}
		}
		return t, nil
	}
	return "", &Error{Message: "a statement needs sql or sql_id", Code: "PROTO"}
}

// autocommit reports whether the stream's connection is outside an
// explicit transaction: a SAVEPOINT/RELEASE probe would change state, so
// it asks SQLite through a statement that only works outside one.
func autocommit(ctx context.Context, st *stream) (bool, error) {
	// BEGIN fails inside a transaction; outside it starts one we undo.
	if _, err := st.conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		if strings.Contains(err.Error(), "within a transaction") {
			return false, nil
		}
		return false, sqlError(err)
	}
	if _, err := st.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		return false, sqlError(err)
	}
	return true, nil
}

func (s *Server) batch(ctx context.Context, st *stream, b *batch, stats *Stats) (*batchResult, error) {
	res := &batchResult{StepResults: make([]*stmtResult, len(b.Steps)), StepErrors: make([]*Error, len(b.Steps))}
	for i, step := range b.Steps {
		if step.Condition != nil {
			ok, err := s.eval(ctx, st, step.Condition, res, i)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		r, err := s.execute(ctx, st, &step.Stmt, stats)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{Message: err.Error(), Code: "SQLITE_ERROR"}
			}
			res.StepErrors[i] = e
			continue
		}
		res.StepResults[i] = r
	}
	return res, nil
}

func (s *Server) eval(ctx context.Context, st *stream, c *batchCond, res *batchResult, at int) (bool, error) {
	step := func() (int, error) {
		if c.Step == nil || int(*c.Step) >= at {
			return 0, &Error{Message: "a condition may only refer to an earlier step", Code: "PROTO"}
		}
		return int(*c.Step), nil
	}
	switch c.Type {
	case "ok":
		i, err := step()
		if err != nil {
			return false, err
		}
		return res.StepResults[i] != nil, nil
	case "error":
		i, err := step()
		if err != nil {
			return false, err
		}
		return res.StepErrors[i] != nil, nil
	case "not":
		if c.Cond == nil {
			return false, &Error{Message: "not needs cond", Code: "PROTO"}
		}
		v, err := s.eval(ctx, st, c.Cond, res, at)
		return !v, err
	case "and", "or":
		for i := range c.Conds {
			v, err := s.eval(ctx, st, &c.Conds[i], res, at)
			if err != nil {
				return false, err
			}
			if c.Type == "and" && !v {
				return false, nil
			}
			if c.Type == "or" && v {
				return true, nil
			}
		}
		return c.Type == "and", nil
	case "is_autocommit":
		return autocommit(ctx, st)
	}
	return false, &Error{Message: fmt.Sprintf("unknown condition %q", c.Type), Code: "PROTO"}
}

// execute runs one statement on the stream's connection and reads its
// rows, then the connection's changes() and last_insert_rowid().
func (s *Server) execute(ctx context.Context, st *stream, q *stmt, stats *Stats) (*stmtResult, error) {
	text, err := st.text(q.SQL, q.SQLID)
	if err != nil {
		return nil, err
	}
	args, err := bindArgs(q)
	if err != nil {
		return nil, err
	}
	stats.Statements++
	if !readOnly(text) {
		stats.Writes++
	}
	rows, err := st.conn.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, sqlError(err)
	}
	res := &stmtResult{Cols: []col{}, Rows: [][]value{}}
	types, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		return nil, sqlError(err)
	}
	for _, t := range types {
		name := t.Name()
		c := col{Name: &name}
		if d := t.DatabaseTypeName(); d != "" {
			c.Decltype = &d
		}
		res.Cols = append(res.Cols, c)
	}
	want := q.WantRows == nil || *q.WantRows
	for rows.Next() {
		dest := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, sqlError(err)
		}
		if !want {
			continue
		}
		row := make([]value, len(dest))
		for i, v := range dest {
			row[i] = encodeValue(v)
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, sqlError(err)
	}
	if err := rows.Close(); err != nil {
		return nil, sqlError(err)
	}
	var changes, rowid int64
	if err := st.conn.QueryRowContext(ctx, "SELECT changes(), last_insert_rowid()").Scan(&changes, &rowid); err != nil {
		return nil, sqlError(err)
	}
	if !readOnly(text) {
		res.AffectedRowCount = changes
	}
	if rowid != 0 {
		id := strconv.FormatInt(rowid, 10)
		res.LastInsertRowid = &id
	}
	return res, nil
}

// readOnly reports whether a statement is a query that changes nothing;
// only the statement's first keyword is looked at (good enough for
// counting and for affected_row_count, which the spec leaves undefined
// for other statements).
func readOnly(text string) bool {
	t := strings.TrimLeft(text, " \t\r\n(")
	i := strings.IndexFunc(t, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '(' })
	if i >= 0 {
		t = t[:i]
	}
	switch strings.ToUpper(t) {
	case "SELECT", "VALUES", "EXPLAIN", "WITH":
		return !strings.Contains(strings.ToUpper(text), "RETURNING") && !strings.Contains(strings.ToUpper(text), "INSERT ") &&
			!strings.Contains(strings.ToUpper(text), "UPDATE ") && !strings.Contains(strings.ToUpper(text), "DELETE ")
	}
	return false
}

func bindArgs(q *stmt) ([]any, error) {
	out := make([]any, 0, len(q.Args)+len(q.NamedArgs))
	for _, a := range q.Args {
		v, err := decodeValue(a)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	for _, a := range q.NamedArgs {
		v, err := decodeValue(a.Value)
		if err != nil {
			return nil, err
		}
		name := strings.TrimLeft(a.Name, ":@$")
		out = append(out, sql.Named(name, v))
	}
	return out, nil
}

func decodeValue(v value) (any, error) {
	bad := func(err error) error {
		return &Error{Message: fmt.Sprintf("invalid %s value: %v", v.Type, err), Code: "PROTO"}
	}
	switch v.Type {
	case "null":
		return nil, nil
	case "integer":
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			return nil, bad(err)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, bad(err)
		}
		return n, nil
	case "float":
		var f float64
		if err := json.Unmarshal(v.Value, &f); err != nil {
			return nil, bad(err)
		}
		return f, nil
	case "text":
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			return nil, bad(err)
		}
		return s, nil
	case "blob":
		if v.Base64 == nil {
			return nil, bad(errors.New("missing base64"))
		}
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(*v.Base64, "="))
		if err != nil {
			return nil, bad(err)
		}
		return b, nil
	}
	return nil, &Error{Message: fmt.Sprintf("unknown value type %q", v.Type), Code: "PROTO"}
}

func encodeValue(v any) value {
	raw := func(x any) json.RawMessage {
		b, _ := json.Marshal(x)
		return b
	}
	switch x := v.(type) {
	case nil:
		return value{Type: "null"}
	case int64:
		return value{Type: "integer", Value: raw(strconv.FormatInt(x, 10))}
	case float64:
		return value{Type: "float", Value: raw(x)}
	case string:
		return value{Type: "text", Value: raw(x)}
	case []byte:
		b := base64.RawStdEncoding.EncodeToString(x)
		return value{Type: "blob", Base64: &b}
	case bool:
		if x {
			return value{Type: "integer", Value: raw("1")}
		}
		return value{Type: "integer", Value: raw("0")}
	case time.Time:
		return value{Type: "text", Value: raw(x.Format("2006-01-02 15:04:05.999999999-07:00"))}
	}
	return value{Type: "text", Value: raw(fmt.Sprint(v))}
}

// sqlError turns a SQLite error into the spec's Error, with SQLite's
// message (the client and the application match on its text, as they do
// with sqld) and a SQLITE_* code.
func sqlError(err error) *Error {
	msg := err.Error()
	code := "SQLITE_ERROR"
	switch {
	case strings.Contains(msg, "SQLITE_BUSY"), strings.Contains(msg, "database is locked"):
		code = "SQLITE_BUSY"
	case strings.Contains(msg, "constraint failed"):
		code = "SQLITE_CONSTRAINT"
	}
	return &Error{Message: msg, Code: code}
}

// describe lists the statements of a pipeline request for Config.Trace.
func describe(req *pipelineReq) string {
	var parts []string
	for _, q := range req.Requests {
		switch {
		case q.Stmt != nil && q.Stmt.SQL != nil:
			parts = append(parts, strings.Join(strings.Fields(*q.Stmt.SQL), " "))
		case q.Batch != nil:
			for _, st := range q.Batch.Steps {
				if st.Stmt.SQL != nil {
					parts = append(parts, strings.Join(strings.Fields(*st.Stmt.SQL), " "))
				}
			}
		default:
			parts = append(parts, q.Type)
		}
	}
	for i, p := range parts {
		if len(p) > 60 {
			parts[i] = p[:60] + "…"
		}
	}
	return strings.Join(parts, " ‖ ")
}
