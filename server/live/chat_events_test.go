package live_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
)

// member is a user with two devices, possibly on different instances.
type member struct {
	servertest.User
	env     *servertest.Env // where markers are recorded
	devices []*servertest.Socket
}

func join(env *servertest.Env, u servertest.User, where ...*servertest.Env) *member {
	m := &member{User: u, env: env}
	for _, e := range where {
		m.devices = append(m.devices, e.Dial(u.Token))
	}
	return m
}

// seen records a marker for each user, then reads each device up to its
// marker and returns, per device, the events that came before it. Events
// are delivered in order, so the answer is everything that reached the
// device for the writes made before the call.
func seen(t *testing.T, ms ...*member) map[*servertest.Socket][]string {
	t.Helper()
	out := map[*servertest.Socket][]string{}
	for _, m := range ms {
		record(t, m.env, "", "user:"+m.ID, "marker", nil)
		for _, d := range m.devices {
			var names []string
			for {
				f := d.Next()
				if f.Event == "marker" {
					break
				}
				names = append(names, f.Event)
			}
			out[d] = names
		}
	}
	return out
}

func wantEvent(t *testing.T, got map[*servertest.Socket][]string, event string, m *member, devices ...int) {
	t.Helper()
	for _, i := range devices {
		if !slices.Contains(got[m.devices[i]], event) {
			t.Errorf("%s device %d did not get %s (got %v)", m.Name, i, event, got[m.devices[i]])
		}
	}
}

func wantNoEvent(t *testing.T, got map[*servertest.Socket][]string, event string, m *member, devices ...int) {
	t.Helper()
	for _, i := range devices {
		if slices.Contains(got[m.devices[i]], event) {
			t.Errorf("%s device %d got %s (got %v)", m.Name, i, event, got[m.devices[i]])
		}
	}
}

