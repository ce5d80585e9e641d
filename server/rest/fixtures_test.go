package rest_test

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/vibesync/vibesync/server/servertest"
)

// Graph set-up for chat tests, through the graph and connection endpoints.

// rawDB opens the server's database file for read-only checks of rows no
// endpoint shows (e.g. that a deleted chat left nothing behind).
func rawDB(t *testing.T, env *servertest.Env) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(env.Dir, "vibesync.db")+"?_pragma=busy_timeout(10000)&mode=ro")
	if err != nil {
		t.Fatalf("open raw db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// follow makes a follow b (idempotent).
func follow(t *testing.T, env *servertest.Env, a, b servertest.User) {
	t.Helper()
	env.Do("POST", "/users/"+b.ID+"/follow", a.Token, nil).Want(http.StatusOK)
}

// block makes a block b.
func block(t *testing.T, env *servertest.Env, a, b servertest.User) {
	t.Helper()
	r := env.Do("POST", "/users/"+b.ID+"/block", a.Token, nil)
	if r.Status != http.StatusOK && r.Status != http.StatusCreated && r.Status != http.StatusNoContent {
		r.Want(http.StatusOK)
	}
}

// plainConnection connects from and to without any meet-me status (a v1
// request, accepted) and returns the connection's _id.
func plainConnection(t *testing.T, env *servertest.Env, from, to servertest.User) string {
	t.Helper()
	v1Request(t, env, from, to, "hi")
	return env.Do("POST", "/connections/"+from.ID+"/accept", to.Token, nil).Want(http.StatusOK).
		JSON()["connection"].(map[string]any)["_id"].(string)
}

// pendingConnection leaves a plain request from from to to unanswered.
func pendingConnection(t *testing.T, env *servertest.Env, from, to servertest.User) {
	t.Helper()
	v1Request(t, env, from, to, "hi")
}
