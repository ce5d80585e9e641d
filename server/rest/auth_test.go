package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)

	t.Run("answers 201 with user and tokens", func(t *testing.T) {
		r := env.Do("POST", "/auth/register", "", map[string]string{"name": "Amy Jackson", "username": "amy.jackson", "password": "password123"})
		r.Want(http.StatusCreated)
		var body struct {
			User struct {
				ID       string `json:"_id"`
				Name     string `json:"name"`
				Username string `json:"username"`
			} `json:"user"`
			AccessToken  string `json:"accessToken"`
			RefreshToken string `json:"refreshToken"`
		}
		r.Decode(&body)
		if len(body.User.ID) != 24 || body.User.Name != "Amy Jackson" || body.User.Username != "amy.jackson" {
			t.Fatalf("user = %+v", body.User)
		}
		if body.AccessToken == "" || body.RefreshToken == "" {
			t.Fatalf("missing tokens: %s", r.Body)
		}
		env.Do("GET", "/users/me", body.AccessToken, nil).Want(http.StatusOK)
	})
	t.Run("username unique ignoring case", func(t *testing.T) {
		env.Do("POST", "/auth/register", "", map[string]string{"name": "Other", "username": "AMY.Jackson", "password": "password123"}).
			WantError(http.StatusConflict, "username_taken")
	})
	bad := []struct{ name, body, code string }{
		{"username too short", `{"name":"A","username":"ab","password":"password123"}`, "invalid_username"},
		{"username too long", `{"name":"A","username":"` + strings.Repeat("a", 31) + `","password":"password123"}`, "invalid_username"},
		{"username bad characters", `{"name":"A","username":"amy jackson","password":"password123"}`, "invalid_username"},
		{"password too short", `{"name":"A","username":"amy2","password":"short"}`, "invalid_password"},
		{"password too long", `{"name":"A","username":"amy2","password":"` + strings.Repeat("p", 129) + `"}`, "invalid_password"},
		{"name missing", `{"username":"amy2","password":"password123"}`, "invalid_name"},
		{"name blank", `{"name":"   ","username":"amy2","password":"password123"}`, "invalid_name"},
		{"wrong type", `{"name":"A","username":42,"password":"password123"}`, "invalid_username"},
		{"malformed JSON", `{"name":`, "malformed_json"},
		{"not an object", `[1,2]`, "malformed_json"},
		{"trailing data", `{"name":"A","username":"amy2","password":"password123"} {}`, "malformed_json"},
		{"empty body", ``, "empty_body"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			env.Do("POST", "/auth/register", "", c.body).WantError(http.StatusBadRequest, c.code)
		})
	}
	t.Run("boundary lengths accepted", func(t *testing.T) {
		env.Do("POST", "/auth/register", "", map[string]string{"name": "B", "username": "a_b", "password": strings.Repeat("p", 8)}).Want(http.StatusCreated)
		env.Do("POST", "/auth/register", "", map[string]string{"name": "C", "username": strings.Repeat("c", 30), "password": strings.Repeat("p", 128)}).Want(http.StatusCreated)
	})
	t.Run("body over 1 MiB is 413", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
		env.Do("POST", "/auth/register", "", big).WantError(http.StatusRequestEntityTooLarge, "body_too_large")
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	u := env.Register("Raj Kr")

	t.Run("right password, username in any case", func(t *testing.T) {
		r := env.Do("POST", "/auth/login", "", map[string]string{"username": strings.ToUpper(u.Username), "password": u.Password}).Want(http.StatusOK)
		m := r.JSON()
		if m["accessToken"] == "" || m["user"].(map[string]any)["_id"] != u.ID {
			t.Fatalf("login body = %s", r.Body)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		env.Do("POST", "/auth/login", "", map[string]string{"username": u.Username, "password": "wrong password"}).
			WantError(http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("unknown user gets the same answer", func(t *testing.T) {
		env.Do("POST", "/auth/login", "", map[string]string{"username": "nobody.here", "password": "whatever1"}).
			WantError(http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("missing fields", func(t *testing.T) {
		env.Do("POST", "/auth/login", "", map[string]string{"password": "x"}).WantError(http.StatusBadRequest, "invalid_username")
		env.Do("POST", "/auth/login", "", map[string]string{"username": "x"}).WantError(http.StatusBadRequest, "invalid_password")
	})
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u := env.Register("Jass Singh")

	var pair struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": u.RefreshToken}).Want(http.StatusOK).Decode(&pair)
	if pair.RefreshToken == u.RefreshToken || pair.AccessToken == "" {
		t.Fatal("refresh did not rotate the refresh token")
	}
	env.Do("GET", "/users/me", pair.AccessToken, nil).Want(http.StatusOK)

	t.Run("a used refresh token revokes the whole family", func(t *testing.T) {
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": u.RefreshToken}).
			WantError(http.StatusUnauthorized, "refresh_token_reused")
		// The newest pair of that family stops working too.
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": pair.RefreshToken}).
			WantError(http.StatusUnauthorized, "session_revoked")
		env.Do("GET", "/users/me", pair.AccessToken, nil).WantError(http.StatusUnauthorized, "token_revoked")
	})
	t.Run("other sessions are untouched", func(t *testing.T) {
		var other struct {
			AccessToken string `json:"accessToken"`
		}
		env.Do("POST", "/auth/login", "", map[string]string{"username": u.Username, "password": u.Password}).Want(http.StatusOK).Decode(&other)
		env.Do("GET", "/users/me", other.AccessToken, nil).Want(http.StatusOK)
	})
	t.Run("unknown token", func(t *testing.T) {
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": "nope"}).WantError(http.StatusUnauthorized, "refresh_token_invalid")
	})
	t.Run("missing token", func(t *testing.T) {
		env.Do("POST", "/auth/refresh", "", `{}`).WantError(http.StatusBadRequest, "invalid_refresh_token")
	})
	t.Run("expired refresh token", func(t *testing.T) {
		v := env.Register("Expiring")
		env.Clock.Advance(31 * 24 * time.Hour)
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": v.RefreshToken}).WantError(http.StatusUnauthorized, "refresh_token_expired")
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	u := env.Register("Max R")
	env.Do("POST", "/auth/logout", u.Token, nil).Want(http.StatusNoContent)
	env.Do("GET", "/users/me", u.Token, nil).WantError(http.StatusUnauthorized, "token_revoked")
	env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": u.RefreshToken}).WantError(http.StatusUnauthorized, "session_revoked")
}

func TestLockedEndpointsAnswer401(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u := env.Register("Neha Sharma")
	other := servertest.New(t).Register("Elsewhere") // signed with another server's secret

	cases := []struct{ name, header, code string }{
		{"missing", "", "token_missing"},
		{"not bearer", "Basic " + u.Token, "token_missing"},
		{"malformed", "Bearer not.a.jwt", "token_invalid"},
		// "x" sets the last character's padding bits: refused even where
		// the signature's bytes come out the same.
		{"tampered", "Bearer " + u.Token[:len(u.Token)-2] + "xx", "token_invalid"},
		{"foreign signature", "Bearer " + other.Token, "token_invalid"},
	}
	for _, path := range []string{"/users/me", "/users", "/users/" + u.ID} {
		for _, c := range cases {
			t.Run(path+"/"+c.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", env.URL+path, nil)
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", res.StatusCode)
				}
				if res.Header.Get("WWW-Authenticate") == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("401 without WWW-Authenticate or JSON: %v", res.Header)
				}
			})
		}
	}
	t.Run("expired", func(t *testing.T) {
		env.Clock.Advance(16 * time.Minute)
		env.Do("GET", "/users/me", u.Token, nil).WantError(http.StatusUnauthorized, "token_expired")
	})
}

// A session check is cached for social.SessionCacheTTL: a logout through
// the same instance is refused at once (TestLogout, after the token was
// just used), and another instance sharing the database refuses it once
// its cached check is older than the TTL.
func TestLogoutSeenByAnotherInstance(t *testing.T) {
	t.Parallel()
	a := servertest.New(t)
	b := servertest.Start(t, a.Dir)
	u := a.Register("Two Devices")
	b.Do("GET", "/users/me", u.Token, nil).Want(http.StatusOK)
	a.Do("POST", "/auth/logout", u.Token, nil).Want(http.StatusNoContent)
	a.Do("GET", "/users/me", u.Token, nil).WantError(http.StatusUnauthorized, "token_revoked")
	b.Clock.Advance(time.Second) // the documented bound: other instances within 1 s
	b.Do("GET", "/users/me", u.Token, nil).WantError(http.StatusUnauthorized, "token_revoked")
}
