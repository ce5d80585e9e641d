package rest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

func TestNotifications(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob, cat, dan := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan")
	request(t, env, bob, amy)
	request(t, env, cat, amy)
	request(t, env, dan, amy)
	env.Do("POST", "/connections/"+dan.ID+"/accept", amy.Token, nil).Want(200) // dismisses dan's request notification

	var list struct {
		Notifications []map[string]any `json:"notifications"`
		Count         int              `json:"count"`
		UnreadCount   int              `json:"unreadCount"`
	}
	t.Run("lists_undismissed_newest_first", func(t *testing.T) {
		env.Do("GET", "/notifications", amy.Token, nil).Want(200).Decode(&list)
		if list.Count != 2 || list.UnreadCount != 2 || len(list.Notifications) != 2 {
			t.Fatalf("list = %+v", list)
		}
		n := list.Notifications[0]
		if n["type"] != "connection-request" || n["actor"] != cat.ID || n["read"] != false || n["subjectType"] != "connection" {
			t.Fatalf("newest = %v", n)
		}
	})
	t.Run("paging", func(t *testing.T) {
		m := env.Do("GET", "/notifications?limit=1&page=2", amy.Token, nil).Want(200).JSON()
		if l := m["notifications"].([]any); len(l) != 1 || l[0].(map[string]any)["actor"] != bob.ID || m["count"] != 2.0 {
			t.Fatalf("page 2 = %v", m)
		}
	})
	t.Run("read_one", func(t *testing.T) {
		id := list.Notifications[0]["_id"].(string)
		m := env.Do("POST", "/notifications/"+id+"/read", amy.Token, nil).Want(200).JSON()
		if m["notification"].(map[string]any)["read"] != true {
			t.Fatalf("read = %v", m)
		}
		if c := feedData(t, env, "user:"+amy.ID, "notification/"+id); c["read"] != true {
			t.Fatalf("replicated notification = %v", c)
		}
		m = env.Do("GET", "/notifications?unread=true", amy.Token, nil).Want(200).JSON()
		if l := m["notifications"].([]any); len(l) != 1 || m["count"] != 1.0 || m["unreadCount"] != 1.0 {
			t.Fatalf("unread = %v", m)
		}
		env.Do("POST", "/notifications/"+id+"/read", amy.Token, nil).Want(200) // twice is fine
	})
	t.Run("read_someone_elses", func(t *testing.T) {
		id := list.Notifications[0]["_id"].(string)
		env.Do("POST", "/notifications/"+id+"/read", bob.Token, nil).WantError(404, "notification_not_found")
		env.Do("POST", "/notifications/0123456789abcdef01234567/read", amy.Token, nil).WantError(404, "notification_not_found")
		env.Do("POST", "/notifications/nope/read", amy.Token, nil).WantError(400, "invalid_id")
	})
	t.Run("read_all", func(t *testing.T) {
		m := env.Do("POST", "/notifications/read-all", amy.Token, nil).Want(200).JSON()
		if m["updated"] != 1.0 {
			t.Fatalf("read-all = %v", m)
		}
		if m := env.Do("GET", "/notifications", amy.Token, nil).Want(200).JSON(); m["unreadCount"] != 0.0 {
			t.Fatalf("after read-all = %v", m)
		}
		for k, c := range feed(t, env, "user:"+amy.ID) {
			if strings.HasPrefix(k, "notification/") && c.Op == "upsert" && !strings.Contains(string(c.Data), `"read":true`) {
				t.Fatalf("replicated notification still unread after read-all: %s", c.Data)
			}
		}
		if m := env.Do("POST", "/notifications/read-all", amy.Token, nil).Want(200).JSON(); m["updated"] != 0.0 {
			t.Fatalf("second read-all = %v", m)
		}
	})
	t.Run("hidden_while_a_block_lasts", func(t *testing.T) {
		// amy accepted dan's request: dan holds a connection-accepted
		// notification caused by amy.
		m := env.Do("GET", v1(dan, "/notifications"), dan.Token, nil).Want(200).JSON()
		list := m["notifications"].([]any)
		if len(list) != 1 || m["unread_count"] != 1.0 {
			t.Fatalf("dan's notifications = %v", m)
		}
		num := int64(list[0].(map[string]any)["id"].(float64))
		env.Do("POST", "/users/"+dan.ID+"/block", amy.Token, nil).Want(200)
		for _, path := range []string{v1(dan, "/notifications"), "/notifications"} {
			m := env.Do("GET", path, dan.Token, nil).Want(200).JSON()
			if len(m["notifications"].([]any)) != 0 || m["unread_count"] != nil && m["unread_count"] != 0.0 || m["unreadCount"] != nil && m["unreadCount"] != 0.0 {
				t.Fatalf("%s while amy blocks dan = %v", path, m)
			}
		}
		env.Do("POST", v1(dan, fmt.Sprintf("/notifications/%d/read", num)), dan.Token, nil).WantErrorTitled(404, "Resource not found", "notification_not_found")
		replicated := func() (live, gone int) {
			for k, c := range feed(t, env, "user:"+dan.ID) {
				if strings.HasPrefix(k, "notification/") {
					if c.Op == "delete" {
						gone++
					} else if strings.Contains(string(c.Data), `"actor":"`+amy.ID+`"`) {
						live++
					}
				}
			}
			return live, gone
		}
		if live, gone := replicated(); live != 0 || gone != 1 {
			t.Fatalf("dan's replica while blocked: %d notifications from amy, %d tombstones; want 0 and 1", live, gone)
		}
		if m := env.Do("POST", "/notifications/read-all", dan.Token, nil).Want(200).JSON(); m["updated"] != 0.0 {
			t.Fatalf("read-all touched a hidden notification: %v", m)
		}
		if live, gone := replicated(); live != 0 || gone != 1 {
			t.Fatalf("read-all brought a hidden notification back into dan's replica (%d live, %d tombstones)", live, gone)
		}
		env.Do("DELETE", "/users/"+dan.ID+"/block", amy.Token, nil).Want(200)
		if live, gone := replicated(); live != 1 || gone != 0 {
			t.Fatalf("dan's replica after unblock: %d notifications from amy, %d tombstones; want 1 and 0", live, gone)
		}
		n := env.Do("GET", v1(dan, "/notifications"), dan.Token, nil).Want(200).JSON()["notifications"].([]any)[0].(map[string]any)
		if n["other_user"].(map[string]any)["client_user_id"] != amy.ID || n["connection_request_id"] == nil || n["read"] != false {
			t.Fatalf("after unblock = %v", n)
		}
	})
	t.Run("bad_query", func(t *testing.T) {
		env.Do("GET", "/notifications?unread=maybe", amy.Token, nil).WantError(400, "invalid_unread")
		env.Do("GET", "/notifications", "", nil).WantError(401, "")
	})
}

