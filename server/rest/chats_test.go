package rest_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

const socketA = "sock_AAAAAAAAAAAAAAAA"

func TestCreateChat(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("group_chat_creates_participants_and_creator_is_admin", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
		follow(t, env, amy, ben)
		plainConnection(t, env, cat, amy)
		r := env.Do("POST", "/chats", amy.Token, map[string]any{
			"isGroup": true, "name": "Math 101", "category": "Study", "participants": []string{ben.ID, cat.ID},
			"restricted": true, "tags": []map[string]string{{"tag": "exams", "label": "Exams"}}, "socket": socketA,
		}).Want(201)
		c := decodeChat(t, r)
		// allowPublicPost defaults to false for a restricted group (docs/DECISIONS.md).
		if !c.IsGroup || c.Name != "Math 101" || c.Category != "Study" || !c.Restricted || c.AllowPublicPost {
			t.Fatalf("chat = %+v", c)
		}
		if len(c.Tags) != 1 || c.Tags[0].Tag != "exams" || c.Tags[0].Label != "Exams" {
			t.Fatalf("tags = %+v", c.Tags)
		}
		if userID(t, c.Creator) != amy.ID {
			t.Fatalf("creator = %s", c.Creator)
		}
		admins := map[string]bool{}
		for _, p := range c.Participants {
			admins[userID(t, p.User)] = p.IsAdmin
		}
		if len(admins) != 3 || !admins[amy.ID] || admins[ben.ID] || admins[cat.ID] {
			t.Fatalf("participants = %+v", c.Participants)
		}
		members := bucketMembers(t, env, "chat:"+c.ID)
		if len(members) != 3 || !members[amy.ID] || !members[ben.ID] || !members[cat.ID] {
			t.Fatalf("bucket members = %v", members)
		}
		rows := feed(t, env, "chat:"+c.ID)
		if _, ok := rows["chat/"+c.ID]; !ok {
			t.Fatalf("no chat feed row: %v", rows)
		}
		if _, ok := feed(t, env, "user:"+ben.ID)["membership/"+c.ID]; !ok {
			t.Fatal("no membership row in ben's bucket")
		}
		// Replicated rows carry users populated, so a replica can show them.
		var chatRow struct {
			Creator struct {
				Name string `json:"name"`
			} `json:"creator"`
		}
		jsonUnmarshal(rows["chat/"+c.ID].Data, &chatRow)
		if chatRow.Creator.Name != "Amy" {
			t.Fatalf("chat row: %s", rows["chat/"+c.ID].Data)
		}
		for _, p := range c.Participants {
			var row struct {
				Chat string `json:"chat"`
				User struct {
					ID   string `json:"_id"`
					Name string `json:"name"`
				} `json:"user"`
			}
			jsonUnmarshal(rows["participant/"+p.ID].Data, &row)
			if row.Chat != c.ID || row.User.ID != userID(t, p.User) || row.User.Name == "" {
				t.Fatalf("participant row: %s", rows["participant/"+p.ID].Data)
			}
		}
	})

	t.Run("chat_created_is_sent_to_all_participants_and_the_callers_other_devices", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		group(t, env, amy, "G", map[string]any{"socket": socketA}, ben)
		for _, u := range []servertest.User{amy, ben} {
			if !hasEvent(t, env, social.EventChatCreated, "user:"+u.ID) {
				t.Fatalf("no chat-created to %s", u.Name)
			}
		}
		if s := eventSocket(t, env, social.EventChatCreated, "user:"+amy.ID); s != amy.ID+":"+socketA {
			t.Fatalf("caller's socket not excluded: %q", s)
		}
	})

	t.Run("one_to_one_chat_that_exists_answers_200_with_the_same_chat", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		first := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		again := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(200))
		back := decodeChat(t, env.Do("POST", "/chats", ben.Token, map[string]any{"user": amy.ID}).Want(200))
		if first.Name != "Ben" || back.Name != "Amy" {
			t.Fatalf("one-to-one names: %q, %q", first.Name, back.Name)
		}
		if first.ID != again.ID || first.ID != back.ID {
			t.Fatalf("ids %s %s %s", first.ID, again.ID, back.ID)
		}
		if len(first.Participants) != 2 {
			t.Fatalf("participants = %+v", first.Participants)
		}
		for _, p := range first.Participants {
			if p.IsAdmin {
				t.Fatal("one-to-one chats have no admin")
			}
		}
	})

	t.Run("user_can_not_be_the_current_user", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": amy.ID}).WantError(400, "invalid_user")
	})

	t.Run("user_is_required_when_not_a_group", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		env.Do("POST", "/chats", amy.Token, map[string]any{}).WantError(400, "invalid_user")
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": "nope"}).WantError(400, "invalid_user")
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": "0123456789abcdef01234567"}).WantError(404, "user_not_found")
	})

	t.Run("meetMe_must_be_an_accepted_connection_of_these_users", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
		pending := request(t, env, ben, amy)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID, "meetMe": pending}).WantError(409, "connection_not_accepted")
		other := connect(t, env, cat, amy)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID, "meetMe": other}).WantError(404, "connection_not_found")
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID, "meetMe": "0123456789abcdef01234567"}).WantError(404, "connection_not_found")
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID, "meetMe": "x"}).WantError(400, "invalid_meet_me")
	})

	t.Run("meetMe_status_must_exist", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		conn := connect(t, env, ben, amy)
		env.Do("DELETE", "/users/me/status", amy.Token, nil).Want(204)
		env.Do("POST", "/chats", ben.Token, map[string]any{"user": amy.ID, "meetMe": conn}).WantError(404, "status_not_found")

		cy, dee := env.Register("Cy"), env.Register("Dee")
		conn = connect(t, env, dee, cy) // Cy's status lasts an hour
		env.Clock.Advance(61 * time.Minute)
		relogin(t, env, &dee)
		env.Do("POST", "/chats", dee.Token, map[string]any{"user": cy.ID, "meetMe": conn}).WantError(404, "status_not_found")
	})

	t.Run("meetMe_chat_is_created_with_its_connection", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		conn := connect(t, env, ben, amy)
		c := decodeChat(t, env.Do("POST", "/chats", ben.Token, map[string]any{"user": amy.ID, "meetMe": conn}).Want(201))
		if c.MeetMe != conn {
			t.Fatalf("meetMe = %q", c.MeetMe)
		}
		// Either side may start it: the status belongs to one of the two.
		env2 := servertest.New(t)
		amy, ben = env2.Register("Amy"), env2.Register("Ben")
		conn = connect(t, env2, ben, amy)
		env2.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID, "meetMe": conn}).Want(201)
	})

	t.Run("meetMe_needs_a_connection_made_through_a_status", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		conn := plainConnection(t, env, ben, amy)
		env.Do("POST", "/chats", ben.Token, map[string]any{"user": amy.ID, "meetMe": conn}).WantError(409, "not_meet_me")
	})

	t.Run("name_category_and_participants_are_required_for_a_group", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "category": "Study", "participants": []string{}}).WantError(400, "invalid_name")
		env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "  ", "category": "Study", "participants": []string{}}).WantError(400, "invalid_name")
		env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "G", "participants": []string{}}).WantError(400, "invalid_category")
		env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "G", "category": "Study"}).WantError(400, "invalid_participants")
		env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "G", "category": "Study", "participants": []string{"bad"}}).WantError(400, "invalid_participants")
		env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "G", "category": "Study", "participants": "x"}).WantError(400, "invalid_participants")
		env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "G", "category": "Study", "participants": []string{"0123456789abcdef01234567"}}).WantError(404, "user_not_found")
		env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "G", "category": "Study", "participants": []string{},
			"tags": []map[string]string{{"tag": "", "label": "x"}}}).WantError(400, "invalid_tags")
	})

	t.Run("all_participants_must_be_followed_or_connected", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
		follow(t, env, ben, amy) // the other direction does not count
		body := map[string]any{"isGroup": true, "name": "G", "category": "Study", "participants": []string{ben.ID}}
		env.Do("POST", "/chats", amy.Token, body).WantError(403, "participant_not_allowed")
		pendingConnection(t, env, amy, cat)
		body["participants"] = []string{cat.ID}
		env.Do("POST", "/chats", amy.Token, body).WantError(403, "participant_not_allowed")
		follow(t, env, amy, ben)
		body["participants"] = []string{ben.ID}
		env.Do("POST", "/chats", amy.Token, body).Want(201)
	})

	t.Run("courses_category_is_never_restricted", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		c := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "C", "category": "Courses",
			"participants": []string{}, "restricted": true}).Want(201))
		if c.Restricted {
			t.Fatal("a Courses chat is restricted")
		}
	})

	t.Run("blocking_is_handled_for_one_to_one", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
		block(t, env, ben, amy)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).WantError(404, "user_not_found")
		env.Do("POST", "/chats", ben.Token, map[string]any{"user": amy.ID}).WantError(404, "user_not_found")
		c := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": cat.ID}).Want(201))
		block(t, env, cat, amy)
		env.Do("POST", "/chats/"+c.ID+"/messages", amy.Token, map[string]any{"text": "hi"}).WantError(403, "blocked")
	})

	t.Run("group_participants_are_push_notified", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		group(t, env, amy, "G", nil, ben)
		if !hasPush(t, env, ben, social.EventChatCreated) {
			t.Fatal("no push for ben")
		}
		if len(pushes(t, env, amy)) != 0 {
			t.Fatal("the creator was pushed")
		}
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": env.Register("Cy").ID}).Want(201)
	})

	t.Run("socket_id_follows_its_format", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		for _, s := range []string{"short", "has space in it here", "abcdefghijklmnopqrstuvwxyz"} {
			env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID, "socket": s}).WantError(400, "invalid_socket")
		}
	})

	t.Run("event_chat_carries_an_event", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		now := env.Clock.Now()
		// The spec's request example: category Event, no event. The
		// chat has none; where one is needed it answers no_event.
		bare := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "category": "Event",
			"name": "Math 101", "participants": []string{}, "restricted": true}).Want(201))
		if bare.Event != nil {
			t.Fatalf("event = %+v, want none", bare.Event)
		}
		env.Do("POST", "/chats/"+bare.ID+"/participants/"+amy.ID+"/status", amy.Token, map[string]string{"status": "accepted"}).WantError(409, "no_event")
		base := map[string]any{"isGroup": true, "name": "Party", "category": "Event", "participants": []string{}}
		base["event"] = map[string]any{"startsAt": now.Add(time.Hour), "endsAt": now}
		env.Do("POST", "/chats", amy.Token, base).WantError(400, "invalid_event")
		base["event"] = map[string]any{"startsAt": now.Add(-time.Hour), "endsAt": now.Add(time.Hour), "location": "Pool"}
		c := decodeChat(t, env.Do("POST", "/chats", amy.Token, base).Want(201))
		if c.Event == nil || c.Event.Location != "Pool" || !c.Event.IsActive {
			t.Fatalf("event = %+v", c.Event)
		}
		study := map[string]any{"isGroup": true, "name": "S", "category": "Study", "participants": []string{}, "event": base["event"]}
		env.Do("POST", "/chats", amy.Token, study).WantError(400, "invalid_event")
	})

	t.Run("needs_a_token_and_a_json_body", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		env.Do("POST", "/chats", "", map[string]any{}).WantError(401, "")
		env.Do("POST", "/chats", amy.Token, "{").WantError(400, "malformed_json")
		env.Do("POST", "/chats", amy.Token, nil).WantError(400, "empty_body")
	})
}

