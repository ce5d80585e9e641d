package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// heads returns the positions of the change feed and the live events.
func heads(t *testing.T, env *servertest.Env) (feed, events int64) {
	t.Helper()
	ctx := context.Background()
	err := env.Server.DB().Read(ctx, func(tx *store.Tx) (err error) {
		if feed, err = tx.FeedHead(ctx); err != nil {
			return err
		}
		events, err = tx.EventHead(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return feed, events
}

// TestRejectedWritesLeaveNoTrace sends writes that every rule refuses and
// checks that none left a feed row or a live event behind.
func TestRejectedWritesLeaveNoTrace(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob, cat, dan, eve, fay := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan"), env.Register("Eve"), env.Register("Fay")
	connect(t, env, amy, bob)
	request(t, env, cat, amy)
	declined := v1Request(t, env, dan, amy, "")
	env.Do("POST", v1(amy, fmt.Sprintf("/decline/%d", declined)), amy.Token, nil).Want(200)
	env.Do("POST", "/users/"+amy.ID+"/block", eve.Token, nil).Want(200)
	meetMe(t, env, bob)
	meetMe(t, env, eve)
	pending := v1Request(t, env, fay, amy, "")
	amysNote := int64(env.Do("GET", v1(amy, "/notifications"), amy.Token, nil).Want(200).JSON()["notifications"].([]any)[0].(map[string]any)["id"].(float64))

	for _, c := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"already_connected", "POST", "/connections/" + bob.ID, amy.Token, nil, 409, "already_connected"},
		{"request_exists", "POST", "/connections/" + amy.ID, cat.Token, nil, 409, "request_exists"},
		{"request_received", "POST", "/connections/" + cat.ID, amy.Token, nil, 409, "request_received"},
		{"no_active_status", "POST", "/connections/" + fay.ID, bob.Token, nil, 409, "no_active_status"},
		{"message_too_long", "POST", "/connections/" + bob.ID, fay.Token, map[string]string{"message": strings.Repeat("ü", 501)}, 400, "invalid_message"},
		{"blocked_target", "POST", "/connections/" + eve.ID, amy.Token, nil, 404, "user_not_found"},
		{"accept_as_sender", "POST", "/connections/" + amy.ID + "/accept", cat.Token, nil, 403, "not_recipient"},
		{"accept_accepted", "POST", "/connections/" + amy.ID + "/accept", bob.Token, nil, 409, "already_connected"},
		{"accept_declined", "POST", "/connections/" + dan.ID + "/accept", amy.Token, nil, 409, "request_processed"},
		{"delete_accepted", "DELETE", "/connections/" + bob.ID, amy.Token, nil, 409, "connection_accepted"},
		{"delete_declined", "DELETE", "/connections/" + dan.ID, amy.Token, nil, 409, "request_processed"},
		{"v1_decline_declined", "POST", v1(amy, fmt.Sprintf("/decline/%d", declined)), amy.Token, nil, 409, "request_processed"},
		{"v1_remove_pending", "DELETE", v1(amy, fmt.Sprintf("/%d", pending)), amy.Token, nil, 409, "connection_not_active"},
		{"v1_request_declined_again", "POST", v1(dan, "/request"), dan.Token, map[string]string{"receiver_id": amy.ID}, 409, "request_processed"},
		{"v1_for_someone_else", "POST", v1(amy, "/request"), bob.Token, map[string]string{"receiver_id": cat.ID}, 403, "not_your_account"},
		{"status_bad_expiry", "PUT", "/users/me/status", amy.Token, map[string]any{"text": "x", "expiresAt": "soon"}, 400, "invalid_expires_at"},
		{"follow_blocked", "POST", "/users/" + amy.ID + "/follow", eve.Token, nil, 404, "user_not_found"},
		{"read_someone_elses_notification", "POST", v1(bob, fmt.Sprintf("/notifications/%d/read", amysNote)), bob.Token, nil, 404, "notification_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, e := heads(t, env)
			title := http.StatusText(c.status)
			if strings.HasPrefix(c.path, "/v1/") && c.status == http.StatusNotFound {
				title = "Resource not found" // v1's documented wording
			}
			env.Do(c.method, c.path, c.token, c.body).WantErrorTitled(c.status, title, c.code)
			if f2, e2 := heads(t, env); f2 != f || e2 != e {
				t.Fatalf("a refused %s %s wrote %d feed rows and %d events", c.method, c.path, f2-f, e2-e)
			}
		})
	}
	if got := env.Do("GET", "/connections/"+cat.ID+"/status", amy.Token, nil).Want(http.StatusOK).JSON()["status"]; got != "pending" {
		t.Fatalf("cat's request after refused writes = %v", got)
	}
}
