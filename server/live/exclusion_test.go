package live_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// TestSocketExclusionIsTheCallersOwn: X-Socket-Id keeps a write's events
// from the caller's own socket only. Naming another user's socket id
// (they are not secret: a socket id is visible to whoever learns it)
// silences nothing.
func TestSocketExclusionIsTheCallersOwn(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	env.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK)
	var chat struct {
		Chat struct {
			ID string `json:"_id"`
		} `json:"chat"`
	}
	env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "G", "category": "Study", "participants": []string{bob.ID}}).
		Want(http.StatusCreated).Decode(&chat)
	amys, bobs := env.Dial(amy.Token), env.Dial(bob.Token)
	// A socket dialled just after the chat was created may still hear its
	// chat-created event; only message frames matter here.
	message := func(s *servertest.Socket) servertest.Frame {
		t.Helper()
		for {
			if f := s.Next(); f.Event == "message-created" {
				return f
			}
		}
	}
	send := func(u servertest.User, socket, text string) {
		t.Helper()
		req, err := servertest.NewRequest(t.Context(), "POST", env.URL+"/chats/"+chat.Chat.ID+"/messages", u.Token, map[string]string{"text": text})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Socket-Id", socket)
		res, err := env.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("send: %d", res.StatusCode)
		}
	}
	t.Run("another user's socket id still gets the event", func(t *testing.T) {
		send(bob, amys.ID, "spoofed")
		message(amys)
		message(bobs)
	})
	t.Run("the caller's own socket is skipped", func(t *testing.T) {
		send(bob, bobs.ID, "own")
		message(amys)
		send(amy, amys.ID, "marker")
		if f := message(bobs); !strings.Contains(string(f.Data), "marker") {
			t.Fatalf("bob's own socket got its own message back before the marker: %s", f.Data)
		}
	})
}
