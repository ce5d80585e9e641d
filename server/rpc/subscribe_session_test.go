package rpc_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/server/servertest"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// TestSubscribeEndsWithItsSession: a Subscribe stream outlives its access
// token's check at the start but not its login: once the session ends
// (logout, or a reused refresh token revoking its family), the hub's next
// session check ends the stream with UNAUTHENTICATED; streams of other
// logins stay open.
func TestSubscribeEndsWithItsSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// A stream that is never ended fails the test at this deadline
	// instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open := func(t *testing.T, token string) *connect.ServerStreamForClient[syncv1.SubscribeResponse] {
		t.Helper()
		req := connect.NewRequest(&syncv1.SubscribeRequest{ProtocolVersion: 1})
		req.Header().Set("Authorization", "Bearer "+token)
		s, err := h.client(servertest.User{}).Subscribe(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if !s.Receive() {
			t.Fatalf("no first position: %v", s.Err())
		}
		return s
	}
	check := func(t *testing.T) {
		t.Helper()
		if err := h.env.Server.Hub().Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	login := func(username, password string) (pair struct{ AccessToken, RefreshToken string }) {
		h.env.Do("POST", "/auth/login", "", map[string]string{"username": username, "password": password}).Want(http.StatusOK).Decode(&pair)
		return pair
	}

	t.Run("logout", func(t *testing.T) {
		amy := h.env.Register("Amy")
		other := login(amy.Username, amy.Password)
		ended, stays := open(t, amy.Token), open(t, other.AccessToken)
		h.env.Do("POST", "/auth/logout", amy.Token, nil).Want(http.StatusNoContent)
		check(t)
		if ended.Receive() {
			t.Fatalf("position %d after logout", ended.Msg().Position)
		}
		wantCode(t, ended.Err(), connect.CodeUnauthenticated, "token_revoked")
		// The other login's stream is still told of amy's writes.
		h.env.Do("PATCH", "/users/me", other.AccessToken, map[string]string{"bio": "still here"}).Want(http.StatusOK)
		if !stays.Receive() {
			t.Fatalf("other login's stream ended: %v", stays.Err())
		}
	})
	t.Run("ended_from_another_device", func(t *testing.T) {
		cat := h.env.Register("Cat")
		lost := login(cat.Username, cat.Password)
		s := open(t, lost.AccessToken)
		var list struct {
			Sessions []struct {
				ID      string `json:"_id"`
				Current bool   `json:"current"`
			} `json:"sessions"`
		}
		h.env.Do("GET", "/auth/sessions", lost.AccessToken, nil).Want(http.StatusOK).Decode(&list)
		var id string
		for _, x := range list.Sessions {
			if x.Current {
				id = x.ID
			}
		}
		h.env.Do("DELETE", "/auth/sessions/"+id, cat.Token, nil).Want(http.StatusNoContent)
		check(t)
		if s.Receive() {
			t.Fatalf("position %d after the session was ended", s.Msg().Position)
		}
		wantCode(t, s.Err(), connect.CodeUnauthenticated, "token_revoked")
	})
	t.Run("refresh_token_reuse", func(t *testing.T) {
		bob := h.env.Register("Bob")
		var pair struct{ AccessToken, RefreshToken string }
		h.env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": bob.RefreshToken}).Want(http.StatusOK).Decode(&pair)
		s := open(t, pair.AccessToken)
		h.env.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": bob.RefreshToken}).
			WantError(http.StatusUnauthorized, "refresh_token_reused")
		check(t)
		if s.Receive() {
			t.Fatalf("position %d after the session was revoked", s.Msg().Position)
		}
		wantCode(t, s.Err(), connect.CodeUnauthenticated, "token_revoked")
	})
}
