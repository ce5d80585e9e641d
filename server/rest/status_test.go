package rest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/wire"
)

func statusOf(t *testing.T, r *servertest.Response) map[string]any {
	t.Helper()
	var body struct {
		User map[string]any `json:"user"`
	}
	r.Decode(&body)
	st, _ := body.User["status"].(map[string]any)
	return st
}

func TestMeetMeStatus(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")

	t.Run("set_with_duration_shows_on_profile", func(t *testing.T) {
		var got struct {
			Status struct {
				ID        string `json:"_id"`
				Text      string `json:"text"`
				ExpiresAt string `json:"expiresAt"`
				CreatedAt string `json:"createdAt"`
			} `json:"status"`
		}
		env.Do("PUT", "/users/me/status", amy.Token, map[string]any{"text": "Coffee?", "durationMinutes": 30}).Want(200).Decode(&got)
		want := wire.T(env.Clock.Now().Add(30 * time.Minute)).String()
		if got.Status.ID == "" || got.Status.Text != "Coffee?" || got.Status.ExpiresAt != want || got.Status.CreatedAt == "" {
			t.Fatalf("status = %+v, want expiresAt %s", got.Status, want)
		}
		if st := statusOf(t, env.Do("GET", "/users/me", amy.Token, nil).Want(200)); st["_id"] != got.Status.ID {
			t.Fatalf("own profile status = %v", st)
		}
		if st := statusOf(t, env.Do("GET", "/users/"+amy.ID, bob.Token, nil).Want(200)); st["text"] != "Coffee?" {
			t.Fatalf("profile status seen by bob = %v", st)
		}
		var feedUser map[string]any
		_ = json.Unmarshal(feed(t, env, "user:"+amy.ID)["user/"+amy.ID].Data, &feedUser)
		if feedUser["status"] == nil {
			t.Fatalf("replicated profile lacks status: %v", feedUser)
		}
	})
	t.Run("set_with_expires_at", func(t *testing.T) {
		exp := env.Clock.Now().Add(2 * time.Hour)
		r := env.Do("PUT", "/users/me/status", amy.Token, map[string]any{"text": "Lunch", "expiresAt": wire.T(exp)}).Want(200)
		if got := r.JSON()["status"].(map[string]any)["expiresAt"]; got != wire.T(exp).String() {
			t.Fatalf("expiresAt = %v", got)
		}
	})
	t.Run("expired_status_is_absent", func(t *testing.T) {
		env.Do("PUT", "/users/me/status", bob.Token, map[string]any{"text": "Run", "durationMinutes": 1}).Want(200)
		env.Clock.Advance(time.Minute)
		if st := statusOf(t, env.Do("GET", "/users/me", bob.Token, nil).Want(200)); st != nil {
			t.Fatalf("expired status still shown: %v", st)
		}
		if st := statusOf(t, env.Do("GET", "/users/"+bob.ID, amy.Token, nil).Want(200)); st != nil {
			t.Fatalf("expired status still shown to others: %v", st)
		}
	})
	t.Run("delete_clears", func(t *testing.T) {
		env.Do("DELETE", "/users/me/status", amy.Token, nil).Want(http.StatusNoContent)
		if st := statusOf(t, env.Do("GET", "/users/me", amy.Token, nil).Want(200)); st != nil {
			t.Fatalf("status after delete: %v", st)
		}
		if row := feed(t, env, "user:"+amy.ID)["user/"+amy.ID]; strings.Contains(string(row.Data), `"status"`) {
			t.Fatalf("replicated profile keeps the cleared status: %s", row.Data)
		}
		env.Do("DELETE", "/users/me/status", amy.Token, nil).Want(http.StatusNoContent)
	})
	t.Run("invalid_input", func(t *testing.T) {
		past := wire.T(env.Clock.Now().Add(-time.Minute))
		far := wire.T(env.Clock.Now().Add(25 * time.Hour))
		for _, c := range []struct {
			name string
			body any
			code string
		}{
			{"no_text", map[string]any{"durationMinutes": 5}, "invalid_text"},
			{"blank_text", map[string]any{"text": "  ", "durationMinutes": 5}, "invalid_text"},
			{"long_text", map[string]any{"text": strings.Repeat("a", 281), "durationMinutes": 5}, "invalid_text"},
			{"no_expiry", map[string]any{"text": "x"}, "invalid_expires_at"},
			{"both_expiries", map[string]any{"text": "x", "durationMinutes": 5, "expiresAt": far}, "invalid_expires_at"},
			{"zero_minutes", map[string]any{"text": "x", "durationMinutes": 0}, "invalid_duration_minutes"},
			{"too_many_minutes", map[string]any{"text": "x", "durationMinutes": 1441}, "invalid_duration_minutes"},
			{"past_expiry", map[string]any{"text": "x", "expiresAt": past}, "invalid_expires_at"},
			{"far_expiry", map[string]any{"text": "x", "expiresAt": far}, "invalid_expires_at"},
			{"wrong_type", `{"text": "x", "durationMinutes": "5"}`, "invalid_duration_minutes"},
			{"fractional_minutes", `{"text": "x", "durationMinutes": 1.5}`, "invalid_duration_minutes"},
			{"huge_minutes", `{"text": "x", "durationMinutes": 1e30}`, "invalid_duration_minutes"},
			{"expiry_not_a_time", `{"text": "x", "expiresAt": "tomorrow"}`, "invalid_expires_at"},
			{"expiry_not_a_string", `{"text": "x", "expiresAt": 1757497518}`, "invalid_expires_at"},
			{"text_not_a_string", `{"text": ["x"], "durationMinutes": 5}`, "invalid_text"},
			{"empty_body", "", "empty_body"},
		} {
			t.Run(c.name, func(t *testing.T) {
				env.Do("PUT", "/users/me/status", amy.Token, c.body).WantError(400, c.code)
			})
		}
		if st := statusOf(t, env.Do("GET", "/users/me", amy.Token, nil).Want(200)); st != nil {
			t.Fatalf("bad input left a status: %v", st)
		}
	})
}
