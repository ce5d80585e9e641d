package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
)

func TestConnectionStatus(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob, cat, dan := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan")

	t.Run("none", func(t *testing.T) {
		if m := env.Do("GET", "/connections/"+bob.ID+"/status", amy.Token, nil).Want(200).JSON(); keys(m) != "status" || m["status"] != "none" {
			t.Fatalf("none = %v", m)
		}
	})
	id := request(t, env, amy, bob)
	t.Run("pending_sent_and_received", func(t *testing.T) {
		m := env.Do("GET", "/connections/"+bob.ID+"/status", amy.Token, nil).Want(200).JSON()
		if keys(m) != "connectionId,createdAt,status,type" || m["status"] != "pending" || m["type"] != "sent" || m["connectionId"] != id {
			t.Fatalf("sender's view = %v", m)
		}
		if m := env.Do("GET", "/connections/"+amy.ID+"/status", bob.Token, nil).Want(200).JSON(); m["type"] != "received" {
			t.Fatalf("recipient's view = %v", m)
		}
	})
	t.Run("connected", func(t *testing.T) {
		env.Do("POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(200)
		m := env.Do("GET", "/connections/"+bob.ID+"/status", amy.Token, nil).Want(200).JSON()
		if keys(m) != "connectedAt,connectionId,requestedAt,status" || m["status"] != "connected" || m["connectionId"] != id {
			t.Fatalf("connected = %v", m)
		}
	})
	t.Run("declined_stays_on_record", func(t *testing.T) {
		cid := request(t, env, cat, amy)
		env.Do("DELETE", "/connections/"+cat.ID, amy.Token, nil).Want(http.StatusNoContent)
		m := env.Do("GET", "/connections/"+amy.ID+"/status", cat.Token, nil).Want(200).JSON()
		if keys(m) != "connectionId,respondedAt,status,type" || m["status"] != "declined" || m["type"] != "sent" || m["connectionId"] != cid {
			t.Fatalf("declined = %v", m)
		}
		if m := env.Do("GET", "/connections/"+cat.ID+"/status", amy.Token, nil).Want(200).JSON(); m["type"] != "received" {
			t.Fatalf("decliner's view = %v", m)
		}
	})
	t.Run("errors", func(t *testing.T) {
		env.Do("GET", "/connections/"+amy.ID+"/status", amy.Token, nil).WantError(400, "self_reference")
		env.Do("GET", "/connections/nope/status", amy.Token, nil).WantError(400, "invalid_user_id")
		env.Do("GET", "/connections/0123456789abcdef01234567/status", amy.Token, nil).WantError(404, "user_not_found")
		env.Do("POST", "/users/"+amy.ID+"/block", dan.Token, nil).Want(200)
		env.Do("GET", "/connections/"+dan.ID+"/status", amy.Token, nil).WantError(404, "user_not_found")
	})
}

func TestEstablishedConnections(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	var friends []servertest.User
	for _, n := range []string{"Bob", "Cat", "Dan"} {
		f := env.Register(n)
		connect(t, env, f, amy)
		env.Clock.Advance(time.Second)
		friends = append(friends, f)
	}
	request(t, env, amy, env.Register("Eve")) // pending: not established

	t.Run("lists_confirmed_connections", func(t *testing.T) {
		var body struct {
			Connections []map[string]any `json:"connections"`
			Pagination  map[string]any   `json:"pagination"`
		}
		env.Do("GET", "/connections/established?limit=2", amy.Token, nil).Want(200).Decode(&body)
		if len(body.Connections) != 2 {
			t.Fatalf("connections = %v", body.Connections)
		}
		c := body.Connections[0]
		if keys(c) != "connectedAt,connectedUser,id" || c["connectedUser"].(map[string]any)["_id"] != friends[2].ID {
			t.Fatalf("newest established = %v", c)
		}
		p := body.Pagination
		if keys(p) != "currentPage,hasNextPage,hasPreviousPage,limit,totalCount,totalPages" ||
			p["currentPage"] != 1.0 || p["totalPages"] != 2.0 || p["totalCount"] != 3.0 || p["hasNextPage"] != true || p["hasPreviousPage"] != false || p["limit"] != 2.0 {
			t.Fatalf("pagination = %v", p)
		}
	})
	t.Run("last_page", func(t *testing.T) {
		m := env.Do("GET", "/connections/established?limit=2&page=2", amy.Token, nil).Want(200).JSON()
		p := m["pagination"].(map[string]any)
		if len(m["connections"].([]any)) != 1 || p["hasNextPage"] != false || p["hasPreviousPage"] != true {
			t.Fatalf("page 2 = %v", m)
		}
	})
	t.Run("bad_paging", func(t *testing.T) {
		env.Do("GET", "/connections/established?limit=101", amy.Token, nil).WantError(400, "invalid_limit")
	})
}

func TestPendingConnections(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob, cat := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")
	meetMe(t, env, bob)
	env.Do("POST", "/connections/"+bob.ID, amy.Token, map[string]string{"message": "Hi Bob"}).Want(http.StatusCreated)
	request(t, env, cat, amy)

	t.Run("sent", func(t *testing.T) {
		m := env.Do("GET", "/connections/pending?type=sent", amy.Token, nil).Want(200).JSON()
		list := m["connections"].([]any)
		if len(list) != 1 {
			t.Fatalf("sent = %v", m)
		}
		c := list[0].(map[string]any)
		if keys(c) != "createdAt,id,message,type,user" || c["type"] != "sent" || c["message"] != "Hi Bob" || c["user"].(map[string]any)["_id"] != bob.ID {
			t.Fatalf("sent item = %v", c)
		}
	})
	t.Run("received", func(t *testing.T) {
		m := env.Do("GET", "/connections/pending?type=received", amy.Token, nil).Want(200).JSON()
		list := m["connections"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["type"] != "received" || list[0].(map[string]any)["user"].(map[string]any)["_id"] != cat.ID {
			t.Fatalf("received = %v", m)
		}
	})
	t.Run("both_without_type", func(t *testing.T) {
		m := env.Do("GET", "/connections/pending", amy.Token, nil).Want(200).JSON()
		if p := m["pagination"].(map[string]any); p["totalCount"] != 2.0 || p["totalPages"] != 1.0 {
			t.Fatalf("all pending = %v", m)
		}
	})
	t.Run("bad_type", func(t *testing.T) {
		env.Do("GET", "/connections/pending?type=declined", amy.Token, nil).WantError(400, "invalid_type")
	})
	t.Run("message_at_most_500_chars", func(t *testing.T) {
		dan := env.Register("Dan")
		meetMe(t, env, dan)
		env.Do("POST", "/connections/"+dan.ID, amy.Token, map[string]string{"message": strings.Repeat("é", 500)}).Want(http.StatusCreated)
		eve := env.Register("Eve")
		meetMe(t, env, eve)
		env.Do("POST", "/connections/"+eve.ID, amy.Token, map[string]string{"message": strings.Repeat("é", 501)}).WantError(400, "invalid_message")
	})
}
