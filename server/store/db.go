// Package store is vibesync's only package with SQL. It opens the libSQL
// database (an embedded SQLite file or a libSQL server), runs the embedded
// goose migrations, serializes writes through one connection, reads from a
// pool, and appends the change feed and live events inside write
// transactions so a crash never leaves a write without its feed rows.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/tursodatabase/libsql-client-go/libsql"

	"github.com/vibesync/vibesync/migrations"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/stmtcache"
)

// Config says which database to open.
type Config struct {
	// URL is "file:PATH" (embedded SQLite; query parameters are passed to the
	// driver), or "libsql://…", "http(s)://…", "ws(s)://…" for a libSQL server.
	URL string
	// AuthToken authenticates to a libSQL server; unused for file: URLs.
	AuthToken string
	// MaxReaders bounds the read pool (default 8).
	MaxReaders int
	// Now is the clock; each transaction reads it once (default time.Now).
	Now func() time.Time
}

// DB is an open vibesync database. Safe for concurrent use.
type DB struct {
	w, r   *sql.DB
	local  bool
	dsn    string
	now    func() time.Time
	wmu    sync.Mutex // one writer per process; BEGIN IMMEDIATE orders processes
	qmu    sync.Mutex // guards queue
	queue  []*writeReq
	hookMu sync.RWMutex
	hooks  []func(Commit)
	// queries counts statements run through any Tx, so tests can check
	// that a list costs a bounded number of queries.
	queries atomic.Int64
	// roundTrips counts requests sent to a libSQL server (see remote.go).
	roundTrips, backgroundTrips atomic.Int64
	// migrator is the goose provider (see provider).
	migratorOnce sync.Once
	migrator     *goose.Provider
	migratorErr  error
	// observer is told about every write batch (see Observe).
	observer atomic.Pointer[WriteObserver]
	// unlock releases the database file's shared lock (see lockFile).
	unlock func()
	// probe is one read connection of an embedded database kept for
	// PRAGMA data_version (see Changed); nil for a libSQL server.
	probe     *sql.DB
	probeStmt *sql.Stmt
	probeMu   sync.Mutex
	probeLast int64
	// path is an embedded database's file ("" for a libSQL server);
	// notifier signals its commits to other processes and watchC hears
	// theirs (see wake.go).
	path      string
	notifier  *commitNotifier
	watchOnce sync.Once
	watchC    <-chan struct{}
	watchStop func()
	// presenceGen counts this process's committed presence changes (see
	// PresenceGeneration).
	presenceGen atomic.Int64
	// headsStmt is Heads' statement, prepared on the reader pool.
	headsOnce sync.Once
	headsStmt *sql.Stmt
	headsErr  error
}

// WriteObserver is told how writes go through the single writer: how many
// writes each transaction commits together (group commit, embedded or
// remote) and how long each write waited for the writer. It must
// be fast and must not write to the database.
type WriteObserver interface {
	ObserveWriteBatch(size int)
	ObserveWriterWait(d time.Duration)
}

// Observe makes o the write observer (nil: none). Safe to call at any time.
func (db *DB) Observe(o WriteObserver) {
	if o == nil {
		db.observer.Store(nil)
		return
	}
	db.observer.Store(&o)
}

// observeBatch reports one write transaction of n writes, each queued at
// the given time.
func (db *DB) observeBatch(queued ...time.Time) {
	p := db.observer.Load()
	if p == nil {
		return
	}
	o := *p
	o.ObserveWriteBatch(len(queued))
	now := time.Now()
	for _, t := range queued {
		o.ObserveWriterWait(now.Sub(t))
	}
}

// Pools returns the writer and reader connection pools, for monitoring
// their statistics (sql.DB.Stats) only.
func (db *DB) Pools() (writer, reader *sql.DB) { return db.w, db.r }

// Commit describes a committed write transaction that appended to the feed or
// the live-event table: the highest seq of each it wrote (0 if none).
type Commit struct {
	FeedSeq  int64
	EventSeq int64
}

// Default driver parameters for file: URLs; a value already in the URL wins.
// They are applied by the driver to every pooled connection.
var fileDefaults = [][2]string{
	{"_journal_mode", "WAL"},
	{"_foreign_keys", "on"},
	{"_busy_timeout", "10000"},
	{"_synchronous", "NORMAL"},
}

