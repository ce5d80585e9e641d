package client_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/servertest"
)

// replicaHasUser reports whether d's replica holds a user row for id in
// any bucket.
func replicaHasUser(t *testing.T, d *device, id string) bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "replica.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM rows WHERE entity = 'user' AND id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func groupWith(t *testing.T, env *servertest.Env, owner servertest.User, name string, restricted bool, members ...servertest.User) string {
	t.Helper()
	ids := []string{}
	for _, m := range members {
		env.Do("POST", "/users/"+m.ID+"/follow", owner.Token, nil).Want(200)
		ids = append(ids, m.ID)
	}
	var out struct {
		Chat struct {
			ID string `json:"_id"`
		} `json:"chat"`
	}
	env.Do("POST", "/chats", owner.Token, map[string]any{"isGroup": true, "name": name, "category": "Study",
		"participants": ids, "restricted": restricted}).Want(201).Decode(&out)
	if out.Chat.ID == "" {
		t.Fatal("no chat id in the answer")
	}
	return out.Chat.ID
}

// TestProfileRenameReachesReplica: after Bob renames himself, Amy's
// replica shows the new name wherever Bob appears (chat list, creator,
// participants, last message, messages, connections, join requests) after
// one sync, although none of those rows was rewritten.
func TestProfileRenameReachesReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amyU, bobU, danU := env.Register("Amy"), env.Register("Bob"), env.Register("Dan")
	amy, bob := openDevice(t, env, ""), openDevice(t, env, "")
	login(t, env, amy, amyU)
	login(t, env, bob, bobU)

	if _, err := bob.Connect(ctx, amyU.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	mustSync(t, bob)
	mustSync(t, amy)
	if err := amy.Accept(ctx, bobU.ID); err != nil {
		t.Fatal(err)
	}
	mustSync(t, amy)
	chat := groupWith(t, env, bobU, "Book club", false, amyU)
	env.Do("POST", "/chats/"+chat+"/messages", bobU.Token, map[string]any{"text": "hello"}).Want(201)
	env.Do("POST", "/chats", bobU.Token, map[string]any{"user": amyU.ID}).Want(201)
	closed := groupWith(t, env, amyU, "Closed", true)
	env.Do("POST", "/requests", bobU.Token, map[string]any{"chat": closed}).Want(201)
	mustSync(t, amy)

	if _, err := bob.UpdateProfile(ctx, client.ProfileUpdate{Name: str("Robert")}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, bob)
	mustSync(t, amy)

	chats, err := amy.Chats(ctx, "Book club")
	if err != nil || len(chats) != 1 {
		t.Fatalf("chats = %v, %v", chats, err)
	}
	ch := chats[0]
	if ch.Creator.Name != "Robert" {
		t.Errorf("creator = %+v", ch.Creator)
	}
	if ch.LastMessage == nil || ch.LastMessage.User.Name != "Robert" {
		t.Errorf("last message = %+v", ch.LastMessage)
	}
	seen := false
	for _, p := range ch.Participants {
		if p.User.ID == bobU.ID {
			seen = true
			if p.User.Name != "Robert" {
				t.Errorf("participant = %+v", p.User)
			}
		}
	}
	if !seen {
		t.Errorf("bob is not among the participants %+v", ch.Participants)
	}
	if direct, err := amy.Chats(ctx, "Robert"); err != nil || len(direct) != 1 || direct[0].IsGroup {
		t.Errorf("the one-to-one chat is not named after Bob's new name: %+v, %v", direct, err)
	}
	msgs, err := amy.Messages(ctx, chat)
	if err != nil || len(msgs) != 1 || msgs[0].User.Name != "Robert" {
		t.Errorf("messages = %+v, %v", msgs, err)
	}
	conns, err := amy.Connections(ctx, "accepted")
	if err != nil || len(conns) != 1 || conns[0].User.Name != "Robert" || conns[0].From.Name != "Robert" {
		t.Errorf("connections = %+v, %v", conns, err)
	}
	reqs, err := amy.Requests(ctx)
	if err != nil || len(reqs) != 1 || reqs[0].User.Name != "Robert" {
		t.Errorf("requests = %+v, %v", reqs, err)
	}

	t.Run("a_user_hidden_by_a_block_is_not_replicated", func(t *testing.T) {
		dan := openDevice(t, env, "")
		login(t, env, dan, danU)
		if _, err := dan.Connect(ctx, amyU.ID, ""); err != nil {
			t.Fatal(err)
		}
		mustSync(t, dan)
		mustSync(t, amy)
		if !replicaHasUser(t, amy, danU.ID) {
			t.Fatal("a pending request did not bring its sender's profile")
		}
		env.Do("POST", "/users/"+danU.ID+"/block", amyU.Token, nil).Want(200)
		mustSync(t, amy)
		if replicaHasUser(t, amy, danU.ID) {
			t.Fatal("the profile of a blocked user stayed in the blocker's replica")
		}
		if _, err := dan.UpdateProfile(ctx, client.ProfileUpdate{Name: str("Daniel")}); err != nil {
			t.Fatal(err)
		}
		mustSync(t, dan)
		mustSync(t, amy)
		if replicaHasUser(t, amy, danU.ID) {
			t.Fatal("a blocked user's profile change reached the blocker's replica")
		}
		if replicaHasUser(t, dan, amyU.ID) {
			t.Fatal("the blocker's profile reached the blocked user's replica")
		}
	})
}
