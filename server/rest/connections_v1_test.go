package rest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

func v1(u servertest.User, rest string) string { return "/v1/connections/" + u.ID + rest }

// v1Request sends a v1 request from from to to and returns its integer id.
func v1Request(t *testing.T, env *servertest.Env, from, to servertest.User, msg string) int64 {
	t.Helper()
	var body struct {
		Message string `json:"message"`
		ID      int64  `json:"id"`
	}
	env.Do("POST", v1(from, "/request"), from.Token, map[string]string{"receiver_id": to.ID, "message": msg}).Want(http.StatusCreated).Decode(&body)
	if body.Message != "Connection request sent successfully" || body.ID < 1 {
		t.Fatalf("v1 request answer = %+v", body)
	}
	return body.ID
}

// wantV1Error checks a v1 error body exactly (plus its machine code).
func wantV1Error(t *testing.T, r *servertest.Response, status int, title, message string) {
	t.Helper()
	r.Want(status)
	m := r.JSON()
	if m["error"] != title || m["message"] != message {
		t.Fatalf("error body = %s, want error %q message %q", r.Body, title, message)
	}
}

func TestV1Connections(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	a, b, c := env.Register("Player A"), env.Register("Player B"), env.Register("Player C")

	var id int64
	t.Run("send_connection_request_needs_no_status", func(t *testing.T) {
		id = v1Request(t, env, a, b, "Hi! Want to connect?")
		if evs := eventsNamed(t, env, "connection-request", "user:"+b.ID); len(evs) != 1 || evs[0]["connection"].(map[string]any)["num"] != float64(id) {
			t.Fatalf("connection-request events = %v", evs)
		}
		if got := scoreOf(t, env, a); got != 2 {
			t.Fatalf("sender's score = %v, want create-meetme-request (2)", got)
		}
	})
	t.Run("get_received_connection_requests", func(t *testing.T) {
		var body struct {
			Requests   []map[string]any `json:"requests"`
			Pagination map[string]any   `json:"pagination"`
		}
		env.Do("GET", v1(b, "/received"), b.Token, nil).Want(200).Decode(&body)
		if len(body.Requests) != 1 {
			t.Fatalf("received = %+v", body)
		}
		r := body.Requests[0]
		if keys(r) != "created_at,id,message,responded_at,status,user" || r["id"] != float64(id) || r["status"] != "pending" ||
			r["message"] != "Hi! Want to connect?" || r["responded_at"] != nil {
			t.Fatalf("received item = %v", r)
		}
		if u := r["user"].(map[string]any); keys(u) != "client_user_id,display_name" || u["client_user_id"] != a.ID || u["display_name"] != "Player A" {
			t.Fatalf("user = %v", u)
		}
		p := body.Pagination
		if keys(p) != "current_page,per_page,total_items,total_pages" || p["current_page"] != 1.0 || p["per_page"] != 10.0 || p["total_items"] != 1.0 || p["total_pages"] != 1.0 {
			t.Fatalf("pagination = %v", p)
		}
	})
	t.Run("get_sent_connection_requests", func(t *testing.T) {
		m := env.Do("GET", v1(a, "/sent?page=1&per_page=10&status=pending"), a.Token, nil).Want(200).JSON()
		list := m["requests"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["user"].(map[string]any)["client_user_id"] != b.ID {
			t.Fatalf("sent = %v", m)
		}
	})
	t.Run("only_the_receiver_accepts", func(t *testing.T) {
		wantV1Error(t, env.Do("POST", v1(a, fmt.Sprintf("/accept/%d", id)), a.Token, nil), 403, "Forbidden", "Not authorized to accept this request")
		wantV1Error(t, env.Do("POST", v1(c, fmt.Sprintf("/accept/%d", id)), c.Token, nil), 404, "Resource not found",
			fmt.Sprintf("Connection request with ID '%d' does not exist", id))
	})
	t.Run("accept_connection_request", func(t *testing.T) {
		m := env.Do("POST", v1(b, fmt.Sprintf("/accept/%d", id)), b.Token, nil).Want(200).JSON()
		if keys(m) != "message" || m["message"] != "Connection request accepted successfully" {
			t.Fatalf("accept = %v", m)
		}
	})
	t.Run("request_already_processed", func(t *testing.T) {
		wantV1Error(t, env.Do("POST", v1(b, fmt.Sprintf("/decline/%d", id)), b.Token, nil), 409, "Conflict", "Users are already connected")
	})
	t.Run("users_already_connected", func(t *testing.T) {
		wantV1Error(t, env.Do("POST", v1(a, "/request"), a.Token, map[string]string{"receiver_id": b.ID}), 409, "Conflict", "Users are already connected")
	})
	t.Run("get_active_connections_of_both", func(t *testing.T) {
		for _, u := range []servertest.User{a, b} {
			m := env.Do("GET", v1(u, "/active?page=1&per_page=10"), u.Token, nil).Want(200).JSON()
			list := m["connections"].([]any)
			if len(list) != 1 {
				t.Fatalf("active of %s = %v", u.Name, m)
			}
			item := list[0].(map[string]any)
			if keys(item) != "connected_since,connected_user,id" || item["id"] != float64(id) || item["connected_since"] == nil {
				t.Fatalf("active item = %v", item)
			}
		}
	})
	var declined int64
	t.Run("decline_connection_request", func(t *testing.T) {
		declined = v1Request(t, env, c, b, "Let's connect!")
		m := env.Do("POST", v1(b, fmt.Sprintf("/decline/%d", declined)), b.Token, nil).Want(200).JSON()
		if m["message"] != "Connection request declined successfully" {
			t.Fatalf("decline = %v", m)
		}
		for _, u := range []servertest.User{b, c} {
			if evs := eventsNamed(t, env, "connection-declined", "user:"+u.ID); len(evs) != 1 || evs[0]["connection"].(map[string]any)["status"] != "declined" {
				t.Fatalf("connection-declined to %s = %v", u.Name, evs)
			}
		}
		wantV1Error(t, env.Do("POST", v1(b, fmt.Sprintf("/decline/%d", declined)), b.Token, nil), 409, "Conflict", "Request already processed")
		wantV1Error(t, env.Do("POST", v1(b, fmt.Sprintf("/accept/%d", declined)), b.Token, nil), 409, "Conflict", "Request already processed")
		wantV1Error(t, env.Do("POST", v1(c, "/request"), c.Token, map[string]string{"receiver_id": b.ID}), 409, "Conflict", "Request already processed")
	})
	t.Run("status_filter", func(t *testing.T) {
		for status, want := range map[string]int{"pending": 0, "accepted": 1, "declined": 1, "all": 2, "": 2} {
			m := env.Do("GET", v1(b, "/received?status="+status), b.Token, nil).Want(200).JSON()
			if got := len(m["requests"].([]any)); got != want {
				t.Fatalf("status=%q: %d requests, want %d", status, got, want)
			}
		}
		m := env.Do("GET", v1(c, "/sent?status=declined"), c.Token, nil).Want(200).JSON()
		if r := m["requests"].([]any)[0].(map[string]any); r["responded_at"] == nil || r["status"] != "declined" {
			t.Fatalf("declined item = %v", r)
		}
		env.Do("GET", v1(b, "/received?status=nope"), b.Token, nil).WantError(400, "invalid_status")
	})
	t.Run("get_connection_notifications", func(t *testing.T) {
		m := env.Do("GET", v1(a, "/notifications"), a.Token, nil).Want(200).JSON()
		list := m["notifications"].([]any)
		if len(list) != 1 || m["unread_count"] != 1.0 {
			t.Fatalf("a's notifications = %v", m)
		}
		n := list[0].(map[string]any)
		if keys(n) != "connection_request_id,id,message,other_user,read,timestamp,type" || n["type"] != "request_accepted" ||
			n["connection_request_id"] != float64(id) || n["other_user"].(map[string]any)["client_user_id"] != b.ID ||
			n["message"] != "Your connection request was accepted!" || n["read"] != false {
			t.Fatalf("a's notification = %v", n)
		}
		m = env.Do("GET", v1(c, "/notifications"), c.Token, nil).Want(200).JSON()
		if n := m["notifications"].([]any)[0].(map[string]any); n["type"] != "request_declined" {
			t.Fatalf("c's notification = %v", n)
		}
		m = env.Do("GET", v1(b, "/notifications"), b.Token, nil).Want(200).JSON()
		list = m["notifications"].([]any)
		if len(list) != 2 || list[0].(map[string]any)["type"] != "new_request" || list[0].(map[string]any)["message"] != "Let's connect!" {
			t.Fatalf("b's notifications = %v", m)
		}
		m = env.Do("GET", v1(b, "/notifications?per_page=1&page=2"), b.Token, nil).Want(200).JSON()
		p := m["pagination"].(map[string]any)
		if len(m["notifications"].([]any)) != 1 || p["total_items"] != 2.0 || p["total_pages"] != 2.0 || p["current_page"] != 2.0 || p["per_page"] != 1.0 {
			t.Fatalf("b's notifications, page 2 of 1 = %v", m)
		}
	})
	t.Run("mark_notification_as_read", func(t *testing.T) {
		n := env.Do("GET", v1(a, "/notifications"), a.Token, nil).Want(200).JSON()["notifications"].([]any)[0].(map[string]any)
		path := fmt.Sprintf("/notifications/%d/read", int64(n["id"].(float64)))
		wantV1Error(t, env.Do("POST", v1(c, path), c.Token, nil), 404, "Resource not found", "Notification not found")
		m := env.Do("POST", v1(a, path), a.Token, nil).Want(200).JSON()
		if m["message"] != "Notification marked as read" {
			t.Fatalf("read = %v", m)
		}
		m = env.Do("GET", v1(a, "/notifications"), a.Token, nil).Want(200).JSON()
		if m["unread_count"] != 0.0 || m["notifications"].([]any)[0].(map[string]any)["read"] != true {
			t.Fatalf("after read = %v", m)
		}
		env.Do("POST", v1(a, "/notifications/x/read"), a.Token, nil).WantError(400, "invalid_notification_id")
	})
	t.Run("remove_connection", func(t *testing.T) {
		wantV1Error(t, env.Do("DELETE", v1(b, fmt.Sprintf("/%d", declined)), b.Token, nil), 409, "Conflict", "Connection is not active")
		m := env.Do("DELETE", v1(a, fmt.Sprintf("/%d", id)), a.Token, nil).Want(200).JSON()
		if m["message"] != "Connection removed successfully" {
			t.Fatalf("remove = %v", m)
		}
		if m := env.Do("GET", v1(b, "/active"), b.Token, nil).Want(200).JSON(); len(m["connections"].([]any)) != 0 {
			t.Fatalf("active after remove = %v", m)
		}
		for _, u := range []servertest.User{a, b} {
			evs := eventsNamed(t, env, "connection-removed", "user:"+u.ID)
			if len(evs) != 1 || evs[0]["num"] != float64(id) {
				t.Fatalf("connection-removed to %s = %v", u.Name, evs)
			}
			if row, ok := feed(t, env, "user:"+u.ID)["connection/"+evs[0]["_id"].(string)]; !ok || row.Op != "delete" {
				t.Fatalf("connection row in %s's bucket = %+v, want a tombstone", u.Name, row)
			}
		}
		wantV1Error(t, env.Do("DELETE", v1(a, fmt.Sprintf("/%d", id)), a.Token, nil), 404, "Resource not found",
			fmt.Sprintf("Connection request with ID '%d' does not exist", id))
	})
	t.Run("user_id_must_be_the_caller", func(t *testing.T) {
		for _, r := range []*servertest.Response{
			env.Do("POST", v1(b, "/request"), a.Token, map[string]string{"receiver_id": c.ID}),
			env.Do("GET", v1(b, "/received"), a.Token, nil),
			env.Do("GET", v1(b, "/sent"), a.Token, nil),
			env.Do("GET", v1(b, "/active"), a.Token, nil),
			env.Do("GET", v1(b, "/notifications"), a.Token, nil),
			env.Do("POST", v1(b, "/notifications/1/read"), a.Token, nil),
			env.Do("POST", v1(b, "/accept/1"), a.Token, nil),
			env.Do("POST", v1(b, "/decline/1"), a.Token, nil),
			env.Do("DELETE", v1(b, "/1"), a.Token, nil),
		} {
			wantV1Error(t, r, 403, "Forbidden", "Not authorized to act for this user")
		}
	})
	t.Run("user_not_found", func(t *testing.T) {
		wantV1Error(t, env.Do("POST", v1(a, "/request"), a.Token, map[string]string{"receiver_id": "0123456789abcdef01234567"}),
			404, "Resource not found", "User with ID '0123456789abcdef01234567' does not exist")
	})
	t.Run("per_page_default_10_max_50", func(t *testing.T) {
		m := env.Do("GET", v1(b, "/received?per_page=50"), b.Token, nil).Want(200).JSON()
		if m["pagination"].(map[string]any)["per_page"] != 50.0 {
			t.Fatalf("per_page 50 = %v", m)
		}
		env.Do("GET", v1(b, "/received?per_page=51"), b.Token, nil).WantError(400, "invalid_per_page")
		env.Do("GET", v1(b, "/received?page=0"), b.Token, nil).WantError(400, "invalid_page")
	})
	t.Run("bad_input", func(t *testing.T) {
		env.Do("POST", v1(a, "/request"), a.Token, map[string]string{}).WantError(400, "invalid_receiver_id")
		env.Do("POST", v1(a, "/request"), a.Token, map[string]string{"receiver_id": a.ID}).WantError(400, "self_reference")
		env.Do("POST", v1(a, "/request"), a.Token, nil).WantError(400, "empty_body")
		env.Do("POST", v1(b, "/accept/abc"), b.Token, nil).WantError(400, "invalid_request_id")
		env.Do("POST", v1(b, "/accept/0"), b.Token, nil).WantError(400, "invalid_request_id")
		env.Do("GET", v1(a, "/active"), "", nil).WantError(401, "")
	})
	t.Run("handle_user_blocking", func(t *testing.T) {
		d := env.Register("Player D")
		num := v1Request(t, env, d, a, "")
		env.Do("POST", "/users/"+d.ID+"/block", a.Token, nil).Want(200)
		env.Do("POST", "/users/"+d.ID+"/block", a.Token, nil).Want(200)
		wantV1Error(t, env.Do("POST", v1(a, fmt.Sprintf("/accept/%d", num)), a.Token, nil), 404, "Resource not found",
			fmt.Sprintf("Connection request with ID '%d' does not exist", num))
		wantV1Error(t, env.Do("POST", v1(d, "/request"), d.Token, map[string]string{"receiver_id": a.ID}), 404, "Resource not found",
			fmt.Sprintf("User with ID '%s' does not exist", a.ID))
	})
}
