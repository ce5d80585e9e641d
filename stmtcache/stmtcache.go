// Package stmtcache wraps a database/sql driver connector so that each
// connection keeps the statements it runs prepared: SQLite parses and
// plans a statement once per connection instead of on every call (some
// 10 to 50 µs each with modernc.org/sqlite, more for a long query).
//
// The cache sits below database/sql, in the driver connection, because
// database/sql's own prepared statements cannot give this: a *sql.Stmt
// belongs to the pool and is prepared on whichever connection runs it,
// and one cannot be prepared on a pool whose only connection a
// transaction holds (a store's writer, a client's replica), so a
// statement would first run unprepared and be parsed again when prepared
// later. Here a connection prepares a statement the first time it runs it,
// inside a transaction or not, and reuses it from then on: callers write
// plain ExecContext and QueryContext.
//
// What is cached: single statements, up to a bound per connection (past
// it, new statements run unprepared as before). Scripts of several
// statements run unprepared every time. A statement whose rows are still
// open when the same text runs again on the connection (a query inside
// the loop over its own rows) runs that second time unprepared. SQLite
// re-prepares a cached statement by itself after a schema change.
//
// Bound LIMIT and OFFSET values should be written
// `LIMIT CAST(? AS INTEGER)`: SQLite's planner reads a bare `LIMIT ?`
// parameter's value, which marks the prepared statement expired whenever
// the parameter is bound again, so every run would parse and plan it
// anew. The cast keeps the plan independent of the value.
package stmtcache

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"strings"
)

// Connector returns c with each connection it opens keeping up to max of
// the statements it runs prepared. The driver's connections must offer
// the context forms of prepare, exec, query and begin (modernc.org/sqlite
// and mattn/go-sqlite3 do).
func Connector(c driver.Connector, max int) driver.Connector {
	return connector{Connector: c, max: max}
}

type connector struct {
	driver.Connector
	max int
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cc, ok := newConn(dc, c.max)
	if !ok {
		dc.Close()
		return nil, errors.New("stmtcache: the driver's connection lacks PrepareContext, ExecContext, QueryContext or BeginTx")
	}
	return cc, nil
}

// conn is one driver connection with its cached statements. database/sql
// uses a connection from one goroutine at a time (it holds the
// connection's lock around every call into it, rows' Close included), so
// the map needs no lock of its own.
type conn struct {
	driver.Conn
	prep  driver.ConnPrepareContext
	exec  driver.ExecerContext
	query driver.QueryerContext
	begin driver.ConnBeginTx
	max   int
	stmts map[string]*stmt // nil value: not cacheable
}

func newConn(dc driver.Conn, max int) (*conn, bool) {
	c := &conn{Conn: dc, max: max, stmts: map[string]*stmt{}}
	var ok1, ok2, ok3, ok4 bool
	c.prep, ok1 = dc.(driver.ConnPrepareContext)
	c.exec, ok2 = dc.(driver.ExecerContext)
	c.query, ok3 = dc.(driver.QueryerContext)
	c.begin, ok4 = dc.(driver.ConnBeginTx)
	return c, ok1 && ok2 && ok3 && ok4
}

// stmt is one cached statement; busy while rows of it are open.
type stmt struct {
	ds    driver.Stmt
	exec  driver.StmtExecContext
	query driver.StmtQueryContext
	busy  bool
}

// cached returns query's prepared statement, preparing it on first use;
// nil when query is not to be cached or its statement is busy. A failed
// prepare is not remembered: the caller runs the query unprepared and
// meets the error (or the transient failure passes).
func (c *conn) cached(ctx context.Context, query string) *stmt {
	if s, seen := c.stmts[query]; seen {
		if s == nil || s.busy {
			return nil
		}
		return s
	}
	if len(c.stmts) >= c.max {
		return nil
	}
	if strings.Contains(strings.TrimRight(query, "; \t\r\n"), ";") {
		c.stmts[query] = nil // a script of several statements
		return nil
	}
	ds, err := c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	ex, ok1 := ds.(driver.StmtExecContext)
	qu, ok2 := ds.(driver.StmtQueryContext)
	if !ok1 || !ok2 {
		ds.Close()
		c.stmts[query] = nil
		return nil
	}
	s := &stmt{ds: ds, exec: ex, query: qu}
	c.stmts[query] = s
	return s
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if s := c.cached(ctx, query); s != nil {
		return s.exec.ExecContext(ctx, args)
	}
	return c.exec.ExecContext(ctx, query, args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.cached(ctx, query)
	if s == nil {
		return c.query.QueryContext(ctx, query, args)
	}
	r, err := s.query.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &rows{Rows: r, s: s}, nil
}

// PrepareContext prepares a statement database/sql owns (and closes): not
// one of the cache's.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prep.PrepareContext(ctx, query)
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.begin.BeginTx(ctx, opts)
}

// Close closes the cached statements, then the connection.
func (c *conn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		if s != nil {
			errs = append(errs, s.ds.Close())
		}
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.Conn.Close())...)
}

// The optional interfaces database/sql looks for, passed through; where
// the driver's connection lacks one, what database/sql does without it.

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip // database/sql's default conversion
}

// rows are a cached statement's rows: closing them frees the statement
// for its next run.
type rows struct {
	driver.Rows
	s *stmt
}

func (r *rows) Close() error {
	err := r.Rows.Close()
	if r.s != nil {
		r.s.busy = false
		r.s = nil
	}
	return err
}

// The column-type interfaces, passed through; where the driver's rows lack
// one, what database/sql answers without it.

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *rows) ColumnTypeLength(i int) (length int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *rows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
