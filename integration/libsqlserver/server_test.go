package libsqlserver_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tursodatabase/libsql-client-go/libsql"

	"github.com/vibesync/vibesync/integration/libsqlserver"
)

// start serves a fresh database and returns the server and its URL.
func start(t *testing.T, cfg libsqlserver.Config) (*libsqlserver.Server, string) {
	t.Helper()
	cfg.Path = filepath.Join(t.TempDir(), "db.sqlite")
	srv, err := libsqlserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv, hs.URL
}

// open opens url with the libSQL client's database/sql driver, the one
// vibesync uses: everything below is decoded by the client's own types.
func open(t *testing.T, url string, opts ...libsql.Option) *sql.DB {
	t.Helper()
	conn, err := libsql.NewConnector(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestClientRoundTripsValues(t *testing.T) {
	t.Parallel()
	_, url := start(t, libsqlserver.Config{})
	db := open(t, url)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE v (id INTEGER PRIMARY KEY, i INTEGER, f REAL, s TEXT, b BLOB, n TEXT)`); err != nil {
		t.Fatal(err)
	}
	res, err := db.ExecContext(ctx, `INSERT INTO v (i, f, s, b, n) VALUES (?, ?, ?, ?, ?)`,
		int64(-9007199254740993), 2.5, "héllo; 'quoted'", []byte{0, 1, 254, 255}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := res.LastInsertId(); id != 1 {
		t.Fatalf("LastInsertId = %d, want 1", id)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("RowsAffected = %d, want 1", n)
	}
	var i int64
	var f float64
	var s string
	var b []byte
	var n sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT i, f, s, b, n FROM v WHERE id = ?`, 1).Scan(&i, &f, &s, &b, &n); err != nil {
		t.Fatal(err)
	}
	if i != -9007199254740993 || f != 2.5 || s != "héllo; 'quoted'" || !bytes.Equal(b, []byte{0, 1, 254, 255}) || n.Valid {
		t.Fatalf("read back %d %v %q %v %v", i, f, s, b, n)
	}
	res, err = db.ExecContext(ctx, `UPDATE v SET s = 'x' WHERE id IN (1, 2)`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("UPDATE RowsAffected = %d, want 1", n)
	}
	if err := db.QueryRowContext(ctx, `SELECT s FROM v WHERE id = 2`).Scan(&s); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("missing row: %v, want sql.ErrNoRows", err)
	}
}

