package remote_test

import (
	"net/http"
	"testing"
)

// GET /connections over the wire: a list whose records did not change
// costs one round trip (its version), and a change shows on the next list.
func TestConnectionListOverTheWire(t *testing.T) {
	t.Parallel()
	db, env := startRemote(t)
	amy, bob := env.Register("amy.list"), env.Register("bob.list")
	env.Do("PUT", "/users/me/status", bob.Token, map[string]any{"text": "around", "durationMinutes": 30}).Want(http.StatusOK)
	env.Do("POST", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusCreated)
	status := func() string {
		m := env.Do("GET", "/connections", amy.Token, nil).Want(http.StatusOK).JSON()
		list := m["connections"].([]any)
		if m["count"] != 1.0 || len(list) != 1 {
			t.Fatalf("list = %v", m)
		}
		return list[0].(map[string]any)["status"].(string)
	}
	if s := status(); s != "pending" {
		t.Fatalf("before: %s", s)
	}
	var s string
	if n, _ := trips(t, db, env, func() { s = status() }); n != 1 || s != "pending" {
		t.Fatalf("an unchanged list: %d round trips, status %s; want 1, pending", n, s)
	}
	env.Do("POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(http.StatusOK)
	if s := status(); s != "accepted" {
		t.Fatalf("after bob accepted: %s", s)
	}
}
