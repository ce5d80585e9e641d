package rest_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

func relogin(t *testing.T, env *servertest.Env, u *servertest.User) {
	t.Helper()
	var body struct {
		AccessToken string `json:"accessToken"`
	}
	env.Do("POST", "/auth/login", "", map[string]string{"username": u.Username, "password": u.Password}).Want(200).Decode(&body)
	u.Token = body.AccessToken
}

func explore(t *testing.T, env *servertest.Env, u servertest.User, q string) ([]chatJSON, int) {
	t.Helper()
	var body struct {
		Chats []chatJSON `json:"chats"`
		Count int        `json:"count"`
	}
	env.Do("GET", "/chats/explore/communities"+q, u.Token, nil).Want(200).Decode(&body)
	return body.Chats, body.Count
}

func postReel(t *testing.T, env *servertest.Env, u servertest.User, chatID string, extra map[string]any) reelJSON {
	t.Helper()
	body := map[string]any{"chat": chatID, "description": "fun", "tag": "Party", "video": "https://cdn.test/r.mp4", "hashtags": []string{"pool"}}
	for k, v := range extra {
		body[k] = v
	}
	var out struct {
		Reel reelJSON `json:"reel"`
	}
	env.Do("POST", "/reels", u.Token, body).Want(201).Decode(&out)
	return out.Reel
}

func TestExploreCommunities(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("search_is_required_with_at_least_3_characters", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		env.Do("GET", "/chats/explore/communities", amy.Token, nil).WantError(400, "invalid_search")
		env.Do("GET", "/chats/explore/communities?search=ab", amy.Token, nil).WantError(400, "invalid_search")
		env.Do("GET", "/chats/explore/communities?search=abc&reelsLimit=-1", amy.Token, nil).WantError(400, "invalid_reels_limit")
		explore(t, env, amy, "?search=abc")
	})
	t.Run("matches_name_and_category", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		group(t, env, amy, "Pool Party", map[string]any{"category": "Music"})
		group(t, env, amy, "Pool Study", nil)
		group(t, env, amy, "Chess", nil)
		env.Do("POST", "/chats", amy.Token, map[string]any{"user": env.Register("Poolman").ID}).Want(201)
		if _, n := explore(t, env, ben, "?search=pool"); n != 2 {
			t.Fatalf("pool: %d (one-to-one chats are not communities)", n)
		}
		chats, n := explore(t, env, ben, "?search=pool&category=Music")
		if n != 1 || chats[0].Name != "Pool Party" || chats[0].IsJoined || chats[0].AreYouAdmin || chats[0].ParticipantsCount != 1 {
			t.Fatalf("category: %d %+v", n, chats)
		}
		mine, _ := explore(t, env, amy, "?search=pool&category=Music")
		if !mine[0].IsJoined || !mine[0].AreYouAdmin {
			t.Fatalf("owner flags %+v", mine[0])
		}
	})
	t.Run("trending_counts_recent_messages_and_joins", func(t *testing.T) {
		env := shared.For(t)
		amy, ben, cy := env.Register("Amy"), env.Register("Ben"), env.Register("Cy")
		// Created so that neither id order nor latest activity gives the
		// trending order.
		busy := group(t, env, amy, "Club Busy", nil)
		env.Clock.Advance(time.Second)
		quiet := group(t, env, amy, "Club Quiet", nil)
		env.Clock.Advance(time.Second)
		old := group(t, env, amy, "Club Old", nil)
		env.Clock.Advance(time.Second)
		for i := 0; i < 5; i++ {
			sendText(t, env, amy, old.ID, "long ago")
		}
		env.Clock.Advance(8 * 24 * time.Hour)
		relogin(t, env, &amy)
		relogin(t, env, &ben)
		relogin(t, env, &cy)
		sendText(t, env, amy, busy.ID, "now")
		sendText(t, env, amy, busy.ID, "now")
		env.Do("POST", "/chats/"+quiet.ID+"/participants", cy.Token, nil).Want(201)
		chats, _ := explore(t, env, ben, "?search=club")
		if len(chats) != 3 || chats[0].ID != busy.ID || chats[1].ID != quiet.ID || chats[2].ID != old.ID {
			t.Fatalf("order: %s, %s, %s", chats[0].Name, chats[1].Name, chats[2].Name)
		}
	})
	t.Run("populates_reels_and_the_pending_request", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Pool Party", map[string]any{"restricted": true})
		var ids []string
		for i := 0; i < 6; i++ {
			env.Clock.Advance(time.Second)
			ids = append(ids, postReel(t, env, amy, c.ID, map[string]any{"description": fmt.Sprint(i)}).ID)
		}
		r := askToJoin(t, env, ben, c.ID)
		chats, _ := explore(t, env, ben, "?search=pool")
		got := chats[0]
		if got.ReelsCount == nil || *got.ReelsCount != 6 || len(got.Reels) != 5 || got.Reels[0].ID != ids[5] {
			t.Fatalf("reels %d of %v", len(got.Reels), got.ReelsCount)
		}
		if got.Request == nil || got.Request.ID != r.ID || got.Request.Status != "pending" {
			t.Fatalf("request %+v", got.Request)
		}
		chats, _ = explore(t, env, ben, "?search=pool&reelsLimit=2")
		if len(chats[0].Reels) != 2 {
			t.Fatalf("reelsLimit: %d", len(chats[0].Reels))
		}
		chats, _ = explore(t, env, amy, "?search=pool&reelsLimit=0")
		if len(chats[0].Reels) != 0 || chats[0].Request != nil || *chats[0].ReelsCount != 6 {
			t.Fatalf("owner sees %+v", chats[0])
		}
	})
}

