package rest_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// Graph fixtures: rows of the social graph written straight into the
// server's database file, for chat tests that need follows, blocks,
// connections or meet-me statuses to exist. They set up state only; the
// rules of those resources are tested with their own endpoints.

func rawDB(t *testing.T, env *servertest.Env) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(env.Dir, "vibesync.db")+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatalf("open raw db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, env *servertest.Env, q string, args ...any) {
	t.Helper()
	if _, err := rawDB(t, env).Exec(q, args...); err != nil {
		t.Fatalf("fixture %q: %v", q, err)
	}
}

func nowMS(env *servertest.Env) int64 { return env.Clock.Now().UnixMilli() }

// follow makes a follow b.
func follow(t *testing.T, env *servertest.Env, a, b servertest.User) {
	t.Helper()
	exec(t, env, `INSERT OR IGNORE INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)`, a.ID, b.ID, nowMS(env))
}

// block makes a block b.
func block(t *testing.T, env *servertest.Env, a, b servertest.User) {
	t.Helper()
	exec(t, env, `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)`, a.ID, b.ID, nowMS(env))
}

// meetMeStatus gives u a meet-me status that expires after ttl.
func meetMeStatus(t *testing.T, env *servertest.Env, u servertest.User, ttl time.Duration) string {
	t.Helper()
	id := oid.New()
	exec(t, env, `INSERT INTO user_statuses (user_id, id, text, expires_at, created_at) VALUES (?, ?, 'coffee?', ?, ?)`,
		u.ID, id, env.Clock.Now().Add(ttl).UnixMilli(), nowMS(env))
	return id
}

// connect records a connection from a to b with the given status,
// answering meet-me status statusID ("" for none), and returns its id.
func connect(t *testing.T, env *servertest.Env, a, b servertest.User, status, statusID string) string {
	t.Helper()
	id := oid.New()
	exec(t, env, `INSERT INTO connections (id, from_id, to_id, pair_key, status, status_detail, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, a.ID, b.ID, store.PairKey(a.ID, b.ID), status, statusID, nowMS(env), nowMS(env))
	return id
}