// Open opens the database at cfg.URL, creating a file's folder if needed.
// It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.URL == "" {
		return nil, errors.New("store: empty database URL")
	}
	if cfg.MaxReaders <= 0 {
		cfg.MaxReaders = 8
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	db := &DB{now: cfg.Now, dsn: cfg.URL}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	if u.Scheme == "file" {
		db.local = true
		if err := db.openFile(u); err != nil {
			return nil, err
		}
	} else {
		var opts []libsql.Option
		if cfg.AuthToken != "" {
			opts = append(opts, libsql.WithAuthToken(cfg.AuthToken))
		}
		conn, err := libsql.NewConnector(cfg.URL, opts...)
		if err != nil {
			return nil, fmt.Errorf("store: connect %s: %w", u.Redacted(), err)
		}
		db.w = sql.OpenDB(conn)
		db.w.SetMaxOpenConns(1)
		db.r = sql.OpenDB(conn)
		db.r.SetMaxOpenConns(cfg.MaxReaders)
	}
	if err := db.w.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open database: %w", err)
	}
	return db, nil
}

func (db *DB) openFile(u *url.URL) error {
	path := u.Opaque
	if path == "" {
		path = u.Path
	}
	if path == "" || strings.HasPrefix(path, ":memory:") {
		return errors.New("store: file: URL needs a path (an in-memory database cannot be shared between connections)")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("store: create database folder: %w", err)
		}
	}
	// Shared with other servers and backups; a restore takes it
	// exclusively, so it never replaces the file under a running server.
	unlock, err := lockFile(path, false)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	db.unlock = unlock
	q := u.Query()
	for _, kv := range fileDefaults {
		if q.Get(kv[0]) == "" {
			q.Set(kv[0], kv[1])
		}
	}
	wq, rq := cloneValues(q), cloneValues(q)
	wq.Set("_txlock", "immediate")
	rq.Set("_txlock", "deferred")
	rq.Set("_query_only", "1")
	open := func(q url.Values, n int) (*sql.DB, error) {
		conn, err := fileConnector("file:" + path + "?" + q.Encode())
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		d := sql.OpenDB(initConnector{stmtcache.Connector(conn, maxCachedStmts)})
		d.SetMaxOpenConns(n)
		d.SetMaxIdleConns(n)
		d.SetConnMaxLifetime(0)
		return d, nil
	}
	if db.w, err = open(wq, 1); err != nil {
		db.unlock()
		return err
	}
	if db.r, err = open(rq, 8); err != nil {
		db.w.Close()
		db.unlock()
		return err
	}
	// The probe runs PRAGMA data_version alone, which reads no table: it
	// leaves out the journal mode (a property of the file, WAL once the
	// writer above has opened it) and synchronous (it never writes), whose
	// PRAGMAs would each read the whole schema: the probe connection then
	// opens in a quarter of the 1 ms a connection that reads the schema
	// takes here, once per server start.
	pq := cloneValues(rq)
	for _, k := range []string{"_journal_mode", "_journal", "_synchronous", "_sync"} {
		pq.Del(k)
	}
	if db.probe, err = open(pq, 1); err != nil {
		db.w.Close()
		db.r.Close()
		db.unlock()
		return err
	}
	db.path, db.notifier = path, openNotifier(path)
	return nil
}

// fileConnector opens dsn with fileDriver (driver_pure.go or
// driver_cgo.go), named explicitly: a process may register both drivers
// (the client's replica uses modernc.org/sqlite), and libsql-client-go
// would take whichever it finds first.
func fileConnector(dsn string) (driver.Connector, error) {
	d, err := sql.Open(fileDriver, dsn)
	if err != nil {
		return nil, err
	}
	drv := d.Driver()
	d.Close()
	if dc, ok := drv.(driver.DriverContext); ok {
		return dc.OpenConnector(dsn)
	}
	return dsnConnector{drv: drv, dsn: dsn}, nil
}

// dsnConnector opens dsn with a driver that has no connectors of its own.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// maxCachedStmts bounds how many distinct statements one connection of an
// embedded database keeps prepared (package stmtcache); statements beyond
// it run unprepared. Bound LIMIT and OFFSET values are written
// `LIMIT CAST(? AS INTEGER)` so that a prepared statement is not planned
// anew for each value (see stmtcache).
const maxCachedStmts = 512