func TestGetChats(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("populates_lastMessage_unread_and_participants", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		env.Clock.Advance(time.Second)
		sendText(t, env, ben, c.ID, "one")
		env.Clock.Advance(time.Second)
		last := sendText(t, env, ben, c.ID, "two")
		sendText(t, env, amy, c.ID, "mine")
		chats, n := listChats(t, env, amy, "")
		if n != 1 || len(chats) != 1 {
			t.Fatalf("count %d, %d chats", n, len(chats))
		}
		got := chats[0]
		if got.Unread != 2 {
			t.Fatalf("unread = %d, want 2 (own messages do not count)", got.Unread)
		}
		if got.LastMessage == nil || got.LastMessage.Text != "mine" || got.LastMessage.User.Name != "Amy" {
			t.Fatalf("lastMessage = %+v", got.LastMessage)
		}
		if !got.IsJoined || !got.AreYouAdmin || got.ParticipantsCount != 2 {
			t.Fatalf("flags = %+v", got)
		}
		for _, p := range got.Participants {
			var u struct {
				Name     string `json:"name"`
				IsOnline *bool  `json:"isOnline"`
			}
			if err := jsonUnmarshal(p.User, &u); err != nil || u.Name == "" || u.IsOnline == nil {
				t.Fatalf("participant user not populated: %s", p.User)
			}
		}
		bens, _ := listChats(t, env, ben, "")
		if bens[0].Unread != 1 || bens[0].AreYouAdmin {
			t.Fatalf("ben sees %+v", bens[0])
		}
		_ = last
	})

	t.Run("filters_search_group_and_meetMeOnly", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cat := env.Register("Amy"), env.Register("Ben Stone"), env.Register("Cat")
		group(t, env, amy, "Chemistry Club", nil)
		group(t, env, amy, "Poetry", nil)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201)
		conn := connect(t, env, cat, amy)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": cat.ID, "meetMe": conn}).Want(201)

		if _, n := listChats(t, env, amy, ""); n != 4 {
			t.Fatalf("all = %d", n)
		}
		if _, n := listChats(t, env, amy, "?group=true"); n != 2 {
			t.Fatalf("groups = %d", n)
		}
		if _, n := listChats(t, env, amy, "?group=false"); n != 2 {
			t.Fatalf("one-to-one = %d", n)
		}
		chats, n := listChats(t, env, amy, "?meetMeOnly=true&group=false")
		if n != 1 || chats[0].MeetMe != conn || chats[0].User == nil || chats[0].User.ID != cat.ID || chats[0].Name != "Cat" {
			t.Fatalf("meetMeOnly = %d %+v", n, chats)
		}
		if _, n := listChats(t, env, amy, "?meetMeOnly=true&group=true"); n != 2 {
			t.Fatalf("meetMeOnly applies only to one-to-one chats; got %d", n)
		}
		chats, n = listChats(t, env, amy, "?search=chem")
		if n != 1 || chats[0].Name != "Chemistry Club" {
			t.Fatalf("search = %d %+v", n, chats)
		}
		chats, n = listChats(t, env, amy, "?search="+url.QueryEscape("stone"))
		if n != 1 || chats[0].Name != "Ben Stone" {
			t.Fatalf("search by the other user's name = %d", n)
		}
		env.Do("GET", "/chats?group=maybe", amy.Token, nil).WantError(400, "invalid_group")
		env.Do("GET", "/chats?meetMeOnly=1x", amy.Token, nil).WantError(400, "invalid_meet_me_only")
		env.Do("GET", "/chats?limit=0", amy.Token, nil).WantError(400, "invalid_limit")
	})

	t.Run("filter_combinations_and_their_counts", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cat, dan := env.Register("Amy"), env.Register("Ben Club"), env.Register("Cat"), env.Register("Dan")
		group(t, env, amy, "Club One", nil)
		group(t, env, amy, "Club Two", nil)
		group(t, env, amy, "Other", nil)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": cat.ID, "meetMe": connect(t, env, cat, amy)}).Want(201)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": dan.ID, "meetMe": connect(t, env, dan, amy)}).Want(201)
		// Someone else's chat never shows.
		group(t, env, ben, "Club Three", nil)
		for q, want := range map[string]int{
			"":                                    6,
			"?search=club":                        3, // two groups and Ben Club
			"?search=CLUB&group=true":             2,
			"?search=club&group=false":            1,
			"?meetMeOnly=true":                    2,
			"?meetMeOnly=true&group=false":        2,
			"?meetMeOnly=false&group=false":       3,
			"?meetMeOnly=true&group=true":         3,
			"?meetMeOnly=true&search=cat":         1,
			"?meetMeOnly=true&search=ben":         0,
			"?search=nothing":                     0,
			"?group=true&limit=2&page=2":          3,
			"?meetMeOnly=true&limit=1&page=2":     2,
			"?search=%25":                         0, // LIKE wildcards are literal
			"?search=_":                           0,
			"?search=club&group=true&limit=1":     2,
			"?search=club&group=true&page=9":      2,
			"?meetMeOnly=true&group=false&page=3": 2,
		} {
			chats, n := listChats(t, env, amy, q)
			if n != want {
				t.Errorf("%s: count %d, want %d", q, n, want)
			}
			if len(chats) > n {
				t.Errorf("%s: %d chats for a count of %d", q, len(chats), n)
			}
		}
		if chats, _ := listChats(t, env, amy, "?group=true&limit=2&page=2"); len(chats) != 1 {
			t.Fatalf("page 2 of 3 groups by 2: %d chats", len(chats))
		}
		if chats, _ := listChats(t, env, amy, "?search=club&group=true&page=9"); len(chats) != 0 {
			t.Fatalf("a page past the end: %d chats", len(chats))
		}
	})

	t.Run("paginates_most_recent_activity_first", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		var ids []string
		for i := 0; i < 5; i++ {
			env.Clock.Advance(time.Second)
			ids = append(ids, group(t, env, amy, fmt.Sprintf("G%d", i), nil).ID)
		}
		env.Clock.Advance(time.Second)
		sendText(t, env, amy, ids[0], "bump")
		page1, n := listChats(t, env, amy, "?limit=2&page=1")
		page3, _ := listChats(t, env, amy, "?limit=2&page=3")
		if n != 5 || len(page1) != 2 || len(page3) != 1 {
			t.Fatalf("n=%d page1=%d page3=%d", n, len(page1), len(page3))
		}
		if page1[0].ID != ids[0] || page1[1].ID != ids[4] || page3[0].ID != ids[1] {
			t.Fatalf("order: %s %s … %s", page1[0].Name, page1[1].Name, page3[0].Name)
		}
	})

	t.Run("runs_a_bounded_number_of_queries_per_page", func(t *testing.T) {
		cost := func(chats int) int64 {
			env := servertest.New(t)
			amy, ben := env.Register("Amy"), env.Register("Ben")
			follow(t, env, amy, ben)
			// Seeded through the service: the count is of the GET alone,
			// and the hundreds of writes need not cross HTTP.
			svc := env.Server.Social()
			for i := 0; i < chats; i++ {
				c, _, err := svc.CreateChat(t.Context(), social.Caller{UserID: amy.ID}, social.NewChat{IsGroup: true,
					Name: fmt.Sprintf("G%d", i), Category: "Study", Participants: &[]string{ben.ID}})
				if err != nil {
					t.Fatal(err)
				}
				env.Clock.Advance(time.Millisecond)
				if _, err := svc.SendMessage(t.Context(), social.Caller{UserID: ben.ID}, c.ID, social.NewMessage{Text: "hello"}); err != nil {
					t.Fatal(err)
				}
			}
			before := env.Server.DB().QueryCount()
			got, _ := listChats(t, env, amy, "?limit=100")
			after := env.Server.DB().QueryCount()
			if len(got) != min(chats, 100) || got[0].LastMessage == nil || got[0].Unread != 1 {
				t.Fatalf("%d chats: page of %d", chats, len(got))
			}
			return after - before
		}
		small, large := cost(10), cost(200)
		if small != large {
			t.Fatalf("GET /chats ran %d queries for 10 chats and %d for 200", small, large)
		}
		if large > 15 {
			t.Fatalf("GET /chats ran %d queries", large)
		}
	})
}

