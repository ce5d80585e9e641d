package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/auth"
)

// TestFoundationFlow runs the foundation's documented flow against the
// server image: two users register, log in, read and edit /users/me, find
// each other; bad tokens and bad bodies get JSON errors; the container
// restarts on its volume and everything is still there.
func TestFoundationFlow(t *testing.T) {
	needDocker(t)
	foundationFlow(t, startServer(t, serverOptions{volume: newVolume(t)}))
}

// foundationFlow runs the flow against srv (a server on its own volume, or one of
// several instances on a libSQL server).
func foundationFlow(t *testing.T, srv *server) {

	t.Run("health", func(t *testing.T) {
		var h struct{ Status string }
		srv.do(t, "GET", "/healthz", "", nil).Want(http.StatusOK).Decode(&h)
		if h.Status != "ok" {
			t.Fatalf("healthz status %q, want ok", h.Status)
		}
		srv.do(t, "GET", "/readyz", "", nil).Want(http.StatusOK).Decode(&h)
		if h.Status != "ready" {
			t.Fatalf("readyz status %q, want ready", h.Status)
		}
	})

	amy := srv.register(t, "Amy Pond", "amy.pond")
	bob := srv.register(t, "Bob Stone", "bob_stone")

	t.Run("register_and_login", func(t *testing.T) {
		srv.do(t, "POST", "/auth/register", "", map[string]string{"name": "Other Amy", "username": "AMY.POND", "password": "long enough pw"}).
			WantError(http.StatusConflict, "username_taken")
		login := amy
		srv.login(t, &login)
		if login.Token == amy.Token {
			t.Fatal("login returned the registration's access token")
		}
		srv.do(t, "POST", "/auth/login", "", map[string]string{"username": "amy.pond", "password": "wrong password"}).
			WantError(http.StatusUnauthorized, "invalid_credentials")
		srv.do(t, "POST", "/auth/login", "", map[string]string{"username": "nobody.here", "password": "wrong password"}).
			WantError(http.StatusUnauthorized, "invalid_credentials")
	})

	t.Run("read_and_edit_me", func(t *testing.T) {
		if me := srv.me(t, amy.Token); me.ID != amy.ID || me.Username != "amy.pond" || me.Name != "Amy Pond" {
			t.Fatalf("GET /users/me = %+v, want Amy", me)
		}
		var body struct{ User userJSON }
		srv.do(t, "PATCH", "/users/me", amy.Token, map[string]string{"name": "Amelia Pond", "bio": "raggedy"}).
			Want(http.StatusOK).Decode(&body)
		if body.User.Name != "Amelia Pond" || body.User.Bio != "raggedy" || body.User.Username != "amy.pond" {
			t.Fatalf("PATCH /users/me answered %+v", body.User)
		}
		if me := srv.me(t, amy.Token); me.Name != "Amelia Pond" || me.Bio != "raggedy" {
			t.Fatalf("GET /users/me after PATCH = %+v", me)
		}
		srv.do(t, "PATCH", "/users/me", bob.Token, map[string]string{"username": "Amy.Pond"}).
			WantError(http.StatusConflict, "username_taken")
	})

	t.Run("find_each_other", func(t *testing.T) {
		var list struct {
			Users []userJSON
			Count int
		}
		srv.do(t, "GET", "/users?search=stone", amy.Token, nil).Want(http.StatusOK).Decode(&list)
		if list.Count != 1 || len(list.Users) != 1 || list.Users[0].ID != bob.ID {
			t.Fatalf("Amy searching \"stone\" got %+v, want Bob only", list)
		}
		srv.do(t, "GET", "/users?search=AMELIA", bob.Token, nil).Want(http.StatusOK).Decode(&list)
		if list.Count != 1 || len(list.Users) != 1 || list.Users[0].ID != amy.ID || list.Users[0].Bio != "raggedy" {
			t.Fatalf("Bob searching \"AMELIA\" got %+v, want Amy with her new bio", list)
		}
		srv.do(t, "GET", "/users", bob.Token, nil).Want(http.StatusOK).Decode(&list)
		if list.Count != 1 || list.Users[0].ID != amy.ID {
			t.Fatalf("Bob listing users got %+v, want Amy (never himself)", list)
		}
		var one struct{ User userJSON }
		srv.do(t, "GET", "/users/"+bob.ID, amy.Token, nil).Want(http.StatusOK).Decode(&one)
		if one.User.Username != "bob_stone" {
			t.Fatalf("GET /users/%s = %+v", bob.ID, one.User)
		}
		srv.do(t, "GET", "/users/ffffffffffffffffffffffff", amy.Token, nil).Want(http.StatusNotFound)
		srv.do(t, "GET", "/users?limit=101", amy.Token, nil).Want(http.StatusBadRequest)
		srv.do(t, "GET", "/users?page=0", amy.Token, nil).Want(http.StatusBadRequest)
	})

	t.Run("bad_tokens", func(t *testing.T) {
		srv.do(t, "GET", "/users/me", "", nil).WantError(http.StatusUnauthorized, "token_missing")
		srv.do(t, "GET", "/users/me", "not-a-jwt", nil).WantError(http.StatusUnauthorized, "token_invalid")
		forger, err := auth.NewTokens([]byte(strings.Repeat("k", 32)), auth.AccessTTL, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		forged, _, err := forger.Issue(amy.ID, "ffffffffffffffffffffffff")
		if err != nil {
			t.Fatal(err)
		}
		srv.do(t, "GET", "/users/me", forged, nil).WantError(http.StatusUnauthorized, "token_invalid")
		tampered := amy.Token[:len(amy.Token)-2] + flip(amy.Token[len(amy.Token)-2:])
		srv.do(t, "GET", "/users/me", tampered, nil).WantError(http.StatusUnauthorized, "token_invalid")

		// Logging out revokes the session's access and refresh tokens.
		gone := amy
		srv.login(t, &gone)
		srv.do(t, "POST", "/auth/logout", gone.Token, nil).Want(http.StatusNoContent)
		srv.do(t, "GET", "/users/me", gone.Token, nil).WantError(http.StatusUnauthorized, "token_revoked")
		srv.do(t, "POST", "/auth/refresh", "", map[string]string{"refreshToken": gone.Refresh}).
			WantError(http.StatusUnauthorized, "session_revoked")

		// Refresh tokens rotate; presenting a used one ends the session.
		rot := bob
		srv.login(t, &rot)
		var pair authBody
		srv.do(t, "POST", "/auth/refresh", "", map[string]string{"refreshToken": rot.Refresh}).Want(http.StatusOK).Decode(&pair)
		if pair.RefreshToken == rot.Refresh || pair.User.ID != bob.ID {
			t.Fatalf("refresh answered %+v", pair)
		}
		srv.do(t, "POST", "/auth/refresh", "", map[string]string{"refreshToken": rot.Refresh}).
			WantError(http.StatusUnauthorized, "refresh_token_reused")
		srv.do(t, "GET", "/users/me", pair.AccessToken, nil).WantError(http.StatusUnauthorized, "token_revoked")
	})

	t.Run("bad_bodies", func(t *testing.T) {
		srv.do(t, "POST", "/auth/register", "", `{"name": "x",`).WantError(http.StatusBadRequest, "malformed_json")
		srv.do(t, "POST", "/auth/register", "", "").WantError(http.StatusBadRequest, "empty_body")
		srv.do(t, "POST", "/auth/register", "", `{"name": 7, "username": "seven", "password": "long enough pw"}`).
			WantError(http.StatusBadRequest, "invalid_name")
		srv.do(t, "POST", "/auth/register", "", map[string]string{"name": "Shorty", "username": "shorty", "password": "short"}).
			WantError(http.StatusBadRequest, "invalid_password")
		srv.do(t, "POST", "/auth/register", "", map[string]string{"name": "Bad", "username": "no spaces", "password": "long enough pw"}).
			WantError(http.StatusBadRequest, "invalid_username")
		srv.do(t, "PATCH", "/users/me", bob.Token, `{"bio": ["a list"]}`).WantError(http.StatusBadRequest, "invalid_bio")
		huge := `{"bio": "` + strings.Repeat("x", 1<<20) + `"}`
		srv.do(t, "PATCH", "/users/me", bob.Token, huge).WantError(http.StatusRequestEntityTooLarge, "body_too_large")
		// None of that changed Bob.
		if me := srv.me(t, bob.Token); me.Bio != "" || me.Username != "bob_stone" {
			t.Fatalf("rejected edits changed Bob: %+v", me)
		}
	})

	t.Run("restart_keeps_everything", func(t *testing.T) {
		before := srv.URL()
		srv.restart(t)
		t.Logf("restarted: %s → %s", before, srv.URL())
		// Access tokens issued before the restart still verify: the
		// generated token secret lives in the database.
		if me := srv.me(t, amy.Token); me.Name != "Amelia Pond" || me.Bio != "raggedy" {
			t.Fatalf("after restart Amy's old token reads %+v", me)
		}
		a, b := amy, bob
		srv.login(t, &a)
		srv.login(t, &b)
		var list struct {
			Users []userJSON
			Count int
		}
		srv.do(t, "GET", "/users?search=pond", b.Token, nil).Want(http.StatusOK).Decode(&list)
		if list.Count != 1 || list.Users[0].ID != amy.ID || list.Users[0].Bio != "raggedy" {
			t.Fatalf("after restart Bob searching \"pond\" got %+v", list)
		}
		srv.register(t, "Cleo Nine", "cleo9")
	})
}

// flip changes the characters of s so a signature no longer matches.
func flip(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == 'A' {
			out[i] = 'B'
		} else {
			out[i] = 'A'
		}
	}
	return string(out)
}
