package rest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
)

// meetMe gives u an active meet-me status and returns its id.
func meetMe(t *testing.T, env *servertest.Env, u servertest.User) string {
	t.Helper()
	var body struct {
		Status struct {
			ID string `json:"_id"`
		} `json:"status"`
	}
	env.Do("PUT", "/users/me/status", u.Token, map[string]any{"text": "Up for coffee", "durationMinutes": 60}).Want(200).Decode(&body)
	return body.Status.ID
}

// request has from ask to (who is given a status first) through spec/1
// and returns the connection's _id.
func request(t *testing.T, env *servertest.Env, from, to servertest.User) string {
	t.Helper()
	meetMe(t, env, to)
	return env.Do("POST", "/connections/"+to.ID, from.Token, nil).Want(http.StatusCreated).JSON()["connection"].(map[string]any)["_id"].(string)
}

// connect makes from and to connected and returns the connection's _id.
func connect(t *testing.T, env *servertest.Env, from, to servertest.User) string {
	t.Helper()
	id := request(t, env, from, to)
	env.Do("POST", "/connections/"+from.ID+"/accept", to.Token, nil).Want(200)
	return id
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

// feedData decodes the replicated form of entity/id in bucket (nil when
// absent or a tombstone).
func feedData(t *testing.T, env *servertest.Env, bucket, key string) map[string]any {
	t.Helper()
	c, ok := feed(t, env, bucket)[key]
	if !ok || c.Data == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(c.Data, &m); err != nil {
		t.Fatalf("feed %s %s: %v", bucket, key, err)
	}
	return m
}

func scoreOf(t *testing.T, env *servertest.Env, u servertest.User) float64 {
	t.Helper()
	m := feedData(t, env, "user:"+u.ID, "score/"+u.ID)
	if m == nil {
		return 0
	}
	return m["score"].(float64)
}

func TestCreateConnection(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	statusID := meetMe(t, env, bob)

	t.Run("creates_a_new_connection", func(t *testing.T) {
		r := env.Do("POST", "/connections/"+bob.ID, amy.Token, map[string]string{"message": "Hi Bob"}).Want(http.StatusCreated)
		c := r.JSON()["connection"].(map[string]any)
		if keys(c) != "_id,createdAt,from,status,to" || c["from"] != amy.ID || c["to"] != bob.ID || c["status"] != "pending" {
			t.Fatalf("connection = %s", r.Body)
		}
		rec := feedData(t, env, "user:"+amy.ID, "connection/"+c["_id"].(string))
		if rec == nil || feedData(t, env, "user:"+bob.ID, "connection/"+c["_id"].(string)) == nil {
			t.Fatal("connection not replicated to both users' buckets")
		}
		if rec["statusDetail"] != statusID || rec["message"] != "Hi Bob" {
			t.Fatalf("replicated record = %v, want statusDetail %s", rec, statusID)
		}
	})
	t.Run("notify_user_with_event_connection_request", func(t *testing.T) {
		evs := eventsNamed(t, env, "connection-request", "user:"+bob.ID)
		if len(evs) != 1 || evs[0]["connection"].(map[string]any)["from"].(map[string]any)["_id"] != amy.ID {
			t.Fatalf("connection-request events = %v", evs)
		}
		if evs := eventsNamed(t, env, "connection-request", "user:"+amy.ID); len(evs) != 0 {
			t.Fatalf("connection-request sent to the sender: %v", evs)
		}
		var n int
		for k, c := range feed(t, env, "user:"+bob.ID) {
			if strings.HasPrefix(k, "notification/") && strings.Contains(string(c.Data), `"connection-request"`) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("bob has %d request notifications, want 1", n)
		}
	})
	t.Run("update_create_meetme_request_score", func(t *testing.T) {
		if got := scoreOf(t, env, amy); got != 2 {
			t.Fatalf("amy's score = %v, want 2", got)
		}
		evs := eventsNamed(t, env, "score-updated", "user:"+amy.ID)
		if len(evs) != 1 || evs[0]["action"] != "create-meetme-request" {
			t.Fatalf("score-updated events = %v", evs)
		}
	})
	t.Run("same_status_detail_is_rejected", func(t *testing.T) {
		env.Do("POST", "/connections/"+bob.ID, amy.Token, nil).WantError(409, "request_exists")
	})
	t.Run("different_status_detail_updates_it", func(t *testing.T) {
		newStatus := meetMe(t, env, bob)
		r := env.Do("POST", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusOK)
		id := r.JSON()["connection"].(map[string]any)["_id"].(string)
		if rec := feedData(t, env, "user:"+bob.ID, "connection/"+id); rec["statusDetail"] != newStatus {
			t.Fatalf("statusDetail = %v, want %s", rec["statusDetail"], newStatus)
		}
		if got := scoreOf(t, env, amy); got != 2 {
			t.Fatalf("an update scored again: %v", got)
		}
		var n int
		for k, c := range feed(t, env, "user:"+bob.ID) {
			if strings.HasPrefix(k, "notification/") && c.Op == "upsert" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("bob has %d live notifications, want the one replacing the old", n)
		}
	})
	t.Run("target_must_have_a_status", func(t *testing.T) {
		cat := env.Register("Cat")
		env.Do("POST", "/connections/"+cat.ID, amy.Token, nil).WantError(409, "no_active_status")
	})
	t.Run("target_status_must_not_be_expired", func(t *testing.T) {
		dan := env.Register("Dan")
		env.Do("PUT", "/users/me/status", dan.Token, map[string]any{"text": "now", "durationMinutes": 1}).Want(200)
		env.Clock.Advance(time.Minute)
		env.Do("POST", "/connections/"+dan.ID, amy.Token, nil).WantError(409, "no_active_status")
	})
	t.Run("user_id_can_not_be_the_current_user", func(t *testing.T) {
		meetMe(t, env, amy)
		env.Do("POST", "/connections/"+amy.ID, amy.Token, nil).WantError(400, "self_reference")
	})
	t.Run("handle_user_blocking", func(t *testing.T) {
		eve := env.Register("Eve")
		meetMe(t, env, eve)
		env.Do("POST", "/users/"+amy.ID+"/block", eve.Token, nil).Want(200)
		env.Do("POST", "/connections/"+eve.ID, amy.Token, nil).WantError(404, "user_not_found")
		env.Do("POST", "/connections/"+amy.ID, eve.Token, nil).WantError(404, "user_not_found")
	})
	t.Run("already_connected", func(t *testing.T) {
		fay := env.Register("Fay")
		connect(t, env, amy, fay)
		meetMe(t, env, fay)
		env.Do("POST", "/connections/"+fay.ID, amy.Token, nil).WantError(409, "already_connected")
		env.Do("POST", "/connections/"+amy.ID, fay.Token, nil).WantError(409, "already_connected")
	})
	t.Run("already_connected_wins_over_a_missing_status", func(t *testing.T) {
		gus := env.Register("Gus")
		connect(t, env, amy, gus)
		env.Do("DELETE", "/users/me/status", gus.Token, nil).Want(http.StatusNoContent)
		env.Do("POST", "/connections/"+gus.ID, amy.Token, nil).WantError(409, "already_connected")
	})
	t.Run("request_from_the_target_is_pending", func(t *testing.T) {
		env.Do("POST", "/connections/"+amy.ID, bob.Token, nil).WantError(409, "request_received")
		env.Do("DELETE", "/users/me/status", amy.Token, nil).Want(http.StatusNoContent)
		env.Do("POST", "/connections/"+amy.ID, bob.Token, nil).WantError(409, "request_received")
	})
	t.Run("bad_input", func(t *testing.T) {
		env.Do("POST", "/connections/nope", amy.Token, nil).WantError(400, "invalid_user_id")
		env.Do("POST", "/connections/0123456789abcdef01234567", amy.Token, nil).WantError(404, "user_not_found")
		env.Do("POST", "/connections/"+bob.ID, amy.Token, map[string]string{"message": strings.Repeat("x", 501)}).WantError(400, "invalid_message")
		env.Do("POST", "/connections/"+bob.ID, amy.Token, `{"message": 5}`).WantError(400, "invalid_message")
		env.Do("POST", "/connections/"+bob.ID, "", nil).WantError(401, "")
	})
}

func TestRequestAfterDecline(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	id := request(t, env, amy, bob)
	env.Do("DELETE", "/connections/"+amy.ID, bob.Token, nil).Want(http.StatusNoContent) // bob declines

	t.Run("same_status_is_rejected", func(t *testing.T) {
		env.Do("POST", "/connections/"+bob.ID, amy.Token, nil).WantError(409, "request_processed")
	})
	t.Run("newer_status_reopens", func(t *testing.T) {
		meetMe(t, env, bob)
		r := env.Do("POST", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusCreated)
		c := r.JSON()["connection"].(map[string]any)
		if c["_id"] != id || c["status"] != "pending" {
			t.Fatalf("reopened = %s", r.Body)
		}
	})
	t.Run("the_decliner_may_ask_back", func(t *testing.T) {
		env.Do("DELETE", "/connections/"+amy.ID, bob.Token, nil).Want(http.StatusNoContent)
		meetMe(t, env, amy)
		c := env.Do("POST", "/connections/"+amy.ID, bob.Token, nil).Want(http.StatusCreated).JSON()["connection"].(map[string]any)
		if c["from"] != bob.ID || c["to"] != amy.ID || c["status"] != "pending" {
			t.Fatalf("turned-around request = %v", c)
		}
	})
}

func TestAcceptConnection(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	id := request(t, env, amy, bob)

	t.Run("user_must_belong_to_the_to_field", func(t *testing.T) {
		env.Do("POST", "/connections/"+bob.ID+"/accept", amy.Token, nil).WantError(403, "not_recipient")
	})
	t.Run("user_must_belong_to_that_connection", func(t *testing.T) {
		cat := env.Register("Cat")
		env.Do("POST", "/connections/"+amy.ID+"/accept", cat.Token, nil).WantError(404, "connection_not_found")
	})
	t.Run("user_id_should_not_be_the_current_user", func(t *testing.T) {
		env.Do("POST", "/connections/"+bob.ID+"/accept", bob.Token, nil).WantError(400, "self_reference")
	})
	t.Run("accepts_and_deletes_expired_statuses_of_both_users", func(t *testing.T) {
		env.Do("PUT", "/users/me/status", amy.Token, map[string]any{"text": "a", "durationMinutes": 1}).Want(200)
		env.Do("PUT", "/users/me/status", bob.Token, map[string]any{"text": "b", "durationMinutes": 1}).Want(200)
		env.Clock.Advance(time.Minute)
		before := map[string]int64{}
		for _, u := range []string{amy.ID, bob.ID} {
			before[u] = feed(t, env, "user:"+u)["user/"+u].Seq
		}
		r := env.Do("POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(200)
		c := r.JSON()["connection"].(map[string]any)
		if keys(c) != "_id,acceptedAt,createdAt,from,status,to" || c["_id"] != id || c["status"] != "accepted" || c["from"] != amy.ID {
			t.Fatalf("accepted = %s", r.Body)
		}
		for _, u := range []string{amy.ID, bob.ID} {
			row := feed(t, env, "user:"+u)["user/"+u]
			if row.Seq <= before[u] || strings.Contains(string(row.Data), `"status"`) {
				t.Fatalf("profile of %s not replicated without its expired status: %s", u, row.Data)
			}
		}
	})
	t.Run("notify_user_with_event_connection_accepted", func(t *testing.T) {
		for _, u := range []string{amy.ID, bob.ID} {
			evs := eventsNamed(t, env, "connection-accepted", "user:"+u)
			if len(evs) != 1 || evs[0]["connection"].(map[string]any)["status"] != "accepted" {
				t.Fatalf("connection-accepted to user:%s = %v", u, evs)
			}
			if rec := feedData(t, env, "user:"+u, "connection/"+id); rec["status"] != "accepted" || rec["acceptedAt"] == nil {
				t.Fatalf("replicated record in user:%s = %v", u, rec)
			}
		}
		var accepted, dismissed int
		for k, c := range feed(t, env, "user:"+amy.ID) {
			if strings.HasPrefix(k, "notification/") && strings.Contains(string(c.Data), `"connection-accepted"`) {
				accepted++
			}
		}
		for k, c := range feed(t, env, "user:"+bob.ID) {
			if strings.HasPrefix(k, "notification/") && strings.Contains(string(c.Data), `"dismissed":true`) {
				dismissed++
			}
		}
		if accepted != 1 || dismissed != 1 {
			t.Fatalf("sender has %d accepted notifications, recipient %d dismissed requests; want 1 and 1", accepted, dismissed)
		}
	})
	t.Run("update_add_new_friend_score_of_both", func(t *testing.T) {
		if a, b := scoreOf(t, env, amy), scoreOf(t, env, bob); a != 12 || b != 10 {
			t.Fatalf("scores amy %v bob %v, want 12 and 10", a, b)
		}
		for _, u := range []string{amy.ID, bob.ID} {
			var friend bool
			for _, e := range eventsNamed(t, env, "score-updated", "user:"+u) {
				friend = friend || e["action"] == "add-new-friend"
			}
			if !friend {
				t.Fatalf("no add-new-friend score-updated for %s", u)
			}
		}
	})
	t.Run("connection_should_not_be_accepted", func(t *testing.T) {
		env.Do("POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).WantError(409, "already_connected")
	})
	t.Run("declined_is_already_processed", func(t *testing.T) {
		cat := env.Register("Cat")
		request(t, env, cat, bob)
		env.Do("DELETE", "/connections/"+cat.ID, bob.Token, nil).Want(http.StatusNoContent)
		env.Do("POST", "/connections/"+cat.ID+"/accept", bob.Token, nil).WantError(409, "request_processed")
	})
	t.Run("handle_user_blocking", func(t *testing.T) {
		dan := env.Register("Dan")
		request(t, env, dan, amy)
		env.Do("POST", "/users/"+amy.ID+"/block", dan.Token, nil).Want(200)
		env.Do("POST", "/connections/"+dan.ID+"/accept", amy.Token, nil).WantError(404, "user_not_found")
	})
	t.Run("no_request", func(t *testing.T) {
		eve := env.Register("Eve")
		env.Do("POST", "/connections/"+eve.ID+"/accept", amy.Token, nil).WantError(404, "connection_not_found")
		env.Do("POST", "/connections/nope/accept", amy.Token, nil).WantError(400, "invalid_user_id")
	})
}

func TestDeleteConnection(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob, cat := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")

	t.Run("creator_deletes_pending_and_its_notification", func(t *testing.T) {
		id := request(t, env, amy, bob)
		var note string
		for k, c := range feed(t, env, "user:"+bob.ID) {
			if strings.HasPrefix(k, "notification/") && c.Op == "upsert" {
				note = k
			}
		}
		env.Do("DELETE", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusNoContent)
		if c := feed(t, env, "user:"+bob.ID)[note]; note == "" || c.Op != "delete" {
			t.Fatalf("request notification %q not deleted (op %q)", note, c.Op)
		}
		for _, u := range []string{amy.ID, bob.ID} {
			if c := feed(t, env, "user:"+u)["connection/"+id]; c.Op != "delete" {
				t.Fatalf("connection row in user:%s op %q, want delete", u, c.Op)
			}
		}
		if got := env.Do("GET", "/connections", bob.Token, nil).Want(200).JSON()["count"]; got != 0.0 {
			t.Fatalf("bob's connections after cancel = %v", got)
		}
		for _, u := range []string{amy.ID, bob.ID} {
			if evs := eventsNamed(t, env, "connection-removed", "user:"+u); len(evs) != 1 || evs[0]["_id"] != id {
				t.Fatalf("connection-removed to user:%s = %v", u, evs)
			}
		}
	})
	t.Run("recipient_declines_pending", func(t *testing.T) {
		id := request(t, env, amy, bob)
		env.Do("DELETE", "/connections/"+amy.ID, bob.Token, nil).Want(http.StatusNoContent)
		for _, u := range []string{amy.ID, bob.ID} {
			if rec := feedData(t, env, "user:"+u, "connection/"+id); rec["status"] != "declined" || rec["respondedAt"] == nil {
				t.Fatalf("record in user:%s after recipient's delete = %v", u, rec)
			}
			if evs := eventsNamed(t, env, "connection-declined", "user:"+u); len(evs) != 1 {
				t.Fatalf("connection-declined events to user:%s = %v", u, evs)
			}
		}
		var declined int
		for k, c := range feed(t, env, "user:"+amy.ID) {
			if strings.HasPrefix(k, "notification/") && strings.Contains(string(c.Data), `"connection-declined"`) {
				declined++
			}
		}
		if declined != 1 {
			t.Fatalf("sender has %d declined notifications, want 1", declined)
		}
		env.Do("DELETE", "/connections/"+amy.ID, bob.Token, nil).WantError(409, "request_processed")
	})
	t.Run("connection_with_meet_me_should_not_be_accepted", func(t *testing.T) {
		connect(t, env, amy, cat)
		env.Do("DELETE", "/connections/"+cat.ID, amy.Token, nil).WantError(409, "connection_accepted")
		env.Do("DELETE", "/connections/"+amy.ID, cat.Token, nil).WantError(409, "connection_accepted")
	})
	t.Run("delete_expired_statuses_of_both_users", func(t *testing.T) {
		dan := env.Register("Dan")
		request(t, env, dan, amy)
		env.Do("PUT", "/users/me/status", dan.Token, map[string]any{"text": "d", "durationMinutes": 1}).Want(200)
		env.Clock.Advance(2 * time.Minute)
		before := feed(t, env, "user:"+dan.ID)["user/"+dan.ID].Seq
		env.Do("DELETE", "/connections/"+amy.ID, dan.Token, nil).Want(http.StatusNoContent)
		if row := feed(t, env, "user:"+dan.ID)["user/"+dan.ID]; strings.Contains(string(row.Data), `"status"`) || row.Seq <= before {
			t.Fatalf("expired status of dan not removed: %s", row.Data)
		}
	})
	t.Run("user_must_belong_to_that_connection", func(t *testing.T) {
		eve := env.Register("Eve")
		env.Do("DELETE", "/connections/"+eve.ID, amy.Token, nil).WantError(404, "connection_not_found")
	})
	t.Run("user_id_should_not_be_the_current_user", func(t *testing.T) {
		env.Do("DELETE", "/connections/"+amy.ID, amy.Token, nil).WantError(400, "self_reference")
	})
	t.Run("handle_user_blocking", func(t *testing.T) {
		fay := env.Register("Fay")
		request(t, env, fay, amy)
		env.Do("POST", "/users/"+fay.ID+"/block", amy.Token, nil).Want(200)
		env.Do("DELETE", "/connections/"+amy.ID, fay.Token, nil).WantError(404, "user_not_found")
	})
}

func TestListConnections(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob, cat, dan := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan")
	connect(t, env, bob, amy)
	env.Clock.Advance(time.Second)
	request(t, env, amy, cat)
	env.Clock.Advance(time.Second)
	request(t, env, dan, amy)
	env.Do("DELETE", "/connections/"+dan.ID, amy.Token, nil).Want(http.StatusNoContent) // declined: not listed

	t.Run("returns_all_connections_of_the_user", func(t *testing.T) {
		var body struct {
			Connections []map[string]any `json:"connections"`
			Count       int              `json:"count"`
		}
		env.Do("GET", "/connections", amy.Token, nil).Want(200).Decode(&body)
		if body.Count != 2 || len(body.Connections) != 2 {
			t.Fatalf("list = %+v", body)
		}
		pending, accepted := body.Connections[0], body.Connections[1]
		if keys(pending) != "_id,createdAt,from,status,to,user" || pending["status"] != "pending" {
			t.Fatalf("pending item = %v", pending)
		}
		if keys(accepted) != "_id,acceptedAt,createdAt,from,status,to,user" || accepted["status"] != "accepted" {
			t.Fatalf("accepted item = %v", accepted)
		}
		from := accepted["from"].(map[string]any)
		if from["_id"] != bob.ID || from["name"] != "Bob" || from["username"] != bob.Username {
			t.Fatalf("from not populated: %v", from)
		}
		if accepted["user"].(map[string]any)["_id"] != bob.ID || pending["user"].(map[string]any)["_id"] != cat.ID {
			t.Fatal("user is not the other party")
		}
	})
	t.Run("as_per_pagination", func(t *testing.T) {
		m := env.Do("GET", "/connections?limit=1&page=2", amy.Token, nil).Want(200).JSON()
		list := m["connections"].([]any)
		if len(list) != 1 || m["count"] != 2.0 || list[0].(map[string]any)["status"] != "accepted" {
			t.Fatalf("page 2 = %v", m)
		}
		env.Do("GET", "/connections?limit=0", amy.Token, nil).WantError(400, "invalid_limit")
		env.Do("GET", "/connections?page=x", amy.Token, nil).WantError(400, "invalid_page")
	})
	t.Run("status_filter", func(t *testing.T) {
		for status, want := range map[string]string{"pending": cat.ID, "accepted": bob.ID} {
			m := env.Do("GET", "/connections?status="+status, amy.Token, nil).Want(200).JSON()
			if got := ids(m["connections"], "_id"); len(got) != 1 || m["connections"].([]any)[0].(map[string]any)["user"].(map[string]any)["_id"] != want {
				t.Fatalf("status=%s: %v", status, m)
			}
		}
		env.Do("GET", "/connections?status=declined", amy.Token, nil).WantError(400, "invalid_status")
	})
	t.Run("blocked_users_disappear", func(t *testing.T) {
		env.Do("POST", "/users/"+bob.ID+"/block", amy.Token, nil).Want(200)
		if m := env.Do("GET", "/connections", amy.Token, nil).Want(200).JSON(); m["count"] != 1.0 {
			t.Fatalf("amy's list while blocking bob = %v", m)
		}
		if m := env.Do("GET", "/connections", bob.Token, nil).Want(200).JSON(); m["count"] != 0.0 {
			t.Fatalf("bob's list while blocked = %v", m)
		}
		env.Do("DELETE", "/users/"+bob.ID+"/block", amy.Token, nil).Want(200)
		if m := env.Do("GET", "/connections?status=accepted", bob.Token, nil).Want(200).JSON(); m["count"] != 1.0 {
			t.Fatalf("accepted connection not back after unblock: %v", m)
		}
	})
}

func TestBlockRemovesPendingConnection(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	id := request(t, env, amy, bob)
	env.Do("POST", "/users/"+amy.ID+"/block", bob.Token, nil).Want(200)
	env.Do("DELETE", "/users/"+amy.ID+"/block", bob.Token, nil).Want(200)
	if m := env.Do("GET", "/connections", bob.Token, nil).Want(200).JSON(); m["count"] != 0.0 {
		t.Fatalf("pending request survived the block: %v", m)
	}
	for _, u := range []string{amy.ID, bob.ID} {
		if c := feed(t, env, "user:"+u)["connection/"+id]; c.Op != "delete" {
			t.Fatalf("connection row in user:%s op %q, want delete", u, c.Op)
		}
	}
	for k, c := range feed(t, env, "user:"+bob.ID) {
		if strings.HasPrefix(k, "notification/") && c.Op != "delete" {
			t.Fatalf("request notification survived the block: %s", c.Data)
		}
	}
}

func TestConnectionScoreCountsOncePerPair(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")

	t.Run("cancel_and_request_again_scores_once", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			request(t, env, amy, bob)
			env.Do("DELETE", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusNoContent)
		}
		if got := scoreOf(t, env, amy); got != 2 {
			t.Fatalf("amy's score after three request/cancel rounds = %v, want 2", got)
		}
		if evs := eventsNamed(t, env, "score-updated", "user:"+amy.ID); len(evs) != 1 {
			t.Fatalf("score-updated events = %v, want one", evs)
		}
	})
	t.Run("remove_and_connect_again_scores_once", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			num := v1Request(t, env, amy, bob, "")
			env.Do("POST", v1(bob, fmt.Sprintf("/accept/%d", num)), bob.Token, nil).Want(200)
			env.Do("DELETE", v1(amy, fmt.Sprintf("/%d", num)), amy.Token, nil).Want(200)
		}
		if a, b := scoreOf(t, env, amy), scoreOf(t, env, bob); a != 12 || b != 10 {
			t.Fatalf("scores after three connect/remove rounds: amy %v bob %v, want 12 and 10", a, b)
		}
		var sc struct {
			Actions []map[string]any `json:"actions"`
		}
		env.Do("GET", "/users/me/score", amy.Token, nil).Want(200).Decode(&sc)
		if len(sc.Actions) != 2 || sc.Actions[0]["subject"] != bob.ID {
			t.Fatalf("amy's actions = %v, want two with bob as subject", sc.Actions)
		}
	})
	t.Run("another_pair_scores_again", func(t *testing.T) {
		connect(t, env, amy, env.Register("Cat"))
		if got := scoreOf(t, env, amy); got != 24 {
			t.Fatalf("amy's score after a new friend = %v, want 24", got)
		}
	})
}

