package rest_test

import (
	"encoding/json"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

type requestJSON struct {
	ID        string          `json:"_id"`
	User      json.RawMessage `json:"user"`
	Chat      json.RawMessage `json:"chat"`
	Status    string          `json:"status"`
	CreatedAt string          `json:"createdAt"`
}

func askToJoin(t *testing.T, env *servertest.Env, u servertest.User, chatID string) requestJSON {
	t.Helper()
	var body struct {
		Request requestJSON `json:"request"`
	}
	env.Do("POST", "/requests", u.Token, map[string]any{"chat": chatID}).Want(201).Decode(&body)
	return body.Request
}

// notifications returns the notifications in u's bucket by type.
func notifications(t *testing.T, env *servertest.Env, u servertest.User, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for k, c := range feed(t, env, "user:"+u.ID) {
		if len(k) < 13 || k[:13] != "notification/" || c.Op != "upsert" {
			continue
		}
		var n map[string]any
		if err := json.Unmarshal(c.Data, &n); err != nil {
			t.Fatal(err)
		}
		if n["type"] == typ {
			out = append(out, n)
		}
	}
	return out
}

func TestCreateRequest(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	setup := func(t *testing.T) (*servertest.Env, servertest.User, servertest.User, chatJSON) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Closed", map[string]any{"restricted": true})
		return env, amy, ben, c
	}
	t.Run("creates_a_pending_request", func(t *testing.T) {
		env, _, ben, c := setup(t)
		r := askToJoin(t, env, ben, c.ID)
		if r.Status != "pending" || userID(t, r.User) != ben.ID || userID(t, r.Chat) != c.ID || r.ID == "" || r.CreatedAt == "" {
			t.Fatalf("request = %+v", r)
		}
	})
	t.Run("notifies_the_chat_admins_with_chat_join_request", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		askToJoin(t, env, ben, c.ID)
		if !hasEvent(t, env, social.EventChatJoinRequest, "user:"+amy.ID) {
			t.Fatal("no live event")
		}
		if len(notifications(t, env, amy, social.EventChatJoinRequest)) != 1 {
			t.Fatal("no notification")
		}
		if !hasPush(t, env, amy, social.EventChatJoinRequest) {
			t.Fatal("no push")
		}
	})
	t.Run("a_previous_pending_request_must_not_exist", func(t *testing.T) {
		env, _, ben, c := setup(t)
		askToJoin(t, env, ben, c.ID)
		env.Do("POST", "/requests", ben.Token, map[string]any{"chat": c.ID}).WantError(409, "request_exists")
	})
	t.Run("chat_group_must_be_restricted", func(t *testing.T) {
		env, amy, ben, _ := setup(t)
		open := group(t, env, amy, "Open", nil)
		env.Do("POST", "/requests", ben.Token, map[string]any{"chat": open.ID}).WantError(409, "chat_not_restricted")
	})
	t.Run("chat_must_be_group_chat", func(t *testing.T) {
		env, amy, ben, _ := setup(t)
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": env.Register("Cy").ID}).Want(201))
		env.Do("POST", "/requests", ben.Token, map[string]any{"chat": d.ID}).WantError(409, "not_group_chat")
	})
	t.Run("user_must_not_be_a_participant", func(t *testing.T) {
		env, amy, _, c := setup(t)
		env.Do("POST", "/requests", amy.Token, map[string]any{"chat": c.ID}).WantError(409, "already_participant")
	})
	t.Run("bad_input", func(t *testing.T) {
		env, _, ben, _ := setup(t)
		env.Do("POST", "/requests", ben.Token, map[string]any{}).WantError(400, "invalid_chat")
		env.Do("POST", "/requests", ben.Token, map[string]any{"chat": "x"}).WantError(400, "invalid_chat")
		env.Do("POST", "/requests", ben.Token, map[string]any{"chat": "0123456789abcdef01234567"}).WantError(404, "chat_not_found")
	})
}

