package rest_test

import (
	"net/http"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	env.Do("GET", "/no/such/thing", "", nil).WantError(http.StatusNotFound, "route_not_found")
	r := env.Do("DELETE", "/auth/login", "", nil).WantError(http.StatusMethodNotAllowed, "method_not_allowed")
	if r.Header.Get("Allow") == "" {
		t.Fatal("405 without an Allow header")
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	env.Do("GET", "/healthz", "", nil).Want(http.StatusOK)
	env.Do("GET", "/readyz", "", nil).Want(http.StatusOK)
	env.Server.DB().Close()
	env.Do("GET", "/readyz", "", nil).WantError(http.StatusServiceUnavailable, "not_ready")
	env.Do("GET", "/healthz", "", nil).Want(http.StatusOK)
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	r := env.Do("GET", "/healthz", "", nil)
	if len(r.Header.Get("X-Request-Id")) != 16 {
		t.Fatalf("no generated request id: %v", r.Header)
	}
	req, _ := http.NewRequest("GET", env.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "client-chosen-42")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); got != "client-chosen-42" {
		t.Fatalf("request id %q, want the client's", got)
	}
}