func TestExploreQueryCount(t *testing.T) {
	t.Parallel()
	t.Run("runs_a_bounded_number_of_queries_per_page", func(t *testing.T) {
		cost := func(chats int) int64 {
			env := servertest.New(t)
			amy, ben := env.Register("Amy"), env.Register("Ben")
			// Seeded through the service: the count is of the GET alone.
			svc, asAmy, asBen := env.Server.Social(), social.Caller{UserID: amy.ID}, social.Caller{UserID: ben.ID}
			restricted := true
			for i := 0; i < chats; i++ {
				c, _, err := svc.CreateChat(t.Context(), asAmy, social.NewChat{IsGroup: true, Name: fmt.Sprintf("Club %d", i),
					Category: "Study", Participants: &[]string{}, Restricted: &restricted})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.CreateReel(t.Context(), asAmy, social.NewReel{Chat: c.ID, Description: "fun", Tag: "Party",
					Video: "https://cdn.test/r.mp4", Hashtags: []string{"pool"}}); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.CreateRequest(t.Context(), asBen, c.ID); err != nil {
					t.Fatal(err)
				}
			}
			before := env.Server.DB().QueryCount()
			got, n := explore(t, env, ben, "?search=club&limit=100")
			after := env.Server.DB().QueryCount()
			if n != chats || len(got) != chats || len(got[0].Reels) != 1 || got[0].Request == nil {
				t.Fatalf("%d chats: %d listed", chats, len(got))
			}
			return after - before
		}
		if small, large := cost(3), cost(60); small != large {
			t.Fatalf("explore ran %d queries for 3 chats and %d for 60", small, large)
		}
	})
	t.Run("paginates", func(t *testing.T) {
		env := servertest.New(t)
		amy := env.Register("Amy")
		for i := 0; i < 5; i++ {
			group(t, env, amy, fmt.Sprintf("Club %d", i), nil)
		}
		page, n := explore(t, env, amy, "?search=club&limit=2&page=3")
		if n != 5 || len(page) != 1 {
			t.Fatalf("count %d, last page %d", n, len(page))
		}
		env.Do("GET", "/chats/explore/communities?search=club&page=0", amy.Token, nil).WantError(400, "invalid_page")
	})
}

func TestReels(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("like_superlike_and_favorite_toggle", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Reels", nil)
		r := postReel(t, env, amy, c.ID, nil)
		react := func(u servertest.User, kind string) reelJSON {
			var out struct {
				Reel reelJSON `json:"reel"`
			}
			env.Do("POST", "/reels/"+r.ID+"/"+kind, u.Token, nil).Want(200).Decode(&out)
			return out.Reel
		}
		if got := react(ben, "like"); got.Likes != 1 || !got.IsLiked {
			t.Fatalf("like %+v", got)
		}
		if got := react(amy, "like"); got.Likes != 2 || !got.IsLiked {
			t.Fatalf("second like %+v", got)
		}
		if got := react(ben, "like"); got.Likes != 1 || got.IsLiked {
			t.Fatalf("unlike %+v", got)
		}
		if got := react(ben, "superlike"); got.SuperLikes != 1 || !got.IsSuperLiked || got.IsLiked {
			t.Fatalf("superlike %+v", got)
		}
		if got := react(ben, "favorite"); got.Favorites != 1 || !got.IsFavorite {
			t.Fatalf("favorite %+v", got)
		}
		env.Do("POST", "/reels/0123456789abcdef01234567/like", ben.Token, nil).WantError(404, "reel_not_found")
		env.Do("POST", "/reels/x/like", ben.Token, nil).WantError(400, "invalid_id")
	})
	t.Run("posting_rules", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		open := group(t, env, amy, "Open", nil)
		closed := group(t, env, amy, "Closed", map[string]any{"allowPublicPost": false})
		postReel(t, env, ben, open.ID, nil)
		env.Do("POST", "/reels", ben.Token, map[string]any{"chat": closed.ID, "video": "https://cdn.test/v.mp4"}).WantError(403, "not_participant")
		postReel(t, env, amy, closed.ID, nil)
		env.Do("POST", "/reels", amy.Token, map[string]any{"video": "https://cdn.test/v.mp4"}).WantError(400, "invalid_chat")
		env.Do("POST", "/reels", amy.Token, map[string]any{"chat": open.ID, "video": "v.mp4"}).WantError(400, "invalid_video")
		env.Do("POST", "/reels", amy.Token, map[string]any{"chat": open.ID, "video": "https://cdn.test/v.mp4", "hashtags": []string{""}}).WantError(400, "invalid_hashtags")
		env.Do("POST", "/reels", amy.Token, map[string]any{"chat": "0123456789abcdef01234567", "video": "https://cdn.test/v.mp4"}).WantError(404, "chat_not_found")
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		env.Do("POST", "/reels", amy.Token, map[string]any{"chat": d.ID, "video": "https://cdn.test/v.mp4"}).WantError(409, "not_group_chat")
	})
	t.Run("anonymous_reels_hide_their_author_from_others", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Secret club", nil)
		follow(t, env, ben, amy)
		postReel(t, env, amy, c.ID, map[string]any{"isAnonymous": true})
		postReel(t, env, amy, c.ID, nil)
		chats, _ := explore(t, env, ben, "?search=secret")
		var anon, named int
		for _, r := range chats[0].Reels {
			if r.User == nil {
				anon++
			} else if r.User.ID == amy.ID && r.User.IsFollowed {
				named++
			}
		}
		if anon != 1 || named != 1 {
			t.Fatalf("anon %d named %d", anon, named)
		}
	})
}

