package rest_test

import (
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

type participantJSON struct {
	ID         string `json:"_id"`
	User       string `json:"user"`
	IsAdmin    bool   `json:"isAdmin"`
	Status     string `json:"status"`
	LastReadAt string `json:"lastReadAt"`
}

func score(t *testing.T, env *servertest.Env, u servertest.User) int {
	t.Helper()
	rows := feed(t, env, "user:"+u.ID)
	c, ok := rows["score/"+u.ID]
	if !ok {
		return 0
	}
	var s struct {
		Score int `json:"score"`
	}
	if err := jsonUnmarshal(c.Data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Score
}

func TestJoinChat(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("adds_the_caller_as_participant", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Open", nil)
		var body struct {
			Participant participantJSON `json:"participant"`
		}
		env.Do("POST", "/chats/"+c.ID+"/participants", ben.Token, map[string]any{"socket": socketA}).Want(201).Decode(&body)
		if body.Participant.User != ben.ID || body.Participant.IsAdmin || body.Participant.LastReadAt == "" {
			t.Fatalf("participant = %+v", body.Participant)
		}
		if !bucketMembers(t, env, "chat:"+c.ID)[ben.ID] {
			t.Fatal("not a member of the chat bucket")
		}
		if _, ok := feed(t, env, "user:"+ben.ID)["membership/"+c.ID]; !ok {
			t.Fatal("no membership row")
		}
	})

	t.Run("socket_notifies_chat_joined", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Open", nil)
		env.Do("POST", "/chats/"+c.ID+"/participants", ben.Token, map[string]any{"socket": socketA}).Want(201)
		if eventSocket(t, env, social.EventChatJoined, "chat:"+c.ID) != ben.ID+":"+socketA {
			t.Fatal("no chat-joined to the chat's audience (which includes the joiner), or the socket was not excluded")
		}
	})

	t.Run("updates_join_group_chat_score", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Open", nil)
		env.Do("POST", "/chats/"+c.ID+"/participants", ben.Token, nil).Want(201)
		if got := score(t, env, ben); got != 5 /* join-group-chat points, docs/DECISIONS.md */ {
			t.Fatalf("score = %d", got)
		}
		if !hasEvent(t, env, social.EventScoreUpdated, "user:"+ben.ID) {
			t.Fatal("no score-updated")
		}
	})

	t.Run("join_group_chat_scores_once_per_chat", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Open", nil)
		other := group(t, env, amy, "Other", nil)
		for range 3 {
			env.Do("POST", "/chats/"+c.ID+"/participants", ben.Token, nil).Want(201)
			env.Do("DELETE", "/chats/"+c.ID+"/participants/"+ben.ID, ben.Token, nil).Want(204)
		}
		one := 5 /* join-group-chat points, docs/DECISIONS.md */
		if got := score(t, env, ben); got != one {
			t.Fatalf("score after joining one chat three times = %d, want %d", got, one)
		}
		env.Do("POST", "/chats/"+other.ID+"/participants", ben.Token, nil).Want(201)
		if got := score(t, env, ben); got != 2*one {
			t.Fatalf("score after joining a second chat = %d, want %d", got, 2*one)
		}
		// Joining again by an accepted request earns nothing either.
		putChat(t, env, amy, c.ID, map[string]string{"restricted": "true"}, nil).Want(200)
		r := askToJoin(t, env, ben, c.ID)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "accepted"}).Want(200)
		if got := score(t, env, ben); got != 2*one {
			t.Fatalf("score after rejoining by request = %d, want %d", got, 2*one)
		}
	})

	t.Run("chat_should_not_be_restricted", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Closed", map[string]any{"restricted": true})
		env.Do("POST", "/chats/"+c.ID+"/participants", ben.Token, nil).WantError(403, "chat_restricted")
	})

	t.Run("user_should_not_be_a_participant_already", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		c := group(t, env, amy, "Open", nil)
		env.Do("POST", "/chats/"+c.ID+"/participants", amy.Token, nil).WantError(409, "already_participant")
	})

	t.Run("chat_must_be_a_group", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
		c := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		env.Do("POST", "/chats/"+c.ID+"/participants", cat.Token, nil).WantError(409, "not_group_chat")
		env.Do("POST", "/chats/0123456789abcdef01234567/participants", cat.Token, nil).WantError(404, "chat_not_found")
		env.Do("POST", "/chats/"+c.ID+"/participants", cat.Token, map[string]any{"socket": "bad"}).WantError(400, "invalid_socket")
	})
}

