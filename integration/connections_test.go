package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// TestConnectionsFlow runs the documented connection flows against the
// server image: spec/1 (a meet-me request answering an active status,
// accept, lists, notifications, score), spec/4 (status, established and
// pending shapes) and spec/5 (v1 request, decline, accept, lists, remove),
// then restarts the container and reads the same state back.
func TestConnectionsFlow(t *testing.T) {
	needDocker(t)
	connectionsFlow(t, startServer(t, serverOptions{volume: newVolume(t)}))
}

// connectionsFlow runs the flow against srv (a server on its own volume, or one of
// several instances on a libSQL server).
func connectionsFlow(t *testing.T, srv *server) {
	amy := srv.register(t, "Amy Conn", "amy.conn")
	bob := srv.register(t, "Bob Conn", "bob.conn")
	cleo := srv.register(t, "Cleo Conn", "cleo.conn")

	var connID, acceptedAt string
	t.Run("spec1_meet_me_request_and_accept", func(t *testing.T) {
		srv.do(t, "POST", "/connections/"+bob.ID, amy.Token, nil).WantError(http.StatusConflict, "no_active_status")
		srv.do(t, "POST", "/connections/"+amy.ID, amy.Token, nil).Want(http.StatusBadRequest)
		srv.do(t, "PUT", "/users/me/status", bob.Token, map[string]any{"text": "coffee at noon?", "durationMinutes": 60}).Want(http.StatusOK)

		var made struct{ Connection map[string]any }
		srv.do(t, "POST", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusCreated).Decode(&made)
		c := made.Connection
		if c["from"] != amy.ID || c["to"] != bob.ID || c["status"] != "pending" || c["_id"] == "" {
			t.Fatalf("request answered %v", c)
		}
		connID = c["_id"].(string)
		srv.do(t, "POST", "/connections/"+bob.ID, amy.Token, nil).WantError(http.StatusConflict, "request_exists")
		srv.do(t, "POST", "/connections/"+bob.ID+"/accept", amy.Token, nil).WantError(http.StatusForbidden, "not_recipient")

		var notes struct {
			Notifications []map[string]any
			Count         int
		}
		srv.do(t, "GET", "/notifications", bob.Token, nil).Want(http.StatusOK).Decode(&notes)
		if notes.Count < 1 {
			t.Fatalf("Bob has no notification of the request: %+v", notes)
		}

		var acc struct{ Connection map[string]any }
		srv.do(t, "POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(http.StatusOK).Decode(&acc)
		if acc.Connection["_id"] != connID || acc.Connection["status"] != "accepted" || acc.Connection["acceptedAt"] == nil {
			t.Fatalf("accept answered %v", acc.Connection)
		}
		acceptedAt = acc.Connection["acceptedAt"].(string)
		srv.do(t, "POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(http.StatusConflict)

		var list struct {
			Connections []map[string]any
			Count       int
		}
		srv.do(t, "GET", "/connections?status=accepted", amy.Token, nil).Want(http.StatusOK).Decode(&list)
		if list.Count != 1 || list.Connections[0]["_id"] != connID || list.Connections[0]["user"].(map[string]any)["_id"] != bob.ID {
			t.Fatalf("Amy's accepted connections: %+v", list)
		}
		var score map[string]any
		srv.do(t, "GET", "/users/"+bob.ID+"/score", amy.Token, nil).Want(http.StatusOK).Decode(&score)
		if len(score) == 0 {
			t.Fatalf("Bob's score answered %v", score)
		}
	})

	t.Run("spec4_shapes", func(t *testing.T) {
		var st map[string]any
		srv.do(t, "GET", "/connections/"+bob.ID+"/status", amy.Token, nil).Want(http.StatusOK).Decode(&st)
		if st["status"] != "connected" || st["connectionId"] != connID || st["connectedAt"] != acceptedAt {
			t.Fatalf("status Amy→Bob: %v", st)
		}
		srv.do(t, "GET", "/connections/"+cleo.ID+"/status", amy.Token, nil).Want(http.StatusOK).Decode(&st)
		if st["status"] != "none" {
			t.Fatalf("status Amy→Cleo: %v", st)
		}
		var est struct{ Connections []map[string]any }
		srv.do(t, "GET", "/connections/established", bob.Token, nil).Want(http.StatusOK).Decode(&est)
		if len(est.Connections) != 1 || est.Connections[0]["id"] != connID || est.Connections[0]["connectedUser"].(map[string]any)["_id"] != amy.ID {
			t.Fatalf("Bob's established: %+v", est)
		}
	})

	var declined, accepted int64
	t.Run("spec5_v1_request_decline_accept", func(t *testing.T) {
		v1 := func(u account, rest string) string { return "/v1/connections/" + u.ID + rest }
		request := func(from, to account, msg string) int64 {
			var body struct {
				Message string
				ID      int64
			}
			srv.do(t, "POST", v1(from, "/request"), from.Token, map[string]string{"receiver_id": to.ID, "message": msg}).
				Want(http.StatusCreated).Decode(&body)
			if body.Message != "Connection request sent successfully" || body.ID < 1 {
				t.Fatalf("v1 request answered %+v", body)
			}
			return body.ID
		}
		declined = request(cleo, amy, "hi Amy")
		var recv struct{ Requests []map[string]any }
		srv.do(t, "GET", v1(amy, "/received"), amy.Token, nil).Want(http.StatusOK).Decode(&recv)
		if len(recv.Requests) != 1 || recv.Requests[0]["message"] != "hi Amy" {
			t.Fatalf("Amy's received: %+v", recv)
		}
		var pending struct{ Connections []map[string]any }
		srv.do(t, "GET", "/connections/pending?type=received", amy.Token, nil).Want(http.StatusOK).Decode(&pending)
		if len(pending.Connections) != 1 || pending.Connections[0]["message"] != "hi Amy" {
			t.Fatalf("spec/4 pending for Amy: %+v", pending)
		}
		srv.do(t, "POST", v1(amy, fmt.Sprintf("/decline/%d", declined)), amy.Token, nil).Want(http.StatusOK)
		var st map[string]any
		srv.do(t, "GET", "/connections/"+amy.ID+"/status", cleo.Token, nil).Want(http.StatusOK).Decode(&st)
		if st["status"] != "declined" || st["type"] != "sent" {
			t.Fatalf("status Cleo→Amy after decline: %v", st)
		}

		accepted = request(bob, cleo, "hi Cleo")
		srv.do(t, "POST", v1(cleo, fmt.Sprintf("/accept/%d", accepted)), cleo.Token, nil).Want(http.StatusOK)
		var active struct{ Connections []map[string]any }
		srv.do(t, "GET", v1(bob, "/active"), bob.Token, nil).Want(http.StatusOK).Decode(&active)
		if len(active.Connections) != 2 {
			t.Fatalf("Bob's v1 active connections: %+v", active)
		}
		var bad map[string]any
		srv.do(t, "POST", v1(cleo, fmt.Sprintf("/accept/%d", accepted)), cleo.Token, nil).Want(http.StatusConflict).Decode(&bad)
		if bad["message"] != "Users are already connected" {
			t.Fatalf("accepting twice answered %v", bad)
		}
	})

	t.Run("restart_keeps_connections", func(t *testing.T) {
		srv.restart(t)
		var st map[string]any
		srv.do(t, "GET", "/connections/"+amy.ID+"/status", bob.Token, nil).Want(http.StatusOK).Decode(&st)
		if st["status"] != "connected" || st["connectionId"] != connID || st["connectedAt"] != acceptedAt {
			t.Fatalf("status Bob→Amy after restart: %v", st)
		}
		srv.do(t, "GET", "/connections/"+amy.ID+"/status", cleo.Token, nil).Want(http.StatusOK).Decode(&st)
		if st["status"] != "declined" {
			t.Fatalf("status Cleo→Amy after restart: %v", st)
		}
		var active struct{ Connections []json.RawMessage }
		srv.do(t, "GET", "/v1/connections/"+cleo.ID+"/active", cleo.Token, nil).Want(http.StatusOK).Decode(&active)
		if len(active.Connections) != 1 {
			t.Fatalf("Cleo's v1 active after restart: %s", active.Connections)
		}
		srv.do(t, "DELETE", fmt.Sprintf("/v1/connections/%s/%d", cleo.ID, accepted), cleo.Token, nil).Want(http.StatusOK)
		srv.do(t, "GET", "/connections/"+cleo.ID+"/status", bob.Token, nil).Want(http.StatusOK).Decode(&st)
		if st["status"] != "none" {
			t.Fatalf("status Bob→Cleo after removal: %v", st)
		}
	})
}
