package rest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/servertest"
)

type tokenPair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// loginFrom logs u in again with a client label and returns the new pair.
func loginFrom(t *testing.T, env *servertest.Env, u servertest.User, password, client string) tokenPair {
	t.Helper()
	var p tokenPair
	env.Do("POST", "/auth/login", "", map[string]string{"username": u.Username, "password": password, "client": client}).
		Want(http.StatusOK).Decode(&p)
	return p
}

type sessionRow struct {
	ID         string `json:"_id"`
	Client     string `json:"client"`
	CreatedAt  string `json:"createdAt"`
	LastUsedAt string `json:"lastUsedAt"`
	Current    bool   `json:"current"`
}

func listSessions(t *testing.T, env *servertest.Env, token string) []sessionRow {
	t.Helper()
	var body struct {
		Sessions []sessionRow `json:"sessions"`
		Count    int          `json:"count"`
	}
	env.Do("GET", "/auth/sessions", token, nil).Want(http.StatusOK).Decode(&body)
	if body.Count != len(body.Sessions) {
		t.Fatalf("count %d for %d sessions", body.Count, len(body.Sessions))
	}
	return body.Sessions
}

func heartbeat(t *testing.T, env *servertest.Env) {
	t.Helper()
	if err := env.Server.Hub().Heartbeat(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)

	t.Run("lists_logins_with_client_label_times_and_current", func(t *testing.T) {
		amy := env.Register("Amy")
		created := env.Clock.Now()
		env.Clock.Advance(time.Minute)
		phone := loginFrom(t, env, amy, amy.Password, "  Pixel 8 / vibesync 1.4 ")
		env.Clock.Advance(time.Minute)
		var refreshed tokenPair
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": amy.RefreshToken}).Want(http.StatusOK).Decode(&refreshed)
		list := listSessions(t, env, phone.AccessToken)
		if len(list) != 2 {
			t.Fatalf("sessions = %+v, want 2", list)
		}
		// Most recently used first: the registration session was refreshed last.
		reg, ph := list[0], list[1]
		if reg.Client != "" || reg.Current || reg.CreatedAt != created.Format("2006-01-02T15:04:05.000Z") ||
			reg.LastUsedAt != created.Add(2*time.Minute).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("registration session = %+v (created %s)", reg, created)
		}
		if ph.Client != "Pixel 8 / vibesync 1.4" || !ph.Current || ph.CreatedAt != ph.LastUsedAt ||
			ph.CreatedAt != created.Add(time.Minute).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("phone session = %+v", ph)
		}
	})
	t.Run("client_label_over_100_characters_is_400", func(t *testing.T) {
		amy := env.Register("Amy")
		long := make([]byte, 101)
		for i := range long {
			long[i] = 'x'
		}
		env.Do("POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": amy.Password, "client": string(long)}).
			WantError(http.StatusBadRequest, "invalid_client")
	})
	t.Run("ended_session_is_refused_and_no_longer_listed", func(t *testing.T) {
		amy := env.Register("Amy")
		lost := loginFrom(t, env, amy, amy.Password, "lost phone")
		var lostID string
		for _, s := range listSessions(t, env, amy.Token) {
			if s.Client == "lost phone" {
				lostID = s.ID
			}
		}
		env.Do("DELETE", "/auth/sessions/"+lostID, amy.Token, nil).Want(http.StatusNoContent)
		env.Do("GET", "/users/me", lost.AccessToken, nil).WantError(http.StatusUnauthorized, "token_revoked")
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": lost.RefreshToken}).WantError(http.StatusUnauthorized, "session_revoked")
		if list := listSessions(t, env, amy.Token); len(list) != 1 || !list[0].Current {
			t.Fatalf("sessions after ending one = %+v", list)
		}
		env.Do("DELETE", "/auth/sessions/"+lostID, amy.Token, nil).WantError(http.StatusNotFound, "session_not_found")
	})
	t.Run("another_users_session_is_404_and_stays", func(t *testing.T) {
		amy, bob := env.Register("Amy"), env.Register("Bob")
		bobs := listSessions(t, env, bob.Token)
		env.Do("DELETE", "/auth/sessions/"+bobs[0].ID, amy.Token, nil).WantError(http.StatusNotFound, "session_not_found")
		env.Do("GET", "/users/me", bob.Token, nil).Want(http.StatusOK)
	})
	t.Run("malformed_id_is_400", func(t *testing.T) {
		amy := env.Register("Amy")
		env.Do("DELETE", "/auth/sessions/nope", amy.Token, nil).WantError(http.StatusBadRequest, "invalid_id")
	})
	t.Run("ending_all_others_keeps_the_current_one", func(t *testing.T) {
		amy := env.Register("Amy")
		a, b := loginFrom(t, env, amy, amy.Password, "a"), loginFrom(t, env, amy, amy.Password, "b")
		r := env.Do("DELETE", "/auth/sessions", amy.Token, nil).Want(http.StatusOK)
		if r.JSON()["ended"] != float64(2) {
			t.Fatalf("answer %s, want ended 2", r.Body)
		}
		for _, p := range []tokenPair{a, b} {
			env.Do("GET", "/users/me", p.AccessToken, nil).WantError(http.StatusUnauthorized, "token_revoked")
		}
		env.Do("GET", "/users/me", amy.Token, nil).Want(http.StatusOK)
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": amy.RefreshToken}).Want(http.StatusOK)
	})
	t.Run("ended_sessions_sockets_close_at_the_next_heartbeat", func(t *testing.T) {
		amy := env.Register("Amy")
		lost := loginFrom(t, env, amy, amy.Password, "lost phone")
		lostSock, mySock := env.Dial(lost.AccessToken), env.Dial(amy.Token)
		env.Do("DELETE", "/auth/sessions", amy.Token, nil).Want(http.StatusOK)
		heartbeat(t, env)
		if code := lostSock.CloseCode(); code != 1008 {
			t.Fatalf("lost phone's socket closed with %d, want 1008", code)
		}
		// The current session's socket still gets the user's events.
		bob := env.Register("Bob")
		meetMe(t, env, amy)
		env.Do("POST", "/connections/"+amy.ID, bob.Token, nil).Want(http.StatusCreated)
		mySock.Expect("connection-request")
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)

	t.Run("other_sessions_end_the_current_one_stays", func(t *testing.T) {
		amy := env.Register("Amy")
		other := loginFrom(t, env, amy, amy.Password, "tablet")
		env.Do("POST", "/auth/password", amy.Token, map[string]string{"currentPassword": amy.Password, "newPassword": "a brand new secret"}).
			Want(http.StatusNoContent)
		env.Do("GET", "/users/me", other.AccessToken, nil).WantError(http.StatusUnauthorized, "token_revoked")
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": other.RefreshToken}).WantError(http.StatusUnauthorized, "session_revoked")
		env.Do("GET", "/users/me", amy.Token, nil).Want(http.StatusOK)
		env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": amy.RefreshToken}).Want(http.StatusOK)
		env.Do("POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": amy.Password}).
			WantError(http.StatusUnauthorized, "invalid_credentials")
		env.Do("POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": "a brand new secret"}).Want(http.StatusOK)
	})
	t.Run("wrong_current_password_is_403_and_changes_nothing", func(t *testing.T) {
		amy := env.Register("Amy")
		other := loginFrom(t, env, amy, amy.Password, "tablet")
		env.Do("POST", "/auth/password", amy.Token, map[string]string{"currentPassword": "not it at all", "newPassword": "a brand new secret"}).
			WantError(http.StatusForbidden, "wrong_password")
		env.Do("GET", "/users/me", other.AccessToken, nil).Want(http.StatusOK)
		env.Do("POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": amy.Password}).Want(http.StatusOK)
	})
	bad := []struct{ name, body, code string }{
		{"new_password_too_short", `{"currentPassword":"correct horse battery","newPassword":"short"}`, "invalid_new_password"},
		{"current_password_missing", `{"newPassword":"a brand new secret"}`, "invalid_current_password"},
		{"empty_body", ``, "empty_body"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			amy := env.Register("Amy")
			env.Do("POST", "/auth/password", amy.Token, c.body).WantError(http.StatusBadRequest, c.code)
		})
	}
	t.Run("no_token_is_401", func(t *testing.T) {
		env.Do("POST", "/auth/password", "", map[string]string{"currentPassword": "x", "newPassword": "a brand new secret"}).
			WantError(http.StatusUnauthorized, "token_missing")
	})
}

