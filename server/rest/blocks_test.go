package rest_test

import (
	"net/http"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// The rows of docs/DECISIONS.md "Blocks" that these tests hold: join
// requests and reels/explore. The other rows name their tests there.

func TestBlocksJoinRequests(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob, cat, dan := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan")
	club := group(t, env, amy, "Club", map[string]any{"restricted": true})
	early := env.Register("Eve")
	env.Do("POST", "/requests", early.Token, map[string]any{"chat": club.ID}).Want(http.StatusCreated)
	block(t, env, amy, bob) // the owner blocks bob
	block(t, env, cat, amy) // cat blocks the owner
	block(t, env, amy, early)
	t.Run("a user the owner blocked cannot ask to join", func(t *testing.T) {
		env.Do("POST", "/requests", bob.Token, map[string]any{"chat": club.ID}).WantError(http.StatusForbidden, "blocked")
	})
	t.Run("a user who blocked the owner cannot ask to join", func(t *testing.T) {
		env.Do("POST", "/requests", cat.Token, map[string]any{"chat": club.ID}).WantError(http.StatusForbidden, "blocked")
	})
	t.Run("no notification or live event reaches the owner", func(t *testing.T) {
		if n := len(eventsNamed(t, env, "chat-join-request", "user:"+amy.ID)); n != 1 { // eve's, from before the block
			t.Fatalf("%d chat-join-request events to the owner, want 1", n)
		}
	})
	t.Run("anyone else still can", func(t *testing.T) {
		env.Do("POST", "/requests", dan.Token, map[string]any{"chat": club.ID}).Want(http.StatusCreated)
	})
	t.Run("received requests leave out users hidden by a block", func(t *testing.T) {
		var body struct {
			Requests []struct {
				User struct {
					ID string `json:"_id"`
				} `json:"user"`
			} `json:"requests"`
			Count int `json:"count"`
		}
		env.Do("GET", "/requests?type=received", amy.Token, nil).Want(http.StatusOK).Decode(&body)
		if body.Count != 1 || len(body.Requests) != 1 || body.Requests[0].User.ID != dan.ID {
			t.Fatalf("received requests %+v, want only dan's (eve's is hidden by the block)", body)
		}
	})
}

func TestBlocksReels(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob, cat, dan := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan")
	pool := group(t, env, amy, "Pool Party", nil)
	vetted := group(t, env, amy, "Pool Vetted", map[string]any{"restricted": true})
	early := postReel(t, env, bob, pool.ID, nil) // before any block
	block(t, env, amy, bob)
	block(t, env, cat, amy)
	t.Run("a user the owner blocked cannot post", func(t *testing.T) {
		env.Do("POST", "/reels", bob.Token, map[string]any{"chat": pool.ID, "video": "https://cdn.test/v.mp4"}).WantError(http.StatusForbidden, "blocked")
	})
	t.Run("a user who blocked the owner cannot post", func(t *testing.T) {
		env.Do("POST", "/reels", cat.Token, map[string]any{"chat": pool.ID, "video": "https://cdn.test/v.mp4"}).WantError(http.StatusForbidden, "blocked")
	})
	t.Run("anyone else may post to an open group", func(t *testing.T) {
		postReel(t, env, dan, pool.ID, nil)
	})
	t.Run("a restricted group takes no reels from non-members by default", func(t *testing.T) {
		env.Do("POST", "/reels", dan.Token, map[string]any{"chat": vetted.ID, "video": "https://cdn.test/v.mp4"}).WantError(http.StatusForbidden, "not_participant")
	})
	t.Run("explore leaves out reels of users hidden by a block", func(t *testing.T) {
		own := postReel(t, env, amy, pool.ID, nil)
		reelsOf := func(u servertest.User) (ids []string, count int) {
			chats, _ := explore(t, env, u, "?search=Pool+Party&reelsLimit=10")
			if len(chats) != 1 || chats[0].ReelsCount == nil {
				t.Fatalf("%s's explore: %+v", u.Name, chats)
			}
			for _, r := range chats[0].Reels {
				ids = append(ids, r.ID)
			}
			return ids, *chats[0].ReelsCount
		}
		if ids, n := reelsOf(amy); n != 2 || len(ids) != 2 || contains(ids, early.ID) {
			t.Fatalf("the owner sees reels %v (count %d), want hers and dan's, not bob's", ids, n)
		}
		if ids, n := reelsOf(bob); n != 2 || contains(ids, own.ID) || !contains(ids, early.ID) {
			t.Fatalf("bob sees reels %v (count %d), want his and dan's, not amy's", ids, n)
		}
		if ids, n := reelsOf(dan); n != 3 || len(ids) != 3 {
			t.Fatalf("an unrelated viewer sees reels %v (count %d), want all 3", ids, n)
		}
	})
}

// TestBlocksInSharedGroups: a block is between two people; a group they
// share is everyone's, so both stay members and see each other's
// messages there (either may leave).
func TestBlocksInSharedGroups(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	g := group(t, env, amy, "Shared", nil, bob)
	block(t, env, amy, bob)
	env.Do("POST", "/chats/"+g.ID+"/messages", bob.Token, map[string]any{"text": "still here"}).Want(http.StatusCreated)
	env.Do("POST", "/chats/"+g.ID+"/messages", amy.Token, map[string]any{"text": "me too"}).Want(http.StatusCreated)
	var body struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	env.Do("GET", "/chats/"+g.ID+"/messages", amy.Token, nil).Want(http.StatusOK).Decode(&body)
	if len(body.Messages) != 2 {
		t.Fatalf("the blocker reads %d messages of the shared group, want 2", len(body.Messages))
	}
}
