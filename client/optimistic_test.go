package client_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/servertest"
)

func participantNames(ch client.Chat) []string {
	var out []string
	for _, p := range ch.Participants {
		name := p.User.Username
		if p.IsAdmin {
			name += "*"
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func chatByID(t *testing.T, d *device, id string) (client.Chat, bool) {
	t.Helper()
	chats, err := d.Chats(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chats {
		if ch.ID == id {
			return ch, true
		}
	}
	return client.Chat{}, false
}

// TestOfflineWritesShowAtOnce: with the network down, every write shows in
// the replica's reads before the server has it.
func TestOfflineWritesShowAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amyU, bobU, danU := env.Register("Amy"), env.Register("Bob"), env.Register("Dan")
	other := groupWith(t, env, amyU, "Old group", false, bobU)
	amy := openDevice(t, env, "")
	login(t, env, amy, amyU)
	amy.Connect(ctx, bobU.ID, "")
	amy.Connect(ctx, danU.ID, "")
	mustSync(t, amy)
	amy.net.down.Store(true)

	g, err := amy.CreateChat(ctx, client.NewChat{Group: true, Name: "Hikers", Category: "Outdoors", Users: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := chatByID(t, amy, g.ID)
	if !ok || ch.Name != "Hikers" || !ch.IsGroup {
		t.Fatalf("new group not shown: %+v", ch)
	}
	if got := participantNames(ch); !slices.Equal(got, []string{amyU.Username + "*", bobU.Username}) {
		t.Fatalf("participants %v", got)
	}
	if err := amy.AddParticipants(ctx, g.ID, danU.ID); err != nil {
		t.Fatal(err)
	}
	if err := amy.SetAdmin(ctx, g.ID, bobU.ID, true); err != nil {
		t.Fatal(err)
	}
	name := "Hill walkers"
	if err := amy.UpdateChat(ctx, g.ID, client.ChatUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	ch, _ = chatByID(t, amy, g.ID)
	if ch.Name != "Hill walkers" {
		t.Fatalf("rename not shown: %q", ch.Name)
	}
	if got := participantNames(ch); !slices.Equal(got, []string{amyU.Username + "*", bobU.Username + "*", danU.Username}) {
		t.Fatalf("participants after add and admin %v", got)
	}
	if err := amy.RemoveParticipant(ctx, g.ID, danU.ID); err != nil {
		t.Fatal(err)
	}
	ch, _ = chatByID(t, amy, g.ID)
	if got := participantNames(ch); !slices.Equal(got, []string{amyU.Username + "*", bobU.Username + "*"}) {
		t.Fatalf("participants after remove %v", got)
	}
	m, err := amy.SendMessage(ctx, g.ID, "first")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := amy.SendMessage(ctx, g.ID, "second"); err != nil {
		t.Fatal(err)
	}
	if err := amy.DeleteMessage(ctx, g.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	ms, err := amy.Messages(ctx, g.ID)
	if err != nil || len(ms) != 1 || ms[0].Text != "second" {
		t.Fatalf("messages after delete %+v %v", ms, err)
	}

	if _, ok := chatByID(t, amy, other); !ok {
		t.Fatal("the old group is not in the replica")
	}
	if err := amy.LeaveChat(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, ok := chatByID(t, amy, other); ok {
		t.Fatal("a chat left offline still shows")
	}

	direct, err := amy.CreateChat(ctx, client.NewChat{Users: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := amy.CreateChat(ctx, client.NewChat{Users: []string{bobU.ID}})
	if err != nil || again.ID != direct.ID {
		t.Fatalf("a second one-to-one chat with the same user: %s, first %s (%v)", again.ID, direct.ID, err)
	}
	if _, ok := chatByID(t, amy, direct.ID); !ok {
		t.Fatal("new one-to-one chat not shown")
	}

	r, err := amy.RequestToJoin(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := amy.Requests(ctx)
	if err != nil || len(rs) != 1 || rs[0].ID != r.ID || rs[0].Status != "pending" {
		t.Fatalf("requests %+v %v", rs, err)
	}
	bob, ok, err := amy.UserByUsername(ctx, "@"+bobU.Username)
	if err != nil || !ok || bob.ID != bobU.ID {
		t.Fatalf("offline lookup of bob: %+v %v %v", bob, ok, err)
	}
	if _, ok, _ := amy.UserByUsername(ctx, "nobody_here"); ok {
		t.Fatal("an unknown username resolved")
	}
}

// TestOneToOneChatCreatedOnTwoDevicesConverges: amy and bob each create
// their chat offline under their own ids and write into it; after both
// sync there is one chat, with every message once, on both replicas.
func TestOneToOneChatCreatedOnTwoDevicesConverges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amyU, bobU := env.Register("Amy"), env.Register("Bob")
	amy, bob := openDevice(t, env, ""), openDevice(t, env, "")
	login(t, env, amy, amyU)
	login(t, env, bob, bobU)
	if _, err := amy.Connect(ctx, bobU.ID, ""); err != nil {
		t.Fatal(err)
	}
	mustSync(t, amy)
	mustSync(t, bob)
	if err := bob.Accept(ctx, amyU.ID); err != nil {
		t.Fatal(err)
	}
	mustSync(t, bob)
	mustSync(t, amy)
	amy.net.down.Store(true)
	bob.net.down.Store(true)
	a, err := amy.CreateChat(ctx, client.NewChat{Users: []string{bobU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bob.CreateChat(ctx, client.NewChat{Users: []string{amyU.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID {
		t.Fatal("both devices proposed the same id")
	}
	for _, w := range []struct {
		d    *device
		chat string
		text string
	}{{amy, a.ID, "amy 1"}, {bob, b.ID, "bob 1"}, {amy, a.ID, "amy 2"}, {bob, b.ID, "bob 2"}} {
		if _, err := w.d.SendMessage(ctx, w.chat, w.text); err != nil {
			t.Fatal(err)
		}
	}
	amy.net.down.Store(false)
	bob.net.down.Store(false)
	mustSync(t, amy)
	if res := mustSync(t, bob); len(res.Rejected) != 0 {
		t.Fatalf("bob's writes rejected: %+v", res.Rejected)
	}
	mustSync(t, amy)
	for _, d := range []*device{amy, bob} {
		chats, err := d.Chats(ctx, "")
		if err != nil || len(chats) != 1 || chats[0].ID != a.ID {
			t.Fatalf("chats %+v %v, want the one chat %s", chats, err, a.ID)
		}
		ms, err := d.Messages(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range ms {
			if m.Pending {
				t.Fatalf("still pending: %+v", m)
			}
			texts = append(texts, m.Text)
		}
		slices.Sort(texts)
		if !slices.Equal(texts, []string{"amy 1", "amy 2", "bob 1", "bob 2"}) {
			t.Fatalf("messages %q", texts)
		}
		if st, err := d.Status(ctx); err != nil || st.Outbox+st.Awaiting != 0 {
			t.Fatalf("outbox %+v %v", st, err)
		}
	}
}

// TestOfflineGraphAndStatusShowAtOnce: follows, blocks and the meet-me
// status show before the server has them, and land with the next sync.
func TestOfflineGraphAndStatusShowAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amyU, bobU, catU := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")
	amy := openDevice(t, env, "")
	login(t, env, amy, amyU)
	mustSync(t, amy)
	amy.net.down.Store(true)
	for _, w := range []func() error{
		func() error { return amy.Follow(ctx, bobU.ID) },
		func() error { return amy.Follow(ctx, catU.ID) },
		func() error { return amy.Unfollow(ctx, catU.ID) },
		func() error { return amy.Block(ctx, catU.ID) },
		func() error { return amy.SetStatus(ctx, "Coffee?", time.Hour) },
	} {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		if f, err := amy.Following(ctx); err != nil || !slices.Equal(f, []string{bobU.ID}) {
			t.Fatalf("%s: following %v %v", when, f, err)
		}
		if b, err := amy.Blocked(ctx); err != nil || !slices.Equal(b, []string{catU.ID}) {
			t.Fatalf("%s: blocked %v %v", when, b, err)
		}
		if me, err := amy.Me(ctx); err != nil || me.Status == nil || me.Status.Text != "Coffee?" {
			t.Fatalf("%s: status %+v %v", when, me.Status, err)
		}
	}
	check("offline")
	amy.net.down.Store(false)
	if res := mustSync(t, amy); res.Pushed != 5 || len(res.Rejected) != 0 {
		t.Fatalf("sync %+v", res)
	}
	check("after the sync")
	if err := amy.Unblock(ctx, catU.ID); err != nil {
		t.Fatal(err)
	}
	if err := amy.SetStatus(ctx, "", 0); err != nil {
		t.Fatal(err)
	}
	if b, _ := amy.Blocked(ctx); len(b) != 0 {
		t.Fatalf("still blocked: %v", b)
	}
	if me, _ := amy.Me(ctx); me.Status != nil {
		t.Fatalf("status not cleared: %+v", me.Status)
	}
}

// TestGroupSettingsAtCreationOffline: a group created offline with the
// settings REST POST /chats takes (restricted, allowPublicPost, tags, an
// event) shows them at once and keeps them once the server has it.
func TestGroupSettingsAtCreationOffline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amyU, bobU := env.Register("Amy"), env.Register("Bob")
	amy := openDevice(t, env, "")
	login(t, env, amy, amyU)
	if err := amy.Follow(ctx, bobU.ID); err != nil {
		t.Fatal(err)
	}
	mustSync(t, amy)
	amy.net.down.Store(true)

	starts := time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)
	if _, err := amy.CreateChat(ctx, client.NewChat{Group: true, Name: "Summit day", Category: "Event", Users: []string{bobU.ID},
		Event: &client.NewChatEvent{StartsAt: starts, EndsAt: starts.Add(-time.Hour)}}); err == nil {
		t.Fatal("an Event group whose event ends before it starts was queued")
	}
	yes, no := true, false
	g, err := amy.CreateChat(ctx, client.NewChat{Group: true, Name: "Summit day", Category: "Event", Users: []string{bobU.ID},
		Restricted: &yes, AllowPublicPost: &no, Tags: []client.Tag{{Tag: "gear", Label: "Gear"}},
		Event: &client.NewChatEvent{StartsAt: starts, EndsAt: starts.Add(8 * time.Hour), Location: "Trailhead"}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		ch, ok := chatByID(t, amy, g.ID)
		if !ok {
			t.Fatalf("%s: the group is not shown", when)
		}
		if !ch.Restricted || ch.AllowPublicPost || !slices.Equal(ch.Tags, []client.Tag{{Tag: "gear", Label: "Gear"}}) {
			t.Fatalf("%s: settings %+v", when, ch)
		}
		if ev := ch.Event; ev == nil || ev.StartsAt.String() != "2030-05-01T09:00:00.000Z" || ev.EndsAt.String() != "2030-05-01T17:00:00.000Z" ||
			ev.Location != "Trailhead" || ev.IsActive {
			t.Fatalf("%s: event %+v", when, ch.Event)
		}
	}
	check("offline")

	amy.net.down.Store(false)
	mustSync(t, amy)
	if rs, err := amy.Rejections(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("rejections %+v %v", rs, err)
	}
	check("synced")
	if ch, _ := chatByID(t, amy, g.ID); ch.Event.ID == "" {
		t.Fatal("the synced event has no server id")
	}
}

// TestMessageWithFilesAndTagOffline: a message sent offline with a tag
// and files (already uploaded, by URL) shows them at once and keeps them
// once the server has it.
func TestMessageWithFilesAndTagOffline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amyU, bobU := env.Register("Amy"), env.Register("Bob")
	amy := openDevice(t, env, "")
	login(t, env, amy, amyU)
	if err := amy.Follow(ctx, bobU.ID); err != nil {
		t.Fatal(err)
	}
	mustSync(t, amy)
	amy.net.down.Store(true)

	g, err := amy.CreateChat(ctx, client.NewChat{Group: true, Name: "Gear swap", Category: "Outdoors", Users: []string{bobU.ID},
		Tags: []client.Tag{{Tag: "gear", Label: "Gear"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := amy.SendMessageWith(ctx, g.ID, client.NewMessage{Files: []client.NewFile{{URL: "https://cdn.example.com/a.jpg", Meta: json.RawMessage("{oops")}}}); err == nil {
		t.Fatal("a file whose meta is not JSON was queued")
	}
	m, err := amy.SendMessageWith(ctx, g.ID, client.NewMessage{Text: "tent for sale", Tag: "gear",
		Files: []client.NewFile{{URL: "https://cdn.example.com/tent.jpg", Meta: json.RawMessage(`{"fileName":"tent.jpg"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, pending bool) {
		t.Helper()
		ms, err := amy.Messages(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range ms {
			if got.ID == m.ID {
				if got.Text != "tent for sale" || got.Tag != "gear" || len(got.Files) != 1 || got.Files[0].URL != "https://cdn.example.com/tent.jpg" ||
					string(got.Files[0].Meta) != `{"fileName":"tent.jpg"}` || got.Pending != pending {
					t.Fatalf("%s: message %+v", when, got)
				}
				return
			}
		}
		t.Fatalf("%s: message not shown among %+v", when, ms)
	}
	check("offline", true)

	amy.net.down.Store(false)
	mustSync(t, amy)
	if rs, err := amy.Rejections(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("rejections %+v %v", rs, err)
	}
	check("synced", false)
}