func TestAddParticipants(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	setup := func(t *testing.T) (*servertest.Env, servertest.User, servertest.User, servertest.User, chatJSON) {
		env := shared.For(t)
		amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
		c := group(t, env, amy, "G", nil, ben)
		return env, amy, ben, cat, c
	}
	t.Run("adds_only_users_not_in_the_chat", func(t *testing.T) {
		env, amy, ben, cat, c := setup(t)
		plainConnection(t, env, amy, cat)
		var body struct {
			Participants []participantJSON `json:"participants"`
		}
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{ben.ID, cat.ID}}).Want(201).Decode(&body)
		if len(body.Participants) != 1 || body.Participants[0].User != cat.ID {
			t.Fatalf("added = %+v", body.Participants)
		}
		if !bucketMembers(t, env, "chat:"+c.ID)[cat.ID] {
			t.Fatal("cat not in bucket")
		}
	})
	t.Run("socket_and_push_notify_chat_joined", func(t *testing.T) {
		env, amy, _, cat, c := setup(t)
		follow(t, env, amy, cat)
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{cat.ID}}).Want(201)
		if !hasEvent(t, env, social.EventChatJoined, "chat:"+c.ID) || !bucketMembers(t, env, "chat:"+c.ID)[cat.ID] {
			t.Fatal("no chat-joined event to the chat's audience")
		}
		if !hasPush(t, env, cat, social.EventChatJoined) {
			t.Fatal("no push")
		}
	})
	t.Run("user_must_be_chat_admin", func(t *testing.T) {
		env, _, ben, cat, c := setup(t)
		follow(t, env, ben, cat)
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", ben.Token, map[string]any{"participants": []string{cat.ID}}).WantError(403, "not_admin")
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", cat.Token, map[string]any{"participants": []string{ben.ID}}).WantError(403, "not_participant")
	})
	t.Run("chat_must_be_group_chat", func(t *testing.T) {
		env, amy, ben, cat, _ := setup(t)
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		follow(t, env, amy, cat)
		env.Do("POST", "/chats/"+d.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{cat.ID}}).WantError(409, "not_group_chat")
	})
	t.Run("participants_must_be_followed_or_connected", func(t *testing.T) {
		env, amy, _, cat, c := setup(t)
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{cat.ID}}).WantError(403, "participant_not_allowed")
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{}}).WantError(400, "invalid_participants")
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{"x"}}).WantError(400, "invalid_participants")
		env.Do("POST", "/chats/"+c.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{"0123456789abcdef01234567"}}).WantError(404, "user_not_found")
	})
}

