package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// openLoggedIn opens a replica with the default window, logged in as u.
func openLoggedIn(t *testing.T, env *servertest.Env, u servertest.User) *Client {
	t.Helper()
	return openWindowed(t, env, u, 0)
}

// seedChat writes a chat in the spec's shapes straight into the feed: amy
// (who read up to lastRead) and bob as participants, and messages at the
// given offsets from lastRead by the given senders.
func seedChat(t *testing.T, env *servertest.Env, amy, bob servertest.User, lastRead time.Time, msgs []struct {
	by  servertest.User
	off time.Duration
}) (string, []string) {
	t.Helper()
	ctx := context.Background()
	chat := oid.New()
	var ids []string
	err := env.Server.DB().Write(ctx, func(tx *store.Tx) error {
		b := "chat:" + chat
		put := func(entity, id, data string) error {
			_, err := tx.Put(ctx, b, entity, id, []byte(data))
			return err
		}
		if err := put("chat", chat, fmt.Sprintf(`{"_id":%q,"name":"Study group","createdAt":%q,"updatedAt":%q}`, chat, wire.T(lastRead), wire.T(lastRead))); err != nil {
			return err
		}
		for _, p := range []struct {
			u    servertest.User
			read time.Time
		}{{amy, lastRead}, {bob, lastRead.Add(time.Hour)}} {
			id := oid.New()
			if err := put("participant", id, fmt.Sprintf(`{"_id":%q,"chat":%q,"user":{"_id":%q,"username":%q},"lastReadAt":%q}`, id, chat, p.u.ID, p.u.Username, wire.T(p.read))); err != nil {
				return err
			}
		}
		for i, m := range msgs {
			id := oid.New()
			ids = append(ids, id)
			if err := put("message", id, fmt.Sprintf(`{"_id":%q,"chat":%q,"user":{"_id":%q,"username":%q},"text":"m%d","at":%q}`, id, chat, m.by.ID, m.by.Username, i, wire.T(lastRead.Add(m.off)))); err != nil {
				return err
			}
		}
		if err := tx.AddBucketMember(ctx, b, amy.ID); err != nil {
			return err
		}
		return tx.AddBucketMember(ctx, b, bob.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	return chat, ids
}

func TestChats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	read := env.Clock.Now().Add(-time.Hour)
	chat, ids := seedChat(t, env, amy, bob, read, []struct {
		by  servertest.User
		off time.Duration
	}{{bob, -time.Minute}, {bob, time.Minute}, {bob, 2 * time.Minute}, {amy, 3 * time.Minute}})
	c := openLoggedIn(t, env, amy)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("unread_counts_others_messages_after_last_read", func(t *testing.T) {
		chats, err := c.Chats(ctx, "")
		if err != nil || len(chats) != 1 {
			t.Fatalf("chats %+v %v", chats, err)
		}
		if chats[0].Unread != 2 {
			t.Fatalf("unread %d, want 2 (bob's two messages after amy's lastReadAt)", chats[0].Unread)
		}
		if chats[0].LastMessage == nil || chats[0].LastMessage.ID != ids[3] {
			t.Fatalf("lastMessage %+v", chats[0].LastMessage)
		}
		if len(chats[0].Participants) != 2 {
			t.Fatalf("participants %+v", chats[0].Participants)
		}
	})
	t.Run("search_by_name", func(t *testing.T) {
		if chats, _ := c.Chats(ctx, "STUDY"); len(chats) != 1 {
			t.Fatalf("search: %+v", chats)
		}
		if chats, _ := c.Chats(ctx, "nope"); len(chats) != 0 {
			t.Fatalf("search: %+v", chats)
		}
	})
	t.Run("messages_in_order_with_queued_last", func(t *testing.T) {
		if _, err := c.SendMessage(ctx, chat, "queued"); err != nil {
			t.Fatal(err)
		}
		ms, err := c.Messages(ctx, chat)
		if err != nil || len(ms) != 5 {
			t.Fatalf("messages %+v %v", ms, err)
		}
		for i := 0; i < 4; i++ {
			if ms[i].ID != ids[i] {
				t.Fatalf("message %d is %s, want %s", i, ms[i].ID, ids[i])
			}
		}
		if !ms[4].Pending || ms[4].Text != "queued" {
			t.Fatalf("queued message %+v", ms[4])
		}
		chats, _ := c.Chats(ctx, "")
		if chats[0].LastMessage == nil || chats[0].LastMessage.Text != "queued" {
			t.Fatalf("lastMessage %+v", chats[0].LastMessage)
		}
	})
	t.Run("mark_read_clears_unread_at_once", func(t *testing.T) {
		if err := c.MarkRead(ctx, chat); err != nil {
			t.Fatal(err)
		}
		if chats, _ := c.Chats(ctx, ""); chats[0].Unread != 0 {
			t.Fatalf("unread after mark read: %d", chats[0].Unread)
		}
	})
}

func TestVerifyRepairsADriftedBucket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, _ := seedChat(t, env, amy, bob, env.Clock.Now(), []struct {
		by  servertest.User
		off time.Duration
	}{{bob, time.Second}, {bob, 2 * time.Second}})
	c := openLoggedIn(t, env, amy)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The replica loses a row behind the protocol's back.
	if _, err := c.db.ExecContext(ctx, `DELETE FROM rows WHERE entity = 'message' AND id = (SELECT MIN(id) FROM rows WHERE entity = 'message')`); err != nil {
		t.Fatal(err)
	}
	if ms, _ := c.Messages(ctx, chat); len(ms) != 1 {
		t.Fatalf("setup: %d messages", len(ms))
	}
	if res, _ := c.Sync(ctx); len(res.Drifted) != 0 {
		t.Fatal("a plain sync checked checksums")
	}
	res, err := c.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Drifted) != 1 || res.Drifted[0] != "chat:"+chat {
		t.Fatalf("drifted %v", res.Drifted)
	}
	if ms, _ := c.Messages(ctx, chat); len(ms) != 2 {
		t.Fatalf("after repair: %d messages", len(ms))
	}
	if res, _ := c.Verify(ctx); len(res.Drifted) != 0 {
		t.Fatalf("still drifted: %v", res.Drifted)
	}
}
