package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

// participantsOf returns the participants of chat id in amy's GET /chats
// through env as user id → (name, isOnline, lastReadAt).
type shownParticipant struct {
	Name       string
	IsOnline   bool
	IsAdmin    bool
	LastReadAt string
}

func participantsShown(t *testing.T, env *servertest.Env, u servertest.User, chatID string) map[string]shownParticipant {
	t.Helper()
	chats, _ := listChats(t, env, u, "")
	for _, c := range chats {
		if c.ID != chatID {
			continue
		}
		out := map[string]shownParticipant{}
		for _, p := range c.Participants {
			var usr struct {
				ID       string `json:"_id"`
				Name     string `json:"name"`
				IsOnline bool   `json:"isOnline"`
			}
			jsonUnmarshal(p.User, &usr)
			out[usr.ID] = shownParticipant{Name: usr.Name, IsOnline: usr.IsOnline, IsAdmin: p.IsAdmin, LastReadAt: p.LastReadAt}
		}
		return out
	}
	t.Fatalf("chat %s not in the list", chatID)
	return nil
}

// A second GET /chats of unchanged chats reads neither the participants
// nor their presence again: fewer statements, the same bytes.
func TestChatListKeepsParticipantsInMemory(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
	group(t, env, amy, "One", nil, ben, cat)
	group(t, env, amy, "Two", nil, ben)
	get := func() ([]byte, int64) {
		before := env.Server.DB().QueryCount()
		r := env.Do("GET", "/chats", amy.Token, nil).Want(http.StatusOK)
		return r.Body, env.Server.DB().QueryCount() - before
	}
	cold, coldCost := get()
	warm, warmCost := get()
	if !bytes.Equal(cold, warm) {
		t.Fatalf("answers differ:\n%s\n%s", cold, warm)
	}
	// Warm: the list. Cold besides: the chats' rows, participants, the
	// newest messages and recent messages' times (two), presence.
	if warmCost != 1 || coldCost != warmCost+5 {
		t.Fatalf("statements: %d cold, %d warm; want 6 and 1 (rows, participants, messages and presence read once)", coldCost, warmCost)
	}
}

// What the list shows of participants changes at once on every instance
// sharing the database, whichever instance made the change; presence made
// on this instance shows at once, on another within PresenceCacheTTL.
func TestChatListCacheAcrossInstances(t *testing.T) {
	t.Parallel()
	a := servertest.New(t)
	b := servertest.Start(t, a.Dir)
	amy, ben, cat := a.Register("Amy"), a.Register("Ben"), a.Register("Cat")
	g := group(t, a, amy, "Shared", map[string]any{"restricted": false}, ben)
	sendText(t, a, ben, g.ID, "hello")

	first := participantsShown(t, a, amy, g.ID) // warms a's cache
	if len(first) != 2 || first[ben.ID].Name != "Ben" || first[ben.ID].IsOnline {
		t.Fatalf("before: %+v", first)
	}

	t.Run("profile_change_through_another_instance", func(t *testing.T) {
		b.Do("PATCH", "/users/me", ben.Token, map[string]any{"name": "Benjamin"}).Want(http.StatusOK)
		if got := participantsShown(t, a, amy, g.ID); got[ben.ID].Name != "Benjamin" {
			t.Fatalf("after the rename: %+v", got)
		}
	})
	t.Run("chat_change_through_another_instance", func(t *testing.T) {
		putChat(t, b, amy, g.ID, map[string]string{"name": "Renamed", "category": "Work"}, nil).Want(http.StatusOK)
		if c := shownChat(t, a, amy, g.ID); c.Name != "Renamed" || c.Category != "Work" {
			t.Fatalf("after the chat changed: name %q, category %q", c.Name, c.Category)
		}
	})
	t.Run("join_through_another_instance", func(t *testing.T) {
		b.Do("POST", "/chats/"+g.ID+"/participants", cat.Token, nil).Want(http.StatusCreated)
		if got := participantsShown(t, a, amy, g.ID); len(got) != 3 || got[cat.ID].Name != "Cat" {
			t.Fatalf("after cat joined: %+v", got)
		}
	})
	t.Run("read_mark_through_another_instance", func(t *testing.T) {
		before := participantsShown(t, a, amy, g.ID)[amy.ID].LastReadAt
		b.Clock.Advance(social.PresenceCacheTTL)
		b.Do("POST", "/chats/"+g.ID+"/read", amy.Token, nil).Want(http.StatusOK)
		if got := participantsShown(t, a, amy, g.ID)[amy.ID].LastReadAt; got == before {
			t.Fatalf("lastReadAt still %s after marking read", got)
		}
	})
	t.Run("presence", func(t *testing.T) {
		a.Dial(ben.Token) // this instance: shown at once
		if got := participantsShown(t, a, amy, g.ID); !got[ben.ID].IsOnline || got[cat.ID].IsOnline {
			t.Fatalf("ben's socket on this instance: %+v", got)
		}
		b.Dial(cat.Token) // another instance: within PresenceCacheTTL
		a.Clock.Advance(social.PresenceCacheTTL)
		if got := participantsShown(t, a, amy, g.ID); !got[cat.ID].IsOnline {
			t.Fatalf("cat's socket on the other instance, %v later: %+v", social.PresenceCacheTTL, got)
		}
	})
}