func TestRemoveParticipant(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	setup := func(t *testing.T) (*servertest.Env, servertest.User, servertest.User, servertest.User, chatJSON) {
		env := shared.For(t)
		amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
		c := group(t, env, amy, "G", nil, ben, cat)
		return env, amy, ben, cat, c
	}
	pid := func(t *testing.T, c chatJSON, u servertest.User) string {
		for _, p := range c.Participants {
			if userID(t, p.User) == u.ID {
				return p.ID
			}
		}
		t.Fatalf("%s not in chat", u.Name)
		return ""
	}
	t.Run("user_can_remove_itself_without_being_admin", func(t *testing.T) {
		env, _, ben, _, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+ben.ID, ben.Token, map[string]any{"socket": socketA}).Want(204)
		env.Do("GET", "/chats/"+c.ID, ben.Token, nil).WantError(403, "not_participant")
		if eventSocket(t, env, social.EventChatParticipantRemoved, "user:"+ben.ID) != ben.ID+":"+socketA {
			t.Fatal("the leaver's other devices are not told")
		}
		if bucketMembers(t, env, "chat:"+c.ID)[ben.ID] {
			t.Fatal("still in bucket")
		}
		if row := feed(t, env, "user:"+ben.ID)["membership/"+c.ID]; row.Op != "delete" {
			t.Fatalf("membership row %+v", row)
		}
	})
	t.Run("participant_id_or_user_id_both_work", func(t *testing.T) {
		env, amy, ben, _, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+pid(t, c, ben), amy.Token, nil).Want(204)
		env.Do("GET", "/chats/"+c.ID, ben.Token, nil).WantError(403, "not_participant")
		if got := wantBucketIsParticipants(t, env, c.ID); len(got) != 2 {
			t.Fatalf("participants after removing ben by participant id: %v", got)
		}
	})
	t.Run("removing_others_needs_admin", func(t *testing.T) {
		env, _, ben, cat, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+cat.ID, ben.Token, nil).WantError(403, "not_admin")
		if got := wantBucketIsParticipants(t, env, c.ID); len(got) != 3 {
			t.Fatalf("a refused removal changed the participants: %v", got)
		}
	})
	t.Run("user_and_participant_must_belong_to_the_chat", func(t *testing.T) {
		env, amy, _, _, c := setup(t)
		out := env.Register("Out")
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+amy.ID, out.Token, nil).WantError(403, "not_participant")
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+out.ID, amy.Token, nil).WantError(404, "participant_not_found")
	})
	t.Run("chat_must_be_group_chat", func(t *testing.T) {
		env, amy, ben, _, _ := setup(t)
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		env.Do("DELETE", "/chats/"+d.ID+"/participants/"+ben.ID, amy.Token, nil).WantError(409, "not_group_chat")
	})
	t.Run("at_least_one_admin_remains", func(t *testing.T) {
		env, amy, ben, _, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+amy.ID, amy.Token, nil).WantError(409, "last_admin")
		if got := decodeChat(t, env.Do("GET", "/chats/"+c.ID, amy.Token, nil).Want(200)); !got.AreYouAdmin || got.ParticipantsCount != 3 {
			t.Fatalf("after a refused departure: admin %v, %d participants", got.AreYouAdmin, got.ParticipantsCount)
		}
		// With a second admin, the first may leave, and then the second is the last.
		env.Do("POST", "/chats/"+c.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(200)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+amy.ID, amy.Token, nil).Want(204)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+ben.ID, ben.Token, nil).WantError(409, "last_admin")
		if n := adminCount(t, env, c.ID); n != 1 {
			t.Fatalf("%d admins", n)
		}
	})
	t.Run("removed_by_an_admin_gets_chat_access_removed_by_push", func(t *testing.T) {
		env, amy, ben, cat, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+ben.ID, amy.Token, map[string]any{"socket": socketA}).Want(204)
		if !hasPush(t, env, ben, social.EventChatAccessRemoved) || !hasEvent(t, env, social.EventChatAccessRemoved, "user:"+ben.ID) {
			t.Fatal("no chat-access-removed")
		}
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+cat.ID, cat.Token, nil).Want(204)
		if hasPush(t, env, cat, social.EventChatAccessRemoved) {
			t.Fatal("leaving oneself is not pushed")
		}
	})
	t.Run("other_participants_get_chat_participant_removed", func(t *testing.T) {
		env, amy, ben, _, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+ben.ID, amy.Token, map[string]any{"socket": socketA}).Want(204)
		if eventSocket(t, env, social.EventChatParticipantRemoved, "chat:"+c.ID) != amy.ID+":"+socketA {
			t.Fatal("no chat-participant-removed to the chat, or the socket was not excluded")
		}
	})
}