func TestChatPresence(t *testing.T) {
	t.Parallel()
	t.Run("isOnline_comes_from_live_presence", func(t *testing.T) {
		env := servertest.New(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		if got := decodeChat(t, env.Do("GET", "/chats/"+d.ID, amy.Token, nil).Want(200)); got.User == nil || got.User.IsOnline {
			t.Fatalf("ben is offline, chat shows %+v", got.User)
		}
		env.Dial(ben.Token)
		got := decodeChat(t, env.Do("GET", "/chats/"+d.ID, amy.Token, nil).Want(200))
		if got.User == nil || !got.User.IsOnline {
			t.Fatalf("ben holds a socket, chat shows %+v", got.User)
		}
		online := map[string]bool{}
		for _, p := range got.Participants {
			var u struct {
				ID       string `json:"_id"`
				IsOnline bool   `json:"isOnline"`
			}
			jsonUnmarshal(p.User, &u)
			online[u.ID] = u.IsOnline
		}
		if !online[ben.ID] || online[amy.ID] {
			t.Fatalf("participants' presence %v", online)
		}
		if chats, _ := listChats(t, env, amy, ""); chats[0].User == nil || !chats[0].User.IsOnline {
			t.Fatalf("GET /chats shows %+v", chats[0].User)
		}
		// Replicated rows are snapshots: presence is not replicated.
		sendText(t, env, ben, d.ID, "hi")
		env.Do("POST", "/chats/"+d.ID+"/read", ben.Token, nil).Want(200)
		for k, c := range feed(t, env, "chat:"+d.ID) {
			if strings.Contains(string(c.Data), `"isOnline":true`) {
				t.Fatalf("replicated %s carries presence: %s", k, c.Data)
			}
		}
	})
}

func TestGetChat(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("user_must_belong_to_that_chat", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil)
		env.Do("GET", "/chats/"+c.ID, ben.Token, nil).WantError(403, "not_participant")
		env.Do("GET", "/chats/0123456789abcdef01234567", amy.Token, nil).WantError(404, "chat_not_found")
		env.Do("GET", "/chats/zzz", amy.Token, nil).WantError(400, "invalid_id")
	})

	t.Run("one_to_one_takes_name_photo_and_user_from_the_other_participant", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		env.Clock.Advance(time.Second)
		sendText(t, env, ben, c.ID, "hey")
		got := decodeChat(t, env.Do("GET", "/chats/"+c.ID, amy.Token, nil).Want(200))
		if got.Name != "Ben" || got.User == nil || got.User.ID != ben.ID || got.User.IsOnline {
			t.Fatalf("chat = %+v", got)
		}
		if got.LastMessage == nil || got.LastMessage.Text != "hey" || got.Unread != 1 {
			t.Fatalf("lastMessage %+v unread %d", got.LastMessage, got.Unread)
		}
		back := decodeChat(t, env.Do("GET", "/chats/"+c.ID, ben.Token, nil).Want(200))
		if back.Name != "Amy" || back.User.ID != amy.ID {
			t.Fatalf("ben sees %+v", back)
		}
	})
}