// shownChat returns chat id as u's GET /chats shows it through env.
func shownChat(t *testing.T, env *servertest.Env, u servertest.User, id string) chatJSON {
	t.Helper()
	chats, _ := listChats(t, env, u, "?limit=100")
	for _, c := range chats {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("chat %s not in %s's list", id, u.Name)
	return chatJSON{}
}

// The newest message and unread counts come from memory while a chat's
// messages do not change, and are exact at once on every instance
// sharing the database when they do: a send, a deletion and a read mark
// made through another instance show on the next list.
func TestChatListMessagesAcrossInstances(t *testing.T) {
	t.Parallel()
	a := servertest.New(t)
	b := servertest.Start(t, a.Dir)
	amy, ben := a.Register("Amy"), a.Register("Ben")
	g := group(t, a, amy, "Shared", nil, ben)
	other := group(t, a, amy, "Quiet", nil, ben)
	sendText(t, a, ben, g.ID, "one")
	a.Clock.Advance(time.Millisecond)
	sendText(t, a, ben, g.ID, "two")
	a.Clock.Advance(time.Millisecond)
	sendText(t, a, ben, other.ID, "elsewhere")

	if c := shownChat(t, a, amy, g.ID); c.LastMessage == nil || c.LastMessage.Text != "two" || c.Unread != 2 {
		t.Fatalf("before: %+v, unread %d", c.LastMessage, c.Unread)
	}
	before := a.Server.DB().QueryCount()
	shownChat(t, a, amy, g.ID)
	if n := a.Server.DB().QueryCount() - before; n != 1 {
		t.Fatalf("a warm list ran %d statements, want 1", n)
	}

	b.Clock.Advance(time.Second)
	three := sendText(t, b, ben, g.ID, "three")
	if c := shownChat(t, a, amy, g.ID); c.LastMessage == nil || c.LastMessage.ID != three.ID || c.Unread != 3 {
		t.Fatalf("after a send through the other instance: %+v, unread %d", c.LastMessage, c.Unread)
	}
	if c := shownChat(t, a, amy, other.ID); c.LastMessage == nil || c.LastMessage.Text != "elsewhere" || c.Unread != 1 {
		t.Fatalf("the other chat: %+v, unread %d", c.LastMessage, c.Unread)
	}

	b.Do("DELETE", "/chats/"+g.ID+"/messages/"+three.ID, ben.Token, nil).Want(http.StatusNoContent)
	if c := shownChat(t, a, amy, g.ID); c.LastMessage == nil || c.LastMessage.Text != "two" || c.Unread != 2 {
		t.Fatalf("after deleting the newest message through the other instance: %+v, unread %d", c.LastMessage, c.Unread)
	}

	b.Clock.Advance(time.Second)
	b.Do("POST", "/chats/"+g.ID+"/read", amy.Token, nil).Want(http.StatusOK)
	if c := shownChat(t, a, amy, g.ID); c.Unread != 0 || c.LastMessage == nil || c.LastMessage.Text != "two" {
		t.Fatalf("after marking read through the other instance: %+v, unread %d", c.LastMessage, c.Unread)
	}
	// Ben's own messages are never unread for him.
	if c := shownChat(t, a, ben, g.ID); c.Unread != 0 {
		t.Fatalf("ben's unread in his own messages: %d", c.Unread)
	}
}

// Unread counts stay exact past the recent messages the list keeps in
// memory: a reader who is far behind is counted by the database.
func TestChatListUnreadPastTheWindow(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
	g := group(t, env, amy, "Busy", nil, ben, cat)
	const sent = 150
	for i := range sent {
		env.Clock.Advance(time.Millisecond)
		from := ben
		if i%3 == 0 {
			from = amy
		}
		sendText(t, env, from, g.ID, fmt.Sprintf("message %d", i))
		if i == 139 { // cat has read up to here: 10 unread after it
			env.Clock.Advance(time.Millisecond)
			env.Do("POST", "/chats/"+g.ID+"/read", cat.Token, nil).Want(http.StatusOK)
		}
	}
	// Amy sent every third message (0, 3, …, 147): 50 of them.
	if c := shownChat(t, env, amy, g.ID); c.Unread != sent-50 {
		t.Fatalf("amy's unread: %d, want %d", c.Unread, sent-50)
	}
	if c := shownChat(t, env, ben, g.ID); c.Unread != 50 {
		t.Fatalf("ben's unread: %d, want 50", c.Unread)
	}
	if c := shownChat(t, env, cat, g.ID); c.Unread != 10 || c.LastMessage == nil || c.LastMessage.Text != fmt.Sprintf("message %d", sent-1) {
		t.Fatalf("cat's unread: %d, want 10; newest %+v", c.Unread, c.LastMessage)
	}
}

// The newest message's author and the creator are shown populated even
// once they left the chat (their profiles are then not among the
// participants).
func TestChatListAuthorWhoLeft(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
	g := group(t, env, amy, "Leavers", nil, ben, cat)
	sendText(t, env, ben, g.ID, "bye")
	parts := map[string]string{}
	for _, p := range shownChat(t, env, cat, g.ID).Participants {
		parts[userID(t, p.User)] = p.ID
	}
	// Amy hands the group to Cat, then Amy and Ben leave.
	env.Do("POST", "/chats/"+g.ID+"/participants/"+parts[cat.ID]+"/admin", amy.Token, nil).Want(http.StatusOK)
	env.Do("DELETE", "/chats/"+g.ID+"/participants/"+parts[ben.ID], ben.Token, nil).Want(http.StatusNoContent)
	env.Do("DELETE", "/chats/"+g.ID+"/participants/"+parts[amy.ID], amy.Token, nil).Want(http.StatusNoContent)
	c := shownChat(t, env, cat, g.ID)
	if c.LastMessage == nil || c.LastMessage.User.ID != ben.ID || c.LastMessage.User.Name != "Ben" || c.ParticipantsCount != 1 {
		t.Fatalf("after ben left: %+v, %d participants", c.LastMessage, c.ParticipantsCount)
	}
	var creator struct {
		ID   string `json:"_id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(c.Creator, &creator); err != nil || creator.ID != amy.ID || creator.Name != "Amy" {
		t.Fatalf("creator after amy left: %s (%v)", c.Creator, err)
	}
}