// A string of several statements is sent by the client as one batch whose
// steps each depend on the previous one, with a ROLLBACK step run when
// the last did not succeed: one round trip, all or nothing.
func TestClientBatchWithConditions(t *testing.T) {
	t.Parallel()
	srv, url := start(t, libsqlserver.Config{})
	db := open(t, url)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := srv.Total().Pipelines
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE; INSERT INTO k (v) VALUES (?); INSERT INTO k (v) VALUES (?); COMMIT`, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if got := srv.Total().Pipelines - before; got != 1 {
		t.Fatalf("a four-statement string took %d round trips, want 1", got)
	}
	// The second insert violates UNIQUE: COMMIT is skipped, ROLLBACK runs.
	_, err = conn.ExecContext(ctx, `BEGIN IMMEDIATE; INSERT INTO k (v) VALUES (?); INSERT INTO k (v) VALUES (?); COMMIT`, "c", "a")
	if err == nil || !strings.Contains(err.Error(), "UNIQUE constraint failed") {
		t.Fatalf("batch with a failing step: %v, want the UNIQUE error", err)
	}
	var count int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM k`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 2 {
		t.Fatalf("%d rows after the failed batch, want 2 (the batch rolled back whole)", count)
	}
	// Rows of every step come back as result sets, in order.
	rows, err := conn.QueryContext(ctx, `SELECT 1; SELECT v FROM k ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sets [][]string
	for {
		var set []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			set = append(set, v)
		}
		sets = append(sets, set)
		if !rows.NextResultSet() {
			break
		}
	}
	if len(sets) != 2 || strings.Join(sets[0], ",") != "1" || strings.Join(sets[1], ",") != "a,b" {
		t.Fatalf("result sets %v, want [[1] [a b]]", sets)
	}
}

// Conditions the client does not send today are checked on the wire.
func TestBatchConditionsOnTheWire(t *testing.T) {
	t.Parallel()
	_, url := start(t, libsqlserver.Config{})
	body := `{"baton":null,"requests":[{"type":"batch","batch":{"steps":[
		{"stmt":{"sql":"SELECT 1"}},
		{"stmt":{"sql":"SELECT nope"}},
		{"condition":{"type":"error","step":1},"stmt":{"sql":"SELECT 'after error'"}},
		{"condition":{"type":"and","conds":[{"type":"ok","step":0},{"type":"ok","step":1}]},"stmt":{"sql":"SELECT 'skipped'"}},
		{"condition":{"type":"or","conds":[{"type":"ok","step":1},{"type":"is_autocommit"}]},"stmt":{"sql":"SELECT 'autocommit'"}}
	]}},{"type":"get_autocommit"},{"type":"close"}]}`
	res, err := http.Post(url+"/v2/pipeline", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Baton   *string `json:"baton"`
		Results []struct {
			Type     string `json:"type"`
			Response struct {
				Type   string `json:"type"`
				Result struct {
					StepResults []*struct {
						Rows [][]struct {
							Type  string `json:"type"`
							Value any    `json:"value"`
						} `json:"rows"`
					} `json:"step_results"`
					StepErrors []*struct{ Message string } `json:"step_errors"`
				} `json:"result"`
				IsAutocommit bool `json:"is_autocommit"`
			} `json:"response"`
		} `json:"results"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Baton != nil {
		t.Fatalf("baton %q after close, want null", *out.Baton)
	}
	if len(out.Results) != 3 {
		t.Fatalf("%d results, want 3", len(out.Results))
	}
	b := out.Results[0].Response.Result
	if b.StepResults[0] == nil || b.StepErrors[1] == nil || b.StepResults[1] != nil {
		t.Fatalf("steps 0/1: %+v %+v", b.StepResults, b.StepErrors)
	}
	if r := b.StepResults[2]; r == nil || r.Rows[0][0].Value != "after error" {
		t.Fatalf("step 2 (error condition) did not run: %+v", b.StepResults[2])
	}
	if b.StepResults[3] != nil || b.StepErrors[3] != nil {
		t.Fatal("step 3 (and with a failed step) ran")
	}
	if b.StepResults[4] == nil {
		t.Fatal("step 4 (or is_autocommit) did not run")
	}
	if r := out.Results[1]; r.Type != "ok" || !r.Response.IsAutocommit {
		t.Fatalf("get_autocommit: %+v", r)
	}
}

// One writer: a stream holding a write transaction makes another stream's
// writer wait for it, and readers meanwhile see the last commit.
func TestStreamHoldingTransactionBlocksWriters(t *testing.T) {
	t.Parallel()
	_, url := start(t, libsqlserver.Config{BusyTimeout: 10 * time.Second})
	db := open(t, url)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE c (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, `INSERT INTO c VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	other := open(t, url)
	done := make(chan error, 1)
	go func() {
		_, err := other.ExecContext(ctx, `INSERT INTO c VALUES (2)`)
		done <- err
	}()
	var seen int
	if err := other.QueryRowContext(ctx, `SELECT count(*) FROM c`).Scan(&seen); err != nil {
		t.Fatal(err)
	}
	if seen != 0 {
		t.Fatalf("a reader sees %d uncommitted rows", seen)
	}
	select {
	case err := <-done:
		t.Fatalf("second writer finished while the first held the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := a.ExecContext(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("second writer after the commit: %v", err)
	}
}

// A writer that waits longer than the busy timeout fails with SQLITE_BUSY,
// which the client reports with SQLite's message.
func TestBusyWriterFails(t *testing.T) {
	t.Parallel()
	_, url := start(t, libsqlserver.Config{BusyTimeout: 100 * time.Millisecond})
	db := open(t, url)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE c (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	_, err = open(t, url).ExecContext(ctx, `INSERT INTO c VALUES (2)`)
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("writer behind a held lock: %v, want database is locked", err)
	}
}

// An idle stream expires: its transaction is rolled back (the lock is
// free again) and its baton is refused; the client then drops the
// connection and database/sql opens a new stream.
func TestBatonsExpire(t *testing.T) {
	t.Parallel()
	srv, url := start(t, libsqlserver.Config{StreamTTL: 200 * time.Millisecond})
	db := open(t, url)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE c (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO c VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, `INSERT INTO c VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.OpenStreams() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := srv.OpenStreams(); n != 0 {
		t.Fatalf("%d streams still open after the TTL", n)
	}
	if _, err := a.ExecContext(ctx, `COMMIT`); err == nil {
		t.Fatal("COMMIT on an expired stream succeeded")
	}
	a.Close()
	// The expired transaction was rolled back and released the lock.
	if _, err := db.ExecContext(ctx, `INSERT INTO c VALUES (8)`); err != nil {
		t.Fatalf("write after the expiry: %v", err)
	}
	var sum int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM c`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != 1+8 {
		t.Fatalf("sum %d, want 9: the batch's row and the last write, not the expired transaction's", sum)
	}
}

func TestBatonIsSingleUse(t *testing.T) {
	t.Parallel()
	_, url := start(t, libsqlserver.Config{})
	post := func(body string) (int, map[string]any) {
		res, err := http.Post(url+"/v2/pipeline", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		return res.StatusCode, out
	}
	status, out := post(`{"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]}`)
	baton, _ := out["baton"].(string)
	if status != 200 || baton == "" {
		t.Fatalf("first request: %d %v", status, out)
	}
	status, out = post(`{"baton":"` + baton + `","requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]}`)
	next, _ := out["baton"].(string)
	if status != 200 || next == "" || next == baton {
		t.Fatalf("second request: %d %v (baton must change)", status, out)
	}
	status, out = post(`{"baton":"` + baton + `","requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]}`)
	if status != 400 || out["code"] != "STREAM_EXPIRED" {
		t.Fatalf("spent baton: %d %v, want 400 STREAM_EXPIRED", status, out)
	}
}

func TestLatencyAndAuth(t *testing.T) {
	t.Parallel()
	_, url := start(t, libsqlserver.Config{Latency: 50 * time.Millisecond, AuthToken: "secret"})
	if _, err := open(t, url).ExecContext(t.Context(), `SELECT 1`); err == nil {
		t.Fatal("no token: accepted")
	}
	db := open(t, url, libsql.WithAuthToken("secret"))
	began := time.Now()
	if _, err := db.ExecContext(t.Context(), `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 50*time.Millisecond {
		t.Fatalf("round trip took %s, want at least the 50ms latency", d)
	}
}

// Many clients writing through their own streams at once all commit.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	_, url := start(t, libsqlserver.Config{})
	db := open(t, url)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE c (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 10 {
				if _, err := db.ExecContext(ctx, `BEGIN IMMEDIATE; INSERT INTO c VALUES (?); COMMIT`, i*10+k); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(DISTINCT n) FROM c`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 80 {
		t.Fatalf("%d rows, want 80", n)
	}
}