func TestAnswerRequest(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	setup := func(t *testing.T) (*servertest.Env, servertest.User, servertest.User, chatJSON, requestJSON) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Closed", map[string]any{"restricted": true})
		return env, amy, ben, c, askToJoin(t, env, ben, c.ID)
	}
	t.Run("accepted_adds_the_participant", func(t *testing.T) {
		env, amy, ben, c, r := setup(t)
		var body struct {
			Request requestJSON `json:"request"`
		}
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "accepted", "socket": socketA}).Want(200).Decode(&body)
		if body.Request.Status != "accepted" {
			t.Fatalf("%+v", body.Request)
		}
		env.Do("GET", "/chats/"+c.ID, ben.Token, nil).Want(200)
		if !bucketMembers(t, env, "chat:"+c.ID)[ben.ID] {
			t.Fatal("not in bucket")
		}
	})
	t.Run("notifies_the_user_with_chat_request_accepted", func(t *testing.T) {
		env, amy, ben, _, r := setup(t)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "accepted"}).Want(200)
		if !hasEvent(t, env, social.EventChatRequestAccepted, "user:"+ben.ID) || len(notifications(t, env, ben, social.EventChatRequestAccepted)) != 1 {
			t.Fatal("ben not told")
		}
		if !hasPush(t, env, ben, social.EventChatRequestAccepted) {
			t.Fatal("no push")
		}
	})
	t.Run("marks_the_join_request_notification_dismissed", func(t *testing.T) {
		env, amy, _, _, r := setup(t)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "rejected"}).Want(200)
		ns := notifications(t, env, amy, social.EventChatJoinRequest)
		if len(ns) != 1 || ns[0]["dismissed"] != true {
			t.Fatalf("notifications = %v", ns)
		}
	})
	t.Run("accepting_dismisses_every_admins_join_request_notification", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cy := env.Register("Amy"), env.Register("Ben"), env.Register("Cy")
		c := group(t, env, amy, "Closed", map[string]any{"restricted": true}, cy)
		env.Do("POST", "/chats/"+c.ID+"/participants/"+cy.ID+"/admin", amy.Token, nil).Want(200)
		r := askToJoin(t, env, ben, c.ID)
		for _, admin := range []servertest.User{amy, cy} {
			if ns := notifications(t, env, admin, social.EventChatJoinRequest); len(ns) != 1 || ns[0]["dismissed"] == true {
				t.Fatalf("%s before: %v", admin.Name, ns)
			}
		}
		env.Do("PATCH", "/requests/"+r.ID, cy.Token, map[string]any{"status": "accepted"}).Want(200)
		for _, admin := range []servertest.User{amy, cy} {
			if ns := notifications(t, env, admin, social.EventChatJoinRequest); len(ns) != 1 || ns[0]["dismissed"] != true {
				t.Fatalf("%s after: %v", admin.Name, ns)
			}
		}
	})
	t.Run("accepted_updates_join_group_chat_score", func(t *testing.T) {
		env, amy, ben, _, r := setup(t)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "accepted"}).Want(200)
		if score(t, env, ben) != 5 /* join-group-chat points, docs/DECISIONS.md */ || !hasEvent(t, env, social.EventScoreUpdated, "user:"+ben.ID) {
			t.Fatal("score not updated")
		}
	})
	t.Run("rejected_does_not_add", func(t *testing.T) {
		env, amy, ben, c, r := setup(t)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "rejected"}).Want(200)
		env.Do("GET", "/chats/"+c.ID, ben.Token, nil).WantError(403, "not_participant")
		if score(t, env, ben) != 0 {
			t.Fatal("scored a rejection")
		}
		askToJoin(t, env, ben, c.ID) // a new request is allowed once the old one is answered
	})
	t.Run("previous_status_must_be_pending", func(t *testing.T) {
		env, amy, _, _, r := setup(t)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "rejected"}).Want(200)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "accepted"}).WantError(409, "request_not_pending")
	})
	t.Run("user_must_belong_to_the_chat_and_be_admin", func(t *testing.T) {
		env, amy, ben, c, r := setup(t)
		env.Do("PATCH", "/requests/"+r.ID, ben.Token, map[string]any{"status": "accepted"}).WantError(403, "not_participant")
		cy := env.Register("Cy")
		follow(t, env, amy, cy)
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{cy.ID}}).Want(201)
		env.Do("PATCH", "/requests/"+r.ID, cy.Token, map[string]any{"status": "accepted"}).WantError(403, "not_admin")
	})
	t.Run("bad_input", func(t *testing.T) {
		env, amy, _, _, r := setup(t)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "maybe"}).WantError(400, "invalid_status")
		env.Do("PATCH", "/requests/x", amy.Token, map[string]any{"status": "accepted"}).WantError(400, "invalid_id")
		env.Do("PATCH", "/requests/0123456789abcdef01234567", amy.Token, map[string]any{"status": "accepted"}).WantError(404, "request_not_found")
	})
}