// TestChatEvents drives the chat endpoints over REST with devices spread
// over two instances and checks that each documented event reaches exactly
// the users it names, on every device but the one that caused it.
func TestChatEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	one := servertest.Start(t, dir, quickSignal)
	two := servertest.Start(t, dir, quickSignal)
	amy := join(one, one.Register("Amy"), one, two) // owner: phone on one, laptop on two
	ben := join(one, one.Register("Ben"), two, two)
	cat := join(one, one.Register("Cat"), one, one) // never in the chat
	dan := join(one, one.Register("Dan"), two, one) // joins, then is removed
	all := []*member{amy, ben, cat, dan}
	one.Do("POST", "/users/"+ben.ID+"/follow", amy.Token, nil).Want(http.StatusOK)

	var chatID string
	t.Run("chat-created", func(t *testing.T) {
		var body struct {
			Chat struct {
				ID string `json:"_id"`
			} `json:"chat"`
		}
		one.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Study", "category": "Study",
			"participants": []string{ben.ID}, "socket": amy.devices[0].ID}).Want(http.StatusCreated).Decode(&body)
		chatID = body.Chat.ID
		got := seen(t, all...)
		wantEvent(t, got, "chat-created", amy, 1)
		wantNoEvent(t, got, "chat-created", amy, 0) // the device that created it
		wantEvent(t, got, "chat-created", ben, 0, 1)
		wantNoEvent(t, got, "chat-created", cat, 0, 1)
		wantNoEvent(t, got, "chat-created", dan, 0, 1)
	})
	t.Run("message-created", func(t *testing.T) {
		two.Do("POST", "/chats/"+chatID+"/messages", ben.Token, map[string]any{"text": "hi", "socket": ben.devices[1].ID}).Want(http.StatusCreated)
		got := seen(t, all...)
		wantEvent(t, got, "message-created", amy, 0, 1)
		wantEvent(t, got, "message-created", ben, 0)
		wantNoEvent(t, got, "message-created", ben, 1)
		wantNoEvent(t, got, "message-created", cat, 0, 1)
		wantNoEvent(t, got, "message-created", dan, 0, 1)
	})
	t.Run("chat-joined", func(t *testing.T) {
		two.Do("POST", "/chats/"+chatID+"/participants", dan.Token, nil).Want(http.StatusCreated)
		got := seen(t, all...)
		for _, m := range []*member{amy, ben, dan} {
			wantEvent(t, got, "chat-joined", m, 0, 1)
		}
		wantNoEvent(t, got, "chat-joined", cat, 0, 1)
	})
	t.Run("chat-updated", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("name", "Study hall")
		_ = mw.WriteField("socket", amy.devices[1].ID)
		_ = mw.Close()
		req, _ := http.NewRequest("PUT", two.URL+"/chats/"+chatID, &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+amy.Token)
		res, err := two.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("PUT /chats: status %d", res.StatusCode)
		}
		got := seen(t, all...)
		wantEvent(t, got, "chat-updated", amy, 0)
		wantNoEvent(t, got, "chat-updated", amy, 1)
		wantEvent(t, got, "chat-updated", ben, 0, 1)
		wantEvent(t, got, "chat-updated", dan, 0, 1)
		wantNoEvent(t, got, "chat-updated", cat, 0, 1)
	})
	t.Run("chat-admin-access-granted_and_removed", func(t *testing.T) {
		one.Do("POST", "/chats/"+chatID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(http.StatusOK)
		one.Do("DELETE", "/chats/"+chatID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(http.StatusOK)
		got := seen(t, all...)
		wantEvent(t, got, "chat-admin-access-granted", ben, 0, 1)
		wantEvent(t, got, "chat-admin-access-removed", ben, 0, 1)
		for _, m := range []*member{amy, cat, dan} {
			wantNoEvent(t, got, "chat-admin-access-granted", m, 0, 1)
			wantNoEvent(t, got, "chat-admin-access-removed", m, 0, 1)
		}
	})
	t.Run("chat-participant-removed_and_chat-access-removed", func(t *testing.T) {
		one.Do("DELETE", "/chats/"+chatID+"/participants/"+dan.ID, amy.Token, nil).Want(http.StatusNoContent)
		got := seen(t, all...)
		wantEvent(t, got, "chat-participant-removed", amy, 0, 1)
		wantEvent(t, got, "chat-participant-removed", ben, 0, 1)
		wantEvent(t, got, "chat-access-removed", dan, 0, 1)
		wantNoEvent(t, got, "chat-participant-removed", cat, 0, 1)
		wantNoEvent(t, got, "chat-access-removed", amy, 0, 1)
	})
	t.Run("removed_member_hears_no_more", func(t *testing.T) {
		one.Do("POST", "/chats/"+chatID+"/messages", amy.Token, map[string]any{"text": "without dan"}).Want(http.StatusCreated)
		got := seen(t, all...)
		wantEvent(t, got, "message-created", ben, 0, 1)
		wantNoEvent(t, got, "message-created", dan, 0, 1)
	})
	t.Run("chat-join-request_and_chat-request-accepted", func(t *testing.T) {
		var room struct {
			Chat struct {
				ID string `json:"_id"`
			} `json:"chat"`
		}
		one.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Club", "category": "Study",
			"participants": []string{}, "restricted": true}).Want(http.StatusCreated).Decode(&room)
		var req struct {
			Request struct {
				ID string `json:"_id"`
			} `json:"request"`
		}
		one.Do("POST", "/requests", cat.Token, map[string]any{"chat": room.Chat.ID}).Want(http.StatusCreated).Decode(&req)
		got := seen(t, all...)
		wantEvent(t, got, "chat-join-request", amy, 0, 1)
		for _, m := range []*member{ben, cat, dan} {
			wantNoEvent(t, got, "chat-join-request", m, 0, 1)
		}
		two.Do("PATCH", "/requests/"+req.Request.ID, amy.Token, map[string]any{"status": "accepted", "socket": amy.devices[1].ID}).Want(http.StatusOK)
		got = seen(t, all...)
		wantEvent(t, got, "chat-request-accepted", cat, 0, 1)
		wantEvent(t, got, "chat-joined", cat, 0, 1)
		wantEvent(t, got, "chat-joined", amy, 0)
		wantNoEvent(t, got, "chat-joined", amy, 1) // the device that accepted
		for _, m := range []*member{ben, dan} {
			wantNoEvent(t, got, "chat-request-accepted", m, 0, 1)
			wantNoEvent(t, got, "chat-joined", m, 0, 1)
		}
	})
	t.Run("chat-participant-status", func(t *testing.T) {
		now := one.Clock.Now()
		var party struct {
			Chat struct {
				ID string `json:"_id"`
			} `json:"chat"`
		}
		one.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Party", "category": "Event",
			"participants": []string{ben.ID},
			"event":        map[string]any{"startsAt": now.Add(-time.Minute), "endsAt": now.Add(time.Hour), "location": "Pool"}}).
			Want(http.StatusCreated).Decode(&party)
		one.Do("POST", "/chats/"+party.Chat.ID+"/participants/"+ben.ID+"/status", amy.Token, map[string]any{"status": "accepted"}).
			Want(http.StatusOK)
		got := seen(t, all...)
		wantEvent(t, got, "chat-participant-status", ben, 0, 1)
		for _, m := range []*member{amy, cat, dan} {
			wantNoEvent(t, got, "chat-participant-status", m, 0, 1)
		}
	})
	t.Run("chat-deleted", func(t *testing.T) {
		one.Do("DELETE", "/chats/"+chatID, amy.Token, map[string]any{"socket": amy.devices[0].ID}).Want(http.StatusNoContent)
		got := seen(t, all...)
		wantEvent(t, got, "chat-deleted", amy, 1)
		wantNoEvent(t, got, "chat-deleted", amy, 0)
		wantEvent(t, got, "chat-deleted", ben, 0, 1)
		wantNoEvent(t, got, "chat-deleted", cat, 0, 1)
		wantNoEvent(t, got, "chat-deleted", dan, 0, 1)
	})
}
