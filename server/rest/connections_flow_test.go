package rest_test

import (
	"fmt"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// TestConnectionAcrossSurfaces walks one pair of users through the three
// connection APIs: they all read and write the same record.
func TestConnectionAcrossSurfaces(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")

	num := v1Request(t, env, amy, bob, "Hi Bob")

	pending := env.Do("GET", "/connections/pending?type=received", bob.Token, nil).Want(200).JSON()["connections"].([]any)
	if len(pending) != 1 || pending[0].(map[string]any)["message"] != "Hi Bob" {
		t.Fatalf("spec/4 pending after v1 request = %v", pending)
	}
	id := pending[0].(map[string]any)["id"].(string)
	if m := env.Do("GET", "/connections/"+amy.ID+"/status", bob.Token, nil).Want(200).JSON(); m["status"] != "pending" || m["type"] != "received" || m["connectionId"] != id {
		t.Fatalf("spec/4 status before accept = %v", m)
	}

	acc := env.Do("POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(200).JSON()["connection"].(map[string]any)
	if acc["_id"] != id || acc["status"] != "accepted" || acc["from"] != amy.ID {
		t.Fatalf("spec/1 accept of a v1 request = %v", acc)
	}

	for _, u := range []servertest.User{amy, bob} {
		other := bob
		if u.ID == bob.ID {
			other = amy
		}
		m := env.Do("GET", "/connections/"+other.ID+"/status", u.Token, nil).Want(200).JSON()
		if m["status"] != "connected" || m["connectionId"] != id || m["connectedAt"] != acc["acceptedAt"] || m["requestedAt"] != acc["createdAt"] {
			t.Fatalf("spec/4 status for %s = %v", u.Name, m)
		}
		est := env.Do("GET", "/connections/established", u.Token, nil).Want(200).JSON()["connections"].([]any)
		if len(est) != 1 || est[0].(map[string]any)["id"] != id || est[0].(map[string]any)["connectedUser"].(map[string]any)["_id"] != other.ID {
			t.Fatalf("spec/4 established for %s = %v", u.Name, est)
		}
		list := env.Do("GET", "/connections?status=accepted", u.Token, nil).Want(200).JSON()["connections"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["_id"] != id || list[0].(map[string]any)["user"].(map[string]any)["_id"] != other.ID {
			t.Fatalf("spec/1 list for %s = %v", u.Name, list)
		}
		active := env.Do("GET", v1(u, "/active"), u.Token, nil).Want(200).JSON()["connections"].([]any)
		if len(active) != 1 || active[0].(map[string]any)["id"] != float64(num) {
			t.Fatalf("v1 active for %s = %v", u.Name, active)
		}
	}
	if m := env.Do("GET", v1(amy, "/notifications"), amy.Token, nil).Want(200).JSON(); m["notifications"].([]any)[0].(map[string]any)["type"] != "request_accepted" {
		t.Fatalf("v1 notifications after spec/1 accept = %v", m)
	}
	wantV1Error(t, env.Do("POST", v1(bob, fmt.Sprintf("/accept/%d", num)), bob.Token, nil), 409, "Conflict", "Users are already connected")

	env.Do("DELETE", v1(bob, fmt.Sprintf("/%d", num)), bob.Token, nil).Want(200)
	if m := env.Do("GET", "/connections/"+bob.ID+"/status", amy.Token, nil).Want(200).JSON(); m["status"] != "none" {
		t.Fatalf("spec/4 status after v1 remove = %v", m)
	}
}
