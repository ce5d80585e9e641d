package remote_test

import (
	"net/http"
	"path/filepath"
	"net/http/httptest"
	"testing"

	"github.com/vibesync/vibesync/integration/libsqlserver"
	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
)

func startRemote(t *testing.T) (*libsqlserver.Server, *servertest.Env) {
	t.Helper()
	db, err := libsqlserver.New(libsqlserver.Config{Path: filepath.Join(t.TempDir(), "remote.db")})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(db.Handler())
	t.Cleanup(func() { hs.Close(); db.Close() })
	env := servertest.New(t, func(c *server.Config) { c.DatabaseURL = hs.URL })
	return db, env
}

func TestSmoke(t *testing.T) {
	db, env := startRemote(t)
	a := env.Register("amy")
	b := env.Register("bob")
	before := db.Total()
	env.Do("PATCH", "/users/me", a.Token, map[string]string{"bio": "x"}).Want(http.StatusOK)
	t.Logf("patch: %+v", db.Total().Pipelines-before.Pipelines)
	_ = b
}