// TestPasswordChecksAreBudgetedLikeSignIn: wrong current passwords spend
// the sign-in budget of wrong passwords (here 5, then one per 6 minutes,
// per user and address); over it the password is not checked at all.
func TestPasswordChecksAreBudgetedLikeSignIn(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithRateLimits(ratelimit.Config{LoginFailures: ratelimit.Limit{Every: 6 * time.Minute, Burst: 5}}))
	amy, bob := env.Register("Amy"), env.Register("Bob")
	wrong := map[string]string{"currentPassword": "not it at all", "newPassword": "a brand new secret"}
	for range 5 {
		env.Do("POST", "/auth/password", amy.Token, wrong).WantError(http.StatusForbidden, "wrong_password")
	}
	right := map[string]string{"currentPassword": amy.Password, "newPassword": "a brand new secret"}
	env.Do("POST", "/auth/password", amy.Token, right).WantError(http.StatusTooManyRequests, "too_many_failed_logins")
	env.Do("DELETE", "/users/me", amy.Token, map[string]string{"password": amy.Password}).WantError(http.StatusTooManyRequests, "too_many_failed_logins")
	// Another user has their own budget, and amy's login is not drained.
	env.Do("POST", "/auth/password", bob.Token, map[string]string{"currentPassword": bob.Password, "newPassword": "a brand new secret"}).
		Want(http.StatusNoContent)
	env.Do("POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": amy.Password}).Want(http.StatusOK)
	env.Clock.Advance(6 * time.Minute)
	env.Do("POST", "/auth/password", amy.Token, right).Want(http.StatusNoContent)
}