func TestExploreShape(t *testing.T) {
	t.Parallel()
	t.Run("creator_populated_participants_as_ids", func(t *testing.T) {
		env := servertest.New(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		group(t, env, amy, "Pool Party", nil)
		var body struct {
			Chats []map[string]any `json:"chats"`
			Count int              `json:"count"`
		}
		env.Do("GET", "/chats/explore/communities?search=pool", ben.Token, nil).Want(200).Decode(&body)
		if body.Count != 1 || len(body.Chats) != 1 {
			t.Fatalf("%+v", body)
		}
		c := body.Chats[0]
		creator, ok := c["creator"].(map[string]any)
		if !ok || creator["_id"] != amy.ID || creator["name"] != "Amy" || creator["username"] != amy.Username {
			t.Fatalf("creator %v, want Amy populated", c["creator"])
		}
		parts := c["participants"].([]any)
		if len(parts) != 1 || parts[0].(map[string]any)["user"] != amy.ID {
			t.Fatalf("participants %v, want user ids", parts)
		}
		for _, k := range []string{"reels", "reelsCount", "isJoined", "areYouAdmin", "participantsCount", "isGroup", "restricted", "allowPublicPost"} {
			if _, ok := c[k]; !ok {
				t.Errorf("explore chat lacks %s: %v", k, c)
			}
		}
	})
}

func TestExploreUnread(t *testing.T) {
	t.Parallel()
	t.Run("populates_the_unread_count_of_joined_chats", func(t *testing.T) {
		env := servertest.New(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "Pool Party", nil, ben)
		sendText(t, env, ben, c.ID, "one")
		sendText(t, env, ben, c.ID, "two")
		sendText(t, env, amy, c.ID, "mine")
		if chats, _ := explore(t, env, amy, "?search=pool"); len(chats) != 1 || chats[0].Unread != 2 {
			t.Fatalf("amy explores %+v, want 2 unread", chats)
		}
		if chats, _ := explore(t, env, env.Register("Cy"), "?search=pool"); chats[0].Unread != 0 || chats[0].IsJoined {
			t.Fatalf("an outsider sees %+v", chats[0])
		}
	})
	t.Run("names_the_event_by_its_id", func(t *testing.T) {
		// The spec's example answer: "event": "68ee530a808e28d0b11beecb".
		env := servertest.New(t)
		amy := env.Register("Amy")
		now := time.Now().UTC()
		ev := group(t, env, amy, "Pool Night", map[string]any{"category": "Event",
			"event": map[string]any{"startsAt": now.Add(time.Hour), "endsAt": now.Add(3 * time.Hour), "location": "Pool"}})
		if ev.Event == nil || ev.Event.ID == "" {
			t.Fatalf("POST /chats answered no event: %+v", ev)
		}
		var body struct {
			Chats []map[string]json.RawMessage `json:"chats"`
		}
		env.Do("GET", "/chats/explore/communities?search=pool", env.Register("Ben").Token, nil).Want(200).Decode(&body)
		if len(body.Chats) != 1 {
			t.Fatalf("%d chats", len(body.Chats))
		}
		if got, want := string(body.Chats[0]["event"]), `"`+ev.Event.ID+`"`; got != want {
			t.Fatalf("event = %s, want %s", got, want)
		}
	})
}
