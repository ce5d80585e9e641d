package stmtcache_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"

	"github.com/vibesync/vibesync/stmtcache"
)

// counting opens real SQLite connections (modernc.org/sqlite) and counts
// the statements prepared on them and closed.
type counting struct {
	dsn              string
	prepared, closed atomic.Int64
}

func (c *counting) Connect(context.Context) (driver.Conn, error) {
	dc, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: dc, c: c}, nil
}

func (c *counting) Driver() driver.Driver { return &sqlite.Driver{} }

type countingConn struct {
	driver.Conn
	c *counting
}

func (cc *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	ds, err := cc.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	cc.c.prepared.Add(1)
	return &countingStmt{Stmt: ds, c: cc.c}, nil
}

func (cc *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return cc.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (cc *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return cc.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (cc *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return cc.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

type countingStmt struct {
	driver.Stmt
	c *counting
}

func (s *countingStmt) Close() error {
	s.c.closed.Add(1)
	return s.Stmt.Close()
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// open is a pool of n connections to a new database file with table t,
// each caching up to max statements.
func open(t *testing.T, n, max int) (*sql.DB, *counting) {
	t.Helper()
	c := &counting{dsn: "file:" + filepath.Join(t.TempDir(), "db.sqlite") + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)"}
	db := sql.OpenDB(stmtcache.Connector(c, max))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	return db, c
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAStatementIsPreparedOncePerConnection(t *testing.T) {
	t.Parallel()
	db, c := open(t, 1, 16)
	for i := range 50 {
		if _, err := db.Exec(`INSERT INTO t (v) VALUES (?)`, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRow(`SELECT v FROM t WHERE id = ?`, i+1).Scan(&v); err != nil || v != fmt.Sprint(i) {
			t.Fatalf("row %d: %q, %v", i+1, v, err)
		}
	}
	// In transactions too, which hold the pool's only connection.
	for i := range 50 {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO t (v) VALUES (?)`, fmt.Sprint(50+i)); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// CREATE TABLE, INSERT, SELECT v, SELECT COUNT(*): four statements.
	if n := count(t, db); n != 100 {
		t.Fatalf("%d rows, want 100", n)
	}
	if got := c.prepared.Load(); got != 4 {
		t.Fatalf("%d statements prepared for 4 distinct ones", got)
	}
}

// A query run inside the loop over its own rows gets rows of its own.
func TestTheSameQueryNestedInItsOwnRows(t *testing.T) {
	t.Parallel()
	db, _ := open(t, 1, 16)
	for i := range 5 {
		if _, err := db.Exec(`INSERT INTO t (v) VALUES (?)`, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := db.Conn(t.Context()) // one connection for both
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const q = `SELECT id FROM t WHERE id >= ? ORDER BY id`
	outer, err := conn.QueryContext(t.Context(), q, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Close() // before the connection's Close, which waits for open rows
	pairs := 0
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		inner, err := conn.QueryContext(t.Context(), q, id)
		if err != nil {
			t.Fatal(err) // with the outer rows' statement reused: "API misuse"
		}
		for inner.Next() {
			pairs++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(outer.Err(), outer.Close()); err != nil {
		t.Fatal(err)
	}
	if pairs != 5+4+3+2+1 {
		t.Fatalf("%d pairs, want 15", pairs)
	}
	// And once the rows are closed the cached statement serves again.
	var n int
	if err := conn.QueryRowContext(t.Context(), q, 5).Scan(&n); err != nil || n != 5 {
		t.Fatalf("after the nesting: %d, %v", n, err)
	}
}

// A statement that failed (a constraint) or was abandoned (rows closed
// early, a rolled-back transaction) runs again normally.
func TestAStatementRunsAgainAfterAnErrorOrAnEarlyClose(t *testing.T) {
	t.Parallel()
	db, _ := open(t, 1, 16)
	const ins = `INSERT INTO t (v) VALUES (?)`
	if _, err := db.Exec(ins, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ins, "a"); err == nil {
		t.Fatal("a duplicate was inserted")
	}
	if _, err := db.Exec(ins, "b"); err != nil {
		t.Fatalf("after the failure: %v", err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ins, "c"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT v FROM t ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	rows.Next() // one of two rows read, then closed
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, err = db.Query(`SELECT v FROM t ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a b]" {
		t.Fatalf("rows %v, want [a b]", got)
	}
}

// A script runs whole every time and is not kept; past the bound,
// statements run unprepared; closing the pool closes every kept one.
func TestScriptsAndTheBound(t *testing.T) {
	t.Parallel()
	db, c := open(t, 1, 4) // CREATE, the script (remembered as not kept), DELETE, COUNT
	script := `INSERT INTO t (v) VALUES ('x1'); INSERT INTO t (v) VALUES ('x2');`
	if _, err := db.Exec(script); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM t`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(script); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db); n != 2 {
		t.Fatalf("%d rows after the script, want 2", n)
	}
	for i := range 5 { // past the bound: each its own, none kept
		if _, err := db.Exec(fmt.Sprintf(`INSERT INTO t (v) VALUES ('y%d')`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db); n != 7 {
		t.Fatalf("%d rows, want 7", n)
	}
	if got := c.prepared.Load(); got != 3 {
		t.Fatalf("%d statements prepared, want 3 (CREATE, DELETE, COUNT)", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if p, cl := c.prepared.Load(), c.closed.Load(); cl != p {
		t.Fatalf("%d statements prepared, %d closed", p, cl)
	}
}

// Many goroutines over a pool of connections, with -race: each
// connection's statements are its own.
func TestAPoolOfConnectionsAtOnce(t *testing.T) {
	t.Parallel()
	db, _ := open(t, 4, 16)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				if _, err := db.Exec(`INSERT INTO t (v) VALUES (?)`, fmt.Sprintf("%d-%d", g, i)); err != nil {
					errs <- err
					return
				}
				var n int
				if err := db.QueryRow(`SELECT COUNT(*) FROM t WHERE v >= ?`, fmt.Sprint(g)).Scan(&n); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := count(t, db); n != 320 {
		t.Fatalf("%d rows, want 320", n)
	}
}