func TestGetRequests(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, ben, cy := env.Register("Amy"), env.Register("Ben"), env.Register("Cy")
	amys := group(t, env, amy, "Amy's", map[string]any{"restricted": true})
	bens := group(t, env, ben, "Ben's", map[string]any{"restricted": true})
	toAmy := askToJoin(t, env, ben, amys.ID)
	fromAmy := askToJoin(t, env, amy, bens.ID)
	cyToAmy := askToJoin(t, env, cy, amys.ID)
	env.Do("PATCH", "/requests/"+cyToAmy.ID, amy.Token, map[string]any{"status": "rejected"}).Want(200)
	list := func(u servertest.User, q string) ([]requestJSON, int) {
		var body struct {
			Requests []requestJSON `json:"requests"`
			Count    int           `json:"count"`
		}
		env.Do("GET", "/requests"+q, u.Token, nil).Want(200).Decode(&body)
		return body.Requests, body.Count
	}
	t.Run("lists_sent_and_received_requests", func(t *testing.T) {
		rs, n := list(amy, "")
		if n != 3 || len(rs) != 3 {
			t.Fatalf("%d %+v", n, rs)
		}
		var chat struct {
			ID          string `json:"_id"`
			Name        string `json:"name"`
			AreYouAdmin bool   `json:"areYouAdmin"`
		}
		var user struct {
			Name string `json:"name"`
		}
		for _, r := range rs {
			if r.ID == toAmy.ID {
				if err := json.Unmarshal(r.Chat, &chat); err != nil || chat.Name != "Amy's" || !chat.AreYouAdmin {
					t.Fatalf("chat %s", r.Chat)
				}
				if err := json.Unmarshal(r.User, &user); err != nil || user.Name != "Ben" {
					t.Fatalf("user %s", r.User)
				}
			}
		}
	})
	t.Run("type_and_status_filters", func(t *testing.T) {
		if rs, n := list(amy, "?type=sent"); n != 1 || rs[0].ID != fromAmy.ID {
			t.Fatalf("sent %d", n)
		}
		if _, n := list(amy, "?type=received"); n != 2 {
			t.Fatalf("received %d", n)
		}
		if rs, n := list(amy, "?type=received&status=rejected"); n != 1 || rs[0].ID != cyToAmy.ID {
			t.Fatalf("rejected %d", n)
		}
		if _, n := list(amy, "?status=pending&limit=1"); n != 2 {
			t.Fatalf("pending %d", n)
		}
		env.Do("GET", "/requests?status=done", amy.Token, nil).WantError(400, "invalid_status")
		env.Do("GET", "/requests?type=all", amy.Token, nil).WantError(400, "invalid_type")
	})
	t.Run("a_request_is_visible_to_its_sender_and_the_chat_admins", func(t *testing.T) {
		env.Do("GET", "/requests/"+toAmy.ID, ben.Token, nil).Want(200)
		var body struct {
			Request requestJSON `json:"request"`
		}
		env.Do("GET", "/requests/"+toAmy.ID, amy.Token, nil).Want(200).Decode(&body)
		if body.Request.ID != toAmy.ID || body.Request.Status != "pending" {
			t.Fatalf("%+v", body.Request)
		}
		env.Do("GET", "/requests/"+toAmy.ID, cy.Token, nil).WantError(404, "request_not_found")
		env.Do("GET", "/requests/x", cy.Token, nil).WantError(400, "invalid_id")
	})
}

