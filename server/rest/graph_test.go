package rest_test

import (
	"net/http"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

func userIDs(t *testing.T, r *servertest.Response) []string {
	t.Helper()
	m := r.JSON()
	return ids(m["users"], "_id")
}

func TestFollow(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")

	t.Run("follows_and_lists_both_sides", func(t *testing.T) {
		env.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK)
		env.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK) // twice is fine
		if got := userIDs(t, env.Do("GET", "/users/me/following", amy.Token, nil).Want(200)); len(got) != 1 || got[0] != bob.ID {
			t.Fatalf("amy following = %v", got)
		}
		r := env.Do("GET", "/users/me/followers", bob.Token, nil).Want(200)
		if got := userIDs(t, r); len(got) != 1 || got[0] != amy.ID || r.JSON()["count"].(float64) != 1 {
			t.Fatalf("bob followers = %s", r.Body)
		}
	})
	t.Run("feed_rows_in_both_buckets", func(t *testing.T) {
		key := "follow/" + amy.ID + ":" + bob.ID
		for _, u := range []string{amy.ID, bob.ID} {
			if c, ok := feed(t, env, "user:"+u)[key]; !ok || c.Op != "upsert" {
				t.Fatalf("no follow row in user:%s", u)
			}
		}
	})
	t.Run("unfollow", func(t *testing.T) {
		env.Do("DELETE", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK)
		if got := userIDs(t, env.Do("GET", "/users/me/following", amy.Token, nil).Want(200)); len(got) != 0 {
			t.Fatalf("following after unfollow = %v", got)
		}
		if c := feed(t, env, "user:"+bob.ID)["follow/"+amy.ID+":"+bob.ID]; c.Op != "delete" {
			t.Fatalf("follow row op = %q, want delete", c.Op)
		}
		env.Do("DELETE", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK) // not following is fine
	})
	t.Run("self", func(t *testing.T) {
		env.Do("POST", "/users/"+amy.ID+"/follow", amy.Token, nil).WantError(400, "self_reference")
	})
	t.Run("malformed_id", func(t *testing.T) {
		env.Do("POST", "/users/nope/follow", amy.Token, nil).WantError(400, "invalid_id")
	})
	t.Run("unknown_user", func(t *testing.T) {
		env.Do("POST", "/users/0123456789abcdef01234567/follow", amy.Token, nil).WantError(404, "user_not_found")
	})
	t.Run("needs_token", func(t *testing.T) {
		env.Do("POST", "/users/"+bob.ID+"/follow", "", nil).WantError(401, "")
	})
}

func TestBlock(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob, cat := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")
	env.Do("POST", "/users/"+amy.ID+"/follow", bob.Token, nil).Want(200)
	env.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(200)
	env.Do("POST", "/users/"+cat.ID+"/follow", amy.Token, nil).Want(200)
	env.Do("POST", "/users/"+bob.ID+"/block", amy.Token, nil).Want(200)

	t.Run("blocked_list", func(t *testing.T) {
		if got := userIDs(t, env.Do("GET", "/users/me/blocked", amy.Token, nil).Want(200)); len(got) != 1 || got[0] != bob.ID {
			t.Fatalf("blocked = %v", got)
		}
		if got := userIDs(t, env.Do("GET", "/users/me/blocked", bob.Token, nil).Want(200)); len(got) != 0 {
			t.Fatalf("bob's blocked list = %v", got)
		}
	})
	t.Run("hides_profile_both_ways", func(t *testing.T) {
		env.Do("GET", "/users/"+bob.ID, amy.Token, nil).WantError(404, "user_not_found")
		env.Do("GET", "/users/"+amy.ID, bob.Token, nil).WantError(404, "user_not_found")
		env.Do("GET", "/users/"+cat.ID, bob.Token, nil).Want(200)
	})
	t.Run("hides_from_search_both_ways", func(t *testing.T) {
		if got := userIDs(t, env.Do("GET", "/users?limit=100", amy.Token, nil).Want(200)); contains(got, bob.ID) || !contains(got, cat.ID) {
			t.Fatalf("amy's search = %v", got)
		}
		if got := userIDs(t, env.Do("GET", "/users?search=amy", bob.Token, nil).Want(200)); contains(got, amy.ID) {
			t.Fatalf("bob's search = %v", got)
		}
	})
	t.Run("ends_follows_both_ways", func(t *testing.T) {
		if got := userIDs(t, env.Do("GET", "/users/me/following", amy.Token, nil).Want(200)); contains(got, bob.ID) || !contains(got, cat.ID) {
			t.Fatalf("amy following = %v", got)
		}
		if got := userIDs(t, env.Do("GET", "/users/me/following", bob.Token, nil).Want(200)); len(got) != 0 {
			t.Fatalf("bob following = %v", got)
		}
	})
	t.Run("follow_answers_404_both_ways", func(t *testing.T) {
		env.Do("POST", "/users/"+amy.ID+"/follow", bob.Token, nil).WantError(404, "user_not_found")
		env.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).WantError(404, "user_not_found")
	})
	t.Run("block_row_only_in_blockers_bucket", func(t *testing.T) {
		key := "block/" + amy.ID + ":" + bob.ID
		if _, ok := feed(t, env, "user:"+amy.ID)[key]; !ok {
			t.Fatal("no block row in the blocker's bucket")
		}
		if _, ok := feed(t, env, "user:"+bob.ID)[key]; ok {
			t.Fatal("the blocked user's bucket holds the block")
		}
	})
	t.Run("blocked_user_may_block_back", func(t *testing.T) {
		env.Do("POST", "/users/"+amy.ID+"/block", bob.Token, nil).Want(200)
		env.Do("DELETE", "/users/"+amy.ID+"/block", bob.Token, nil).Want(200)
	})
	t.Run("self", func(t *testing.T) {
		env.Do("POST", "/users/"+amy.ID+"/block", amy.Token, nil).WantError(400, "self_reference")
	})
	t.Run("unknown_user", func(t *testing.T) {
		env.Do("POST", "/users/0123456789abcdef01234567/block", amy.Token, nil).WantError(404, "user_not_found")
	})
	t.Run("unblock_shows_again", func(t *testing.T) {
		env.Do("DELETE", "/users/"+bob.ID+"/block", amy.Token, nil).Want(200)
		env.Do("GET", "/users/"+bob.ID, amy.Token, nil).Want(200)
		env.Do("GET", "/users/"+amy.ID, bob.Token, nil).Want(200)
		if got := userIDs(t, env.Do("GET", "/users/me/blocked", amy.Token, nil).Want(200)); len(got) != 0 {
			t.Fatalf("blocked after unblock = %v", got)
		}
		if c := feed(t, env, "user:"+amy.ID)["block/"+amy.ID+":"+bob.ID]; c.Op != "delete" {
			t.Fatalf("block row op = %q, want delete", c.Op)
		}
	})
}