func TestUserScore(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob, cat := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")
	connect(t, env, amy, bob)

	t.Run("score_and_actions", func(t *testing.T) {
		var sc struct {
			Score   int              `json:"score"`
			Actions []map[string]any `json:"actions"`
		}
		env.Do("GET", "/users/"+amy.ID+"/score", bob.Token, nil).Want(200).Decode(&sc)
		if sc.Score != 12 || len(sc.Actions) != 2 {
			t.Fatalf("amy's score = %+v", sc)
		}
		var seen = map[string]float64{}
		for _, a := range sc.Actions {
			seen[a["action"].(string)] = a["points"].(float64)
		}
		if seen["create-meetme-request"] != 2 || seen["add-new-friend"] != 10 {
			t.Fatalf("actions = %v", sc.Actions)
		}
	})
	t.Run("none_yet", func(t *testing.T) {
		m := env.Do("GET", "/users/me/score", cat.Token, nil).Want(200).JSON()
		if m["score"] != 0.0 || len(m["actions"].([]any)) != 0 {
			t.Fatalf("cat's score = %v", m)
		}
	})
	t.Run("errors", func(t *testing.T) {
		env.Do("GET", "/users/nope/score", amy.Token, nil).WantError(400, "invalid_id")
		env.Do("GET", "/users/0123456789abcdef01234567/score", amy.Token, nil).WantError(404, "user_not_found")
		env.Do("POST", "/users/"+cat.ID+"/block", amy.Token, nil).Want(http.StatusOK)
		env.Do("GET", "/users/"+amy.ID+"/score", cat.Token, nil).WantError(404, "user_not_found")
	})
}