func TestChatAdmin(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	setup := func(t *testing.T) (*servertest.Env, servertest.User, servertest.User, chatJSON) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		return env, amy, ben, c
	}
	t.Run("grant_admin_access", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		var body struct {
			Participant participantJSON `json:"participant"`
		}
		env.Do("POST", "/chats/"+c.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(200).Decode(&body)
		if !body.Participant.IsAdmin {
			t.Fatal("not admin")
		}
		if !hasEvent(t, env, social.EventChatAdminGranted, "user:"+ben.ID) {
			t.Fatal("no chat-admin-access-granted")
		}
		if got := decodeChat(t, env.Do("GET", "/chats/"+c.ID, ben.Token, nil).Want(200)); !got.AreYouAdmin {
			t.Fatal("ben is not admin")
		}
		env.Do("POST", "/chats/"+c.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).WantError(409, "already_admin")
	})
	t.Run("grant_needs_an_admin_of_a_group", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		env.Do("POST", "/chats/"+c.ID+"/participants/"+amy.ID+"/admin", ben.Token, nil).WantError(403, "not_admin")
		env.Do("POST", "/chats/"+c.ID+"/participants/"+amy.ID+"/admin", amy.Token, nil).WantError(403, "own_admin_access")
		env.Do("POST", "/chats/"+c.ID+"/participants/0123456789abcdef01234567/admin", amy.Token, nil).WantError(404, "participant_not_found")
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		env.Do("POST", "/chats/"+d.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).WantError(409, "not_group_chat")
	})
	t.Run("revoke_admin_access", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		env.Do("POST", "/chats/"+c.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(200)
		var body struct {
			Participant participantJSON `json:"participant"`
		}
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+amy.ID+"/admin", ben.Token, nil).Want(200).Decode(&body)
		if body.Participant.IsAdmin || body.Participant.User != amy.ID {
			t.Fatalf("%+v", body.Participant)
		}
		if !hasEvent(t, env, social.EventChatAdminRemoved, "user:"+amy.ID) {
			t.Fatal("no chat-admin-access-removed")
		}
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+amy.ID+"/admin", ben.Token, nil).WantError(409, "not_an_admin")
	})
	t.Run("user_cannot_remove_its_own_admin_access", func(t *testing.T) {
		env, amy, _, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+amy.ID+"/admin", amy.Token, nil).WantError(403, "own_admin_access")
	})
	t.Run("revoke_needs_an_admin", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+amy.ID+"/admin", ben.Token, nil).WantError(403, "not_admin")
		env.Do("DELETE", "/chats/"+c.ID+"/participants/"+amy.ID+"/admin", env.Register("Cy").Token, nil).WantError(403, "not_participant")
	})
}