func TestConnectionListDefaults(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	for i := 0; i < 11; i++ {
		v1Request(t, env, env.Register(fmt.Sprintf("Fan %d", i)), amy, "")
		env.Clock.Advance(time.Second)
	}
	t.Run("limit_defaults_to_10_and_page_to_1", func(t *testing.T) {
		first := env.Do("GET", "/connections", amy.Token, nil).Want(200).JSON()
		if len(first["connections"].([]any)) != 10 || first["count"] != 11.0 {
			t.Fatalf("default page = %d items of %v", len(first["connections"].([]any)), first["count"])
		}
		page1 := env.Do("GET", "/connections?page=1&limit=10", amy.Token, nil).Want(200).JSON()
		if a, b := ids(first["connections"], "_id"), ids(page1["connections"], "_id"); strings.Join(a, ",") != strings.Join(b, ",") {
			t.Fatalf("default page differs from page 1")
		}
		if last := env.Do("GET", "/connections?page=2", amy.Token, nil).Want(200).JSON(); len(last["connections"].([]any)) != 1 {
			t.Fatalf("page 2 = %v", last)
		}
	})
	t.Run("spec4_lists_default_to_limit_10", func(t *testing.T) {
		p := env.Do("GET", "/connections/pending", amy.Token, nil).Want(200).JSON()["pagination"].(map[string]any)
		if p["limit"] != 10.0 || p["currentPage"] != 1.0 || p["totalPages"] != 2.0 || p["hasNextPage"] != true {
			t.Fatalf("pagination = %v", p)
		}
	})
	t.Run("a_page_past_the_end_is_empty", func(t *testing.T) {
		m := env.Do("GET", "/connections/pending?page=1000000&limit=100", amy.Token, nil).Want(200).JSON()
		if p := m["pagination"].(map[string]any); len(m["connections"].([]any)) != 0 || p["totalCount"] != 11.0 || p["hasNextPage"] != false {
			t.Fatalf("page past the end = %v", m)
		}
		env.Do("GET", "/connections?page=1000001", amy.Token, nil).WantError(400, "invalid_page")
	})
}