// connInit runs on every new connection to an embedded database.
// temp_store=MEMORY keeps statement journals in memory: each write of a
// group commit runs in a savepoint, and SQLite otherwise spills the
// savepoint's journal to a temporary file past 64 KiB, a pwrite per page
// (seen in the profile of message sends).
var connInit = []string{`PRAGMA temp_store = MEMORY`}

// initConnector runs connInit on each connection it opens.
type initConnector struct{ driver.Connector }

func (c initConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("store: the SQLite driver cannot run statements on a connection")
	}
	for _, q := range connInit {
		if _, err := ex.ExecContext(ctx, q, nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("store: %s: %w", q, err)
		}
	}
	return conn, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Close closes both pools.
func (db *DB) Close() error {
	db.watchOnce.Do(func() {}) // no watcher starts after this
	if db.watchStop != nil {
		db.watchStop()
	}
	db.notifier.close()
	var errs []error
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.probeStmt != nil {
		db.probeStmt.Close()
	}
	db.headsOnce.Do(func() {})
	if db.headsStmt != nil {
		db.headsStmt.Close()
	}
	if db.probe != nil {
		errs = append(errs, db.probe.Close())
	}
	if db.unlock != nil {
		db.unlock()
		db.unlock = nil
	}
	return errors.Join(errs...)
}

// Now reads the database's clock.
func (db *DB) Now() time.Time { return db.now() }

// OnCommit registers fn to run after every committed write transaction that
// appended feed rows or live events. fn runs on the writer's goroutine after
// the commit and must not block.
func (db *DB) OnCommit(fn func(Commit)) {
	db.hookMu.Lock()
	defer db.hookMu.Unlock()
	db.hooks = append(db.hooks, fn)
}

// provider is the database's goose provider, built on first use and kept:
// Ready runs on every /readyz, and building one parses every migration.
// (goose's Provider is safe for concurrent use.)
func (db *DB) provider() (*goose.Provider, error) {
	db.migratorOnce.Do(func() {
		dialect := goose.DialectSQLite3
		if !db.local {
			dialect = goose.DialectTurso
		}
		db.migrator, db.migratorErr = goose.NewProvider(dialect, db.w, migrations.FS)
	})
	return db.migrator, db.migratorErr
}

// Migrate applies every pending migration. Processes sharing the database
// take turns (see withSchemaLock), so instances may start together.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	return db.withSchemaLock(ctx, func() error {
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("store: migrate up: %w", err)
		}
		return nil
	})
}

// MigrateTo applies pending migrations up to and including version, taking
// turns with other processes like Migrate.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	return db.withSchemaLock(ctx, func() error {
		if _, err := p.UpTo(ctx, version); err != nil {
			return fmt.Errorf("store: migrate up to %d: %w", version, err)
		}
		return nil
	})
}

