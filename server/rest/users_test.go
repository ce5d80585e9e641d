package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

type userJSON struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Photo    string `json:"photo"`
	Bio      string `json:"bio"`
}

func TestGetMe(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	u := env.Register("John Doe")
	var body struct{ User userJSON }
	env.Do("GET", "/users/me", u.Token, nil).Want(http.StatusOK).Decode(&body)
	if body.User.ID != u.ID || body.User.Name != "John Doe" || body.User.Username != u.Username {
		t.Fatalf("me = %+v", body.User)
	}
	m := env.Do("GET", "/users/me", u.Token, nil).JSON()["user"].(map[string]any)
	if _, ok := m["password_hash"]; ok || len(m) > 5 {
		t.Fatalf("user JSON has unexpected fields: %v", m)
	}
}

func TestPatchMe(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u := env.Register("John Doe")
	taken := env.Register("Taken")

	t.Run("edits name, username and bio", func(t *testing.T) {
		var body struct{ User userJSON }
		env.Do("PATCH", "/users/me", u.Token, map[string]string{"name": "  John D  ", "username": "john.doe", "bio": "I am a workaholic"}).
			Want(http.StatusOK).Decode(&body)
		if body.User.Name != "John D" || body.User.Username != "john.doe" || body.User.Bio != "I am a workaholic" {
			t.Fatalf("patched = %+v", body.User)
		}
		env.Do("GET", "/users/me", u.Token, nil).Decode(&body)
		if body.User.Bio != "I am a workaholic" {
			t.Fatalf("edit not stored: %+v", body.User)
		}
	})
	t.Run("omitted fields unchanged", func(t *testing.T) {
		var body struct{ User userJSON }
		env.Do("PATCH", "/users/me", u.Token, map[string]string{"bio": "New Bio"}).Want(http.StatusOK).Decode(&body)
		if body.User.Name != "John D" || body.User.Bio != "New Bio" {
			t.Fatalf("patched = %+v", body.User)
		}
	})
	t.Run("username taken by another, ignoring case", func(t *testing.T) {
		env.Do("PATCH", "/users/me", u.Token, map[string]string{"username": strings.ToUpper(taken.Username)}).
			WantError(http.StatusConflict, "username_taken")
	})
	t.Run("own username in another case is fine", func(t *testing.T) {
		env.Do("PATCH", "/users/me", u.Token, map[string]string{"username": "John.Doe"}).Want(http.StatusOK)
	})
	t.Run("bad values", func(t *testing.T) {
		env.Do("PATCH", "/users/me", u.Token, map[string]string{"name": ""}).WantError(http.StatusBadRequest, "invalid_name")
		env.Do("PATCH", "/users/me", u.Token, map[string]string{"username": "a!"}).WantError(http.StatusBadRequest, "invalid_username")
		env.Do("PATCH", "/users/me", u.Token, map[string]string{"bio": strings.Repeat("b", 501)}).WantError(http.StatusBadRequest, "invalid_bio")
		env.Do("PATCH", "/users/me", u.Token, `{"bio": ["x"]}`).WantError(http.StatusBadRequest, "invalid_bio")
	})
}

func TestGetUser(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	a, b := env.Register("Amy"), env.Register("Ben")
	var body struct{ User userJSON }
	env.Do("GET", "/users/"+b.ID, a.Token, nil).Want(http.StatusOK).Decode(&body)
	if body.User.ID != b.ID || body.User.Name != "Ben" {
		t.Fatalf("user = %+v", body.User)
	}
	env.Do("GET", "/users/0000000000000000000000ff", a.Token, nil).WantError(http.StatusNotFound, "user_not_found")
	env.Do("GET", "/users/not-an-id", a.Token, nil).WantError(http.StatusBadRequest, "invalid_id")
}

func TestSearchUsers(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	me := env.Register("Searcher")
	amy := env.Register("Amy Jackson")
	env.Register("Amyra Stone")
	env.Register("Raj Kr")

	var body struct {
		Users []userJSON `json:"users"`
		Count int        `json:"count"`
	}
	env.Do("GET", "/users?search=AMY", me.Token, nil).Want(http.StatusOK).Decode(&body)
	if body.Count != 2 || len(body.Users) != 2 {
		t.Fatalf("search amy = %+v", body)
	}
	t.Run("matches username too", func(t *testing.T) {
		env.Do("GET", "/users?search="+amy.Username, me.Token, nil).Want(http.StatusOK).Decode(&body)
		if body.Count != 1 || body.Users[0].ID != amy.ID {
			t.Fatalf("search by username = %+v", body)
		}
	})
	t.Run("the caller is left out", func(t *testing.T) {
		env.Do("GET", "/users?search=searcher", me.Token, nil).Want(http.StatusOK).Decode(&body)
		if body.Count != 0 || len(body.Users) != 0 {
			t.Fatalf("search found the caller: %+v", body)
		}
	})
	t.Run("LIKE wildcards are literal", func(t *testing.T) {
		env.Do("GET", "/users?search=%25", me.Token, nil).Want(http.StatusOK).Decode(&body)
		if body.Count != 0 {
			t.Fatalf("%% matched everyone: %+v", body)
		}
	})
	t.Run("pages", func(t *testing.T) {
		env.Do("GET", "/users?limit=2&page=2", me.Token, nil).Want(http.StatusOK).Decode(&body)
		if body.Count != 3 || len(body.Users) != 1 {
			t.Fatalf("page 2 of 2 = %+v", body)
		}
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u := env.Register("Pager")
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=-1", "page=0", "page=abc", "limit=1.5"} {
		t.Run(q, func(t *testing.T) {
			env.Do("GET", "/users?"+q, u.Token, nil).WantError(http.StatusBadRequest, "")
		})
	}
	env.Do("GET", "/users?limit=100&page=1", u.Token, nil).Want(http.StatusOK)
	var body struct {
		Users []userJSON `json:"users"`
		Count int        `json:"count"`
	}
	env.Do("GET", "/users", u.Token, nil).Want(http.StatusOK).Decode(&body)
	if body.Users == nil {
		t.Fatal("an empty list must be [], not null")
	}
}
