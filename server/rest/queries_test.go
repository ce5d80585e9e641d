package rest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// socialCircle builds n of each relation around owner: connected users (who
// also follow owner and are followed back), pending requests received
// and sent, and blocked users.
func socialCircle(t *testing.T, env *servertest.Env, owner servertest.User, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		f := env.Register(fmt.Sprintf("Friend %d", i))
		num := v1Request(t, env, f, owner, "hi")
		env.Do("POST", v1(owner, fmt.Sprintf("/accept/%d", num)), owner.Token, nil).Want(200)
		env.Do("POST", "/users/"+owner.ID+"/follow", f.Token, nil).Want(200)
		env.Do("POST", "/users/"+f.ID+"/follow", owner.Token, nil).Want(200)
		v1Request(t, env, env.Register(fmt.Sprintf("Asker %d", i)), owner, "hello")
		v1Request(t, env, owner, env.Register(fmt.Sprintf("Asked %d", i)), "hey")
		env.Do("POST", "/users/"+env.Register(fmt.Sprintf("Blocked %d", i)).ID+"/block", owner.Token, nil).Want(200)
	}
}

// TestListsUseBoundedQueries checks that every list answers in as many
// SQL statements for many items as for one: no query per row.
func TestListsUseBoundedQueries(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	few, many := env.Register("Few"), env.Register("Many")
	const n = 8
	socialCircle(t, env, few, 1)
	socialCircle(t, env, many, n)

	for _, c := range []struct {
		path  string // %s is the user's id
		items string // the list's key in the answer
	}{
		{"/connections?limit=100", "connections"},
		{"/connections?status=pending&limit=100", "connections"},
		{"/connections/established?limit=100", "connections"},
		{"/connections/pending?limit=100", "connections"},
		{"/connections/pending?type=received&limit=100", "connections"},
		{"/v1/connections/%s/sent?per_page=50", "requests"},
		{"/v1/connections/%s/received?per_page=50", "requests"},
		{"/v1/connections/%s/active?per_page=50", "connections"},
		{"/v1/connections/%s/notifications?per_page=50", "notifications"},
		{"/notifications?limit=100", "notifications"},
		{"/users/me/following?limit=100", "users"},
		{"/users/me/followers?limit=100", "users"},
		{"/users/me/blocked?limit=100", "users"},
		{"/users/%s/score?limit=100", "actions"},
	} {
		t.Run(c.path, func(t *testing.T) {
			cost := func(u servertest.User) (int64, int) {
				before := env.Server.DB().QueryCount()
				path := c.path
				if strings.Contains(path, "%s") {
					path = fmt.Sprintf(path, u.ID)
				}
				m := env.Do("GET", path, u.Token, nil).Want(200).JSON()
				return env.Server.DB().QueryCount() - before, len(m[c.items].([]any))
			}
			oneCost, oneLen := cost(few)
			manyCost, manyLen := cost(many)
			if manyLen < n || oneLen >= manyLen {
				t.Fatalf("lists of %d and %d items: the setup does not exercise the list", oneLen, manyLen)
			}
			if manyCost != oneCost {
				t.Fatalf("%d statements for %d items, %d for %d: a query per row", manyCost, manyLen, oneCost, oneLen)
			}
		})
	}
}