// Migration is one migration's state.
type Migration struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Migrations lists every known migration and whether it is applied.
func (db *DB) Migrations(ctx context.Context) ([]Migration, error) {
	p, err := db.provider()
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	out := make([]Migration, 0, len(st))
	for _, s := range st {
		out = append(out, Migration{
			Version:   s.Source.Version,
			Name:      filepath.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Ready reports nil when the database answers and every migration is applied.
func (db *DB) Ready(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("store: check migrations: %w", err)
	}
	if pending {
		return errors.New("store: migrations pending")
	}
	return nil
}

// Tx is one transaction. Now is read once when it begins, so every row it
// writes carries the same timestamp.
type Tx struct {
	db       *DB
	tx       *sql.Tx   // embedded database
	rt       *remoteTx // libSQL server (see remote.go)
	queries  *atomic.Int64
	Now      time.Time
	feedSeq  int64
	eventSeq int64
	// quiet, when set, is the context every statement of this embedded
	// transaction runs with instead of the one it is given: one that cannot
	// be cancelled (see runWrite).
	quiet context.Context
	// after holds what AfterCommit registered, in order; undo what
	// AfterRollback did.
	after, undo []func()
}

// AfterCommit registers fn to run once tx has committed: for side effects
// outside the database (deleting stored files) that must not happen if the
// write is undone. fn is dropped when tx rolls back, and when the savepoint
// it was registered in rolls back (see Savepoint). Write runs the
// registered functions in order, after the commit and after releasing the
// writer, before the OnCommit hooks; fn must not block for long.
func (tx *Tx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

// AfterRollback registers fn to run if tx rolls back, or if the savepoint
// it was registered in rolls back: to undo side effects outside the
// database made for this write (a file stored before the row that names
// it). Registered functions run newest first; they are dropped on commit.
func (tx *Tx) AfterRollback(fn func()) { tx.undo = append(tx.undo, fn) }

// rollBack runs and drops what AfterRollback registered after the first n.
func (tx *Tx) rollBack(n int) {
	for i := len(tx.undo) - 1; i >= n; i-- {
		tx.undo[i]()
	}
	clear(tx.undo[n:])
	tx.undo = tx.undo[:n]
}

// Write runs fn in a write transaction (BEGIN IMMEDIATE on the single writer
// connection) and commits if fn returns nil. Driver errors are translated
// (see translate); a busy database comes back as apperr.Unavailable.
//
// Concurrent Writes are committed in groups (see groupWrite): fn runs in a
// savepoint of a transaction shared with other writers, so it must not
// assume it is alone in the transaction beyond what it wrote itself, and
// tx.Now is shared by the group.
//
// ctx decides whether fn runs: a ctx that ended while the write waited for
// the writer returns its error without running fn. On an embedded database
// a ctx that ends once fn has begun does not stop it (see runWrite).
func (db *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	return db.groupWrite(ctx, fn)
}

// runWrite runs fn in one write transaction on the writer connection.
//
// On an embedded database the transaction and its statements run with a
// context that cannot be cancelled (ctx's values are kept): the caller's
// cancellation is checked before the transaction begins (and by
// groupWrite before each write of a group), never in the middle of it.
// A write transaction is short and holds the only writer, so stopping it
// halfway saves nothing; interrupting a statement would roll back the
// whole transaction, other callers' writes of the group included; and the
// driver watches a cancellable context with a goroutine for every
// statement.
func (db *DB) runWrite(ctx context.Context, fn func(*Tx) error) (Commit, []func(), error) {
	if db.local {
		if err := ctx.Err(); err != nil {
			return Commit{}, nil, err
		}
		return db.runCounting(context.WithoutCancel(ctx), db.w, fn, &db.queries)
	}
	return db.runRemote(ctx, db.w, true, fn, &db.queries)
}

// Read runs fn in a read-only transaction on the reader pool: one consistent
// snapshot for everything fn reads. Functions fn registers with
// AfterCommit run when it returns nil.
func (db *DB) Read(ctx context.Context, fn func(*Tx) error) error {
	run := db.runCounting
	if !db.local {
		run = db.runRemoteRead
	}
	_, after, err := run(ctx, db.r, fn, &db.queries)
	if err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	return nil
}

// ReadUncounted is Read for background loops (the live tailer's polls):
// its statements are left out of QueryCount, so a test that measures one
// request's queries does not also count a poll that ran meanwhile.
func (db *DB) ReadUncounted(ctx context.Context, fn func(*Tx) error) error {
	var uncounted atomic.Int64
	run := db.runCounting
	if !db.local {
		run = db.runRemoteRead
	}
	_, after, err := run(ctx, db.r, fn, &uncounted)
	if err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	return nil
}

func (db *DB) runCounting(ctx context.Context, pool *sql.DB, fn func(*Tx) error, queries *atomic.Int64) (Commit, []func(), error) {
	sqlTx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return Commit{}, nil, fmt.Errorf("store: begin: %w", translate(err))
	}
	tx := &Tx{db: db, tx: sqlTx, queries: queries, Now: db.now().UTC()}
	if ctx.Done() == nil {
		tx.quiet = ctx // a write (see runWrite): every statement runs with it
	}
	if err := fn(tx); err != nil {
		rbErr := sqlTx.Rollback()
		tx.rollBack(0)
		if rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return Commit{}, nil, errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
		}
		return Commit{}, nil, err
	}
	if err := sqlTx.Commit(); err != nil {
		tx.rollBack(0)
		return Commit{}, nil, fmt.Errorf("store: commit: %w", translate(err))
	}
	return Commit{FeedSeq: tx.feedSeq, EventSeq: tx.eventSeq}, tx.after, nil
}

// QueryCount returns how many statements transactions have run so far. It
// only grows; compare two readings around an operation.
func (db *DB) QueryCount() int64 { return db.queries.Load() }

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.queries.Add(1)
	if tx.rt != nil {
		return tx.rt.exec(ctx, query, args...)
	}
	return tx.execLocal(ctx, query, args...)
}

func (tx *Tx) execLocal(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if tx.quiet != nil {
		ctx = tx.quiet
	}
	res, err := tx.tx.ExecContext(ctx, query, args...)
	return res, translate(err)
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.queries.Add(1)
	if tx.rt != nil {
		return tx.rt.query(ctx, query, args...)
	}
	if tx.quiet != nil {
		ctx = tx.quiet
	}
	rows, err := tx.tx.QueryContext(ctx, query, args...)
	return rows, translate(err)
}

// collect runs q and scans every row with scan; step names the read in
// errors ("store: <step>: …").
func collect[T any](ctx context.Context, tx *Tx, step string, scan func(interface{ Scan(...any) error }) (T, error), q string, args ...any) ([]T, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", step, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan %s: %w", step, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *row {
	tx.queries.Add(1)
	if tx.rt != nil {
		rows, err := tx.rt.query(ctx, query, args...)
		return &row{rows: rows, err: err}
	}
	if tx.quiet != nil {
		ctx = tx.quiet
	}
	return &row{row: tx.tx.QueryRowContext(ctx, query, args...)}
}

// row is the result of queryRow: a *sql.Row on an embedded database, the
// first row of a batch's result on a libSQL server. Scan behaves as
// sql.Row's: sql.ErrNoRows when there is none.
type row struct {
	row  *sql.Row
	rows *sql.Rows
	err  error
}

// Scan copies the row's columns into dest and releases the row.
func (r *row) Scan(dest ...any) error {
	if r.row != nil {
		return r.row.Scan(dest...)
	}
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return translate(err)
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// translate turns driver errors callers can act on into *apperr.Error:
// UNIQUE violations become conflicts, a busy or locked database becomes
// unavailable (transient, worth a retry). Other errors pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"), strings.Contains(msg, "PRIMARY KEY constraint failed"):
		return &apperr.Error{Code: apperr.Conflict, Reason: reasonDuplicate, Message: "That already exists"}
	case strings.Contains(msg, "SQLITE_BUSY"), strings.Contains(msg, "database is locked"), strings.Contains(msg, "database table is locked"):
		return &apperr.Error{Code: apperr.Unavailable, Reason: "database_busy", Message: "The database is busy; try again"}
	}
	return err
}

// reasonDuplicate marks a translated UNIQUE violation; callers may rename it.
const reasonDuplicate = "duplicate"

// ms is the stored form of a time: unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS turns stored milliseconds back into a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullTime turns a nullable millisecond column into a time (zero when NULL).
func nullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// notFound converts sql.ErrNoRows into a not-found *apperr.Error.
func notFound(err error, reason, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.NotFoundf(reason, "%s not found", what)
	}
	return translate(err)
}