func TestDeleteChat(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("deletes_messages_files_and_the_event", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		now := env.Clock.Now()
		c := group(t, env, amy, "Party", map[string]any{"category": "Event", "event": map[string]any{"startsAt": now, "endsAt": now.Add(time.Hour)}}, ben)
		env.Do("POST", "/chats/"+c.ID+"/messages", ben.Token, map[string]any{"text": "x", "files": []map[string]any{{"url": "https://x.test/a.mp4"}}}).Want(201)
		env.Do("DELETE", "/chats/"+c.ID, amy.Token, map[string]any{"socket": socketA}).Want(204)
		env.Do("GET", "/chats/"+c.ID, amy.Token, nil).WantError(404, "chat_not_found")
		env.Do("GET", "/chats/"+c.ID+"/messages", amy.Token, nil).WantError(404, "chat_not_found")
		for _, table := range []string{"messages", "chat_files", "chat_events", "chat_participants"} {
			var n int
			if err := rawDB(t, env).QueryRow(`SELECT count(*) FROM `+table+` WHERE chat_id = ?`, c.ID).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%s: %d rows left (%v)", table, n, err)
			}
		}
		if len(bucketMembers(t, env, "chat:"+c.ID)) != 0 {
			t.Fatal("bucket still has members")
		}
	})
	t.Run("socket_event_to_other_users_and_the_callers_other_devices", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		env.Do("DELETE", "/chats/"+c.ID, amy.Token, map[string]any{"socket": socketA}).Want(204)
		if !hasEvent(t, env, social.EventChatDeleted, "user:"+ben.ID) {
			t.Fatal("ben not told")
		}
		if eventSocket(t, env, social.EventChatDeleted, "user:"+amy.ID) != amy.ID+":"+socketA {
			t.Fatal("caller's devices not told or socket not excluded")
		}
		if row := feed(t, env, "user:"+ben.ID)["membership/"+c.ID]; row.Op != "delete" {
			t.Fatal("no membership tombstone")
		}
	})
	t.Run("join_requests_and_their_notifications_go_too", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", map[string]any{"restricted": true})
		r := askToJoin(t, env, ben, c.ID)
		env.Do("DELETE", "/chats/"+c.ID, amy.Token, nil).Want(204)
		for _, u := range []servertest.User{amy, ben} {
			if row := feed(t, env, "user:"+u.ID)["request/"+r.ID]; row.Op != "delete" {
				t.Fatalf("%s: request row %+v", u.Name, row)
			}
		}
		if len(notifications(t, env, amy, social.EventChatJoinRequest)) != 0 {
			t.Fatal("join-request notification kept")
		}
		env.Do("GET", "/requests/"+r.ID, ben.Token, nil).WantError(404, "request_not_found")
	})
	t.Run("user_must_be_chat_admin_of_a_group", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		env.Do("DELETE", "/chats/"+c.ID, ben.Token, nil).WantError(403, "not_admin")
		env.Do("DELETE", "/chats/"+c.ID, env.Register("Cy").Token, nil).WantError(403, "not_participant")
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		env.Do("DELETE", "/chats/"+d.ID, amy.Token, nil).WantError(409, "not_group_chat")
		env.Do("DELETE", "/chats/0123456789abcdef01234567", amy.Token, nil).WantError(404, "chat_not_found")
	})
}

func TestChatJoinedPayload(t *testing.T) {
	t.Parallel()
	t.Run("one_shape_for_every_way_of_joining", func(t *testing.T) {
		env := servertest.New(t)
		amy, ben, cat, dan := env.Register("Amy"), env.Register("Ben"), env.Register("Cat"), env.Register("Dan")
		open := group(t, env, amy, "Open", nil)
		closed := group(t, env, amy, "Closed", map[string]any{"restricted": true})
		env.Do("POST", "/chats/"+open.ID+"/participants", ben.Token, nil).Want(201)
		follow(t, env, amy, cat)
		env.Do("POST", "/chats/"+open.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{cat.ID}}).Want(201)
		r := askToJoin(t, env, dan, closed.ID)
		env.Do("PATCH", "/requests/"+r.ID, amy.Token, map[string]any{"status": "accepted"}).Want(200)
		check := func(chatID string, want ...servertest.User) {
			t.Helper()
			evs := eventsNamed(t, env, social.EventChatJoined, "chat:"+chatID)
			if len(evs) != len(want) {
				t.Fatalf("chat %s: %d chat-joined events, want %d", chatID, len(evs), len(want))
			}
			for i, e := range evs {
				parts, _ := e["participants"].([]any)
				if e["chat"] != chatID || len(parts) != 1 || parts[0].(map[string]any)["user"] != want[i].ID {
					t.Fatalf("chat-joined payload %v, want {chat, participants: [%s]}", e, want[i].Name)
				}
			}
		}
		check(open.ID, ben, cat)
		check(closed.ID, dan)
	})
}
