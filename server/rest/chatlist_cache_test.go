package rest_test

import (
	"bytes"
	"net/http"
	"testing"

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
	// Cold: the page, participants, presence. Warm: the page.
	if warmCost != coldCost-2 {
		t.Fatalf("statements: %d cold, %d warm; want the participants and presence reads gone", coldCost, warmCost)
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