// Savepoint runs fn inside a SAVEPOINT of tx: if fn fails, everything it
// wrote is rolled back while the rest of tx stays, so a batch can record
// the failure of one step in the same transaction. Feed and event
// positions fn produced, and what it registered with AfterCommit, are
// forgotten with it; what it registered with AfterRollback runs.
func (tx *Tx) Savepoint(ctx context.Context, fn func(*Tx) error) error {
	if tx.rt != nil {
		err, fatal := tx.remoteSavepoint(ctx, "step", fn)
		if fatal != nil {
			return errors.Join(err, fatal)
		}
		return err
	}
	feed, events, after, undo := tx.feedSeq, tx.eventSeq, len(tx.after), len(tx.undo)
	if _, err := tx.exec(ctx, `SAVEPOINT step`); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.feedSeq, tx.eventSeq = feed, events
		clear(tx.after[after:])
		tx.after = tx.after[:after]
		tx.rollBack(undo)
		if _, rbErr := tx.exec(ctx, `ROLLBACK TO step`); rbErr != nil {
			return errors.Join(err, fmt.Errorf("store: rollback to savepoint: %w", rbErr))
		}
		if _, rErr := tx.exec(ctx, `RELEASE step`); rErr != nil {
			return errors.Join(err, fmt.Errorf("store: release savepoint: %w", rErr))
		}
		return err
	}
	if _, err := tx.exec(ctx, `RELEASE step`); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}