func TestRequestsFollowAdminAccess(t *testing.T) {
	t.Parallel()
	t.Run("a_new_admin_receives_the_chats_requests_and_a_former_one_loses_them", func(t *testing.T) {
		env := servertest.New(t)
		amy, ben, cy := env.Register("Amy"), env.Register("Ben"), env.Register("Cy")
		c := group(t, env, amy, "Closed", map[string]any{"restricted": true}, ben)
		r := askToJoin(t, env, cy, c.ID)
		row := func() (string, string) {
			t.Helper()
			ch, ok := feed(t, env, "user:"+ben.ID)["request/"+r.ID]
			if !ok {
				return "", ""
			}
			var body struct {
				User struct {
					Name string `json:"name"`
				} `json:"user"`
			}
			jsonUnmarshal(ch.Data, &body)
			return string(ch.Op), body.User.Name
		}
		if op, _ := row(); op != "" {
			t.Fatalf("a participant who is not an admin holds the request (%s)", op)
		}
		env.Do("POST", "/chats/"+c.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(200)
		if op, name := row(); op != "upsert" || name != "Cy" {
			t.Fatalf("new admin: request row %q, user %q", op, name)
		}
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(200)
		if op, _ := row(); op != "delete" {
			t.Fatalf("revoked admin: request row %q", op)
		}
		env.Do("POST", "/chats/"+c.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(200)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+ben.ID, ben.Token, nil).Want(204)
		if op, _ := row(); op != "delete" {
			t.Fatalf("admin who left: request row %q", op)
		}
		// The requester keeps theirs throughout.
		if ch := feed(t, env, "user:"+cy.ID)["request/"+r.ID]; ch.Op != "upsert" {
			t.Fatalf("requester's row %q", ch.Op)
		}
	})
}

// TestJoinRequestProfiles: a join request brings its sender's profile into
// each admin's bucket; it leaves with the admin rights, and comes with new
// ones; renames reach it; and a deleted chat takes it away.
func TestJoinRequestProfiles(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, cal, ben := env.Register("Amy"), env.Register("Cal"), env.Register("Ben")
	c := group(t, env, amy, "Closed", map[string]any{"restricted": true}, cal)
	askToJoin(t, env, ben, c.ID)
	liveOf := func(bucket, id string) bool {
		row, ok := feed(t, env, bucket)["user/"+id]
		return ok && row.Op == "upsert"
	}
	live := func(bucket string) bool { return liveOf(bucket, ben.ID) }
	if !live("user:"+amy.ID) || live("user:"+cal.ID) {
		t.Fatalf("ben's profile: in amy's bucket %v, in cal's %v; want only amy's", live("user:"+amy.ID), live("user:"+cal.ID))
	}
	env.Do("POST", "/chats/"+c.ID+"/participants/"+cal.ID+"/admin", amy.Token, nil).Want(200)
	if !live("user:" + cal.ID) {
		t.Fatal("a new admin did not get the requester's profile")
	}
	env.Do("PATCH", "/users/me", ben.Token, map[string]string{"name": "Benjamin"}).Want(200)
	if u := feedData(t, env, "user:"+cal.ID, "user/"+ben.ID); u["name"] != "Benjamin" {
		t.Fatalf("cal's bucket holds ben as %v", u)
	}
	env.Do("DELETE", "/chats/"+c.ID+"/participants/"+cal.ID+"/admin", amy.Token, nil).Want(200)
	if live("user:" + cal.ID) {
		t.Fatal("a revoked admin kept the requester's profile")
	}
	if !liveOf("chat:"+c.ID, amy.ID) || !liveOf("chat:"+c.ID, cal.ID) {
		t.Fatal("the chat's bucket lacks its participants' profiles")
	}
	env.Do("DELETE", "/chats/"+c.ID, amy.Token, nil).Want(204)
	if live("user:" + amy.ID) {
		t.Fatal("the requester's profile outlived the chat's requests")
	}
	if liveOf("chat:"+c.ID, amy.ID) || liveOf("chat:"+c.ID, cal.ID) {
		t.Fatal("a deleted chat's bucket still holds profiles")
	}
}