func TestProfileChangeReachesConnectionRecords(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob, cat, dan := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan")
	accepted := connect(t, env, amy, bob)
	request(t, env, cat, amy)
	hidden := connect(t, env, dan, amy)
	env.Do("POST", "/users/"+amy.ID+"/block", dan.Token, nil).Want(200)

	env.Do("PATCH", "/users/me", amy.Token, map[string]string{"name": "Amelia", "bio": "Coffee first"}).Want(200)
	// The profile travels as its own user row in each bucket that mentions
	// Amy; the connection records are not rewritten.
	for _, bucket := range []string{"user:" + amy.ID, "user:" + bob.ID, "user:" + cat.ID} {
		if u := feedData(t, env, bucket, "user/"+amy.ID); u["name"] != "Amelia" || u["bio"] != "Coffee first" {
			t.Fatalf("%s holds Amy's profile as %v, want the new one", bucket, u)
		}
	}
	if rec := feedData(t, env, "user:"+bob.ID, "connection/"+accepted); rec["from"].(map[string]any)["name"] != "Amy" {
		t.Fatalf("the connection record was rewritten: %v", rec)
	}
	rows := feed(t, env, "user:"+dan.ID)
	if row := rows["user/"+amy.ID]; row.Op != "delete" {
		t.Fatalf("a profile hidden by a block is in the blocker's bucket: %s", row.Data)
	}
	if row := rows["connection/"+hidden]; row.Op != "delete" {
		t.Fatalf("a record hidden by a block came back in the blocker's bucket: %s", row.Data)
	}
	if m := env.Do("GET", "/connections?status=accepted", bob.Token, nil).Want(200).JSON(); m["connections"].([]any)[0].(map[string]any)["user"].(map[string]any)["name"] != "Amelia" {
		t.Fatalf("bob's list = %v", m)
	}
	// Unblocking shows the record again, and with it the current profile.
	env.Do("DELETE", "/users/"+amy.ID+"/block", dan.Token, nil).Want(200)
	if u := feedData(t, env, "user:"+dan.ID, "user/"+amy.ID); u["name"] != "Amelia" {
		t.Fatalf("after unblocking, dan's bucket holds Amy as %v", u)
	}
	if u := feedData(t, env, "user:"+amy.ID, "user/"+dan.ID); u["name"] != "Dan" {
		t.Fatalf("after unblocking, amy's bucket holds Dan as %v", u)
	}
}
