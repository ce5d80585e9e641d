package client

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

func openWindowed(t *testing.T, env *servertest.Env, u servertest.User, window int) *Client {
	t.Helper()
	c, err := Open(context.Background(), Options{Server: env.URL, Dir: t.TempDir(), HTTPClient: &http.Client{Transport: env.Checked(nil)}, Now: env.Clock.Now, Window: window})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Login(context.Background(), u.Username, u.Password); err != nil {
		t.Fatal(err)
	}
	return c
}

// windowChat makes a group of bob's with amy in it and has bob send n
// messages, one second apart, after amy joined (so all are unread for
// her). It returns the chat and the message ids in the order sent.
func windowChat(t *testing.T, env *servertest.Env, amy, bob servertest.User, n int) (string, []string) {
	t.Helper()
	ctx := context.Background()
	svc := env.Server.Social()
	open := false
	ch, _, err := svc.CreateChat(ctx, social.Caller{UserID: bob.ID}, social.NewChat{IsGroup: true, Name: "Hikers", Category: "Friends", Participants: &[]string{}, Restricted: &open})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Join(ctx, social.Caller{UserID: amy.ID}, ch.ID); err != nil {
		t.Fatal(err)
	}
	return ch.ID, sendSome(t, env, bob, ch.ID, n)
}

func sendSome(t *testing.T, env *servertest.Env, from servertest.User, chat string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		env.Clock.Advance(time.Second)
		m, err := env.Server.Social().SendMessage(context.Background(), social.Caller{UserID: from.ID}, chat, social.NewMessage{Text: fmt.Sprintf("message %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Message.ID)
	}
	return ids
}

func messageIDs(t *testing.T, c *Client, chat string) []string {
	t.Helper()
	ms, err := c.Messages(context.Background(), chat)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func chatOf(t *testing.T, c *Client, id string) Chat {
	t.Helper()
	chats, err := c.Chats(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chats {
		if ch.ID == id {
			return ch
		}
	}
	t.Fatalf("chat %s not in the list", id)
	return Chat{}
}

func noDrift(t *testing.T, c *Client) {
	t.Helper()
	res, err := c.Verify(context.Background())
	if err != nil || len(res.Drifted) != 0 {
		t.Fatalf("verify: drifted %v, %v", res.Drifted, err)
	}
}

// A windowed initial sync holds each chat's newest messages and every
// other row; the unread count and last message are those of the whole
// chat; History brings the older messages, newest first, until the
// replica holds them all; checksums cover what the window holds.
func TestWindowedInitialSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, sent := windowChat(t, env, amy, bob, 30)
	c := openWindowed(t, env, amy, 10)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := messageIDs(t, c, chat); !slices.Equal(got, sent[20:]) {
		t.Fatalf("window holds %d messages %v, want the newest 10", len(got), got)
	}
	ch := chatOf(t, c, chat)
	if ch.Unread != 30 || ch.LastMessage == nil || ch.LastMessage.ID != sent[29] || ch.Name != "Hikers" || len(ch.Participants) != 2 {
		t.Fatalf("chat with a window: unread %d, last %v, name %q, %d participants; want 30 unread, last %s", ch.Unread, ch.LastMessage, ch.Name, len(ch.Participants), sent[29])
	}
	if n, err := c.OlderMessages(ctx, chat); err != nil || n != 20 {
		t.Fatalf("older messages: %d, %v; want 20", n, err)
	}
	noDrift(t, c)

	res, err := c.History(ctx, chat, 7)
	if err != nil || res.Fetched != 7 || res.Older != 13 || res.Complete {
		t.Fatalf("history page: %+v, %v; want 7 fetched, 13 older", res, err)
	}
	if got := messageIDs(t, c, chat); !slices.Equal(got, sent[13:]) {
		t.Fatalf("after one history page: %d messages", len(got))
	}
	noDrift(t, c)
	for range 3 {
		if res, err = c.History(ctx, chat, 7); err != nil {
			t.Fatal(err)
		}
	}
	if !res.Complete || res.Older != 0 {
		t.Fatalf("history to the beginning: %+v", res)
	}
	if got := messageIDs(t, c, chat); !slices.Equal(got, sent) {
		t.Fatalf("after the whole history: %d messages, want the 30 sent in order", len(got))
	}
	if res, err := c.History(ctx, chat, 7); err != nil || !res.Complete || res.Fetched != 0 {
		t.Fatalf("history of a complete chat: %+v, %v", res, err)
	}
	if ch := chatOf(t, c, chat); ch.Unread != 30 {
		t.Fatalf("unread %d after history, want 30", ch.Unread)
	}
	noDrift(t, c)

	// Later messages arrive whole and stay.
	more := sendSome(t, env, bob, chat, 3)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := messageIDs(t, c, chat); !slices.Equal(got, append(slices.Clone(sent), more...)) {
		t.Fatalf("after new messages: %d messages, want 33", len(got))
	}
	if err := c.MarkRead(ctx, chat); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if ch := chatOf(t, c, chat); ch.Unread != 0 {
		t.Fatalf("unread %d after marking read", ch.Unread)
	}
}

// The unread count stays exact with a window: read marks move it, a
// deleted message older than the window leaves the count and the older
// messages' count after the next sync.
func TestWindowUnreadStaysExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, sent := windowChat(t, env, amy, bob, 30)
	c := openWindowed(t, env, amy, 10)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Social().DeleteMessage(ctx, social.Caller{UserID: bob.ID}, chat, sent[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if ch := chatOf(t, c, chat); ch.Unread != 29 {
		t.Fatalf("unread %d after an older message was deleted, want 29", ch.Unread)
	}
	if n, _ := c.OlderMessages(ctx, chat); n != 19 {
		t.Fatalf("older messages %d, want 19", n)
	}
	// Amy reads on the server (another device): all read, the older ones
	// too.
	if _, err := env.Server.Social().MarkRead(ctx, social.Caller{UserID: amy.ID}, chat); err != nil {
		t.Fatal(err)
	}
	more := sendSome(t, env, bob, chat, 2)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ch := chatOf(t, c, chat)
	if ch.Unread != 2 || ch.LastMessage == nil || ch.LastMessage.ID != more[1] {
		t.Fatalf("after reading elsewhere and 2 new: unread %d, last %v", ch.Unread, ch.LastMessage)
	}
	noDrift(t, c)
}

// History fetched while others send: no message is skipped or read twice.
func TestHistoryWhileOthersSend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, sent := windowChat(t, env, amy, bob, 40)
	c := openWindowed(t, env, amy, 5)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var later []string
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 40 {
			m, err := env.Server.Social().SendMessage(ctx, social.Caller{UserID: bob.ID}, chat, social.NewMessage{Text: fmt.Sprintf("later %d", i)})
			if err != nil {
				sendErr = err
				return
			}
			later = append(later, m.Message.ID)
		}
	}()
	for range 100 {
		res, err := c.History(ctx, chat, 6)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if res.Complete {
			break
		}
	}
	wg.Wait()
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := messageIDs(t, c, chat)
	want := append(slices.Clone(sent), later...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("replica holds %d messages, want the %d sent, each once", len(got), len(want))
	}
	noDrift(t, c)
}

// Evict drops older messages from the replica; counts stay exact, the
// checksum covers what is left, and History brings them back.
func TestEvict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, sent := windowChat(t, env, amy, bob, 30)
	c := openWindowed(t, env, amy, WindowAll)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := messageIDs(t, c, chat); !slices.Equal(got, sent) {
		t.Fatalf("WindowAll holds %d messages, want 30", len(got))
	}
	n, err := c.Evict(ctx, chat, 5)
	if err != nil || n != 25 {
		t.Fatalf("evict: %d, %v; want 25 dropped", n, err)
	}
	if got := messageIDs(t, c, chat); !slices.Equal(got, sent[25:]) {
		t.Fatalf("after evict: %d messages", len(got))
	}
	ch := chatOf(t, c, chat)
	if ch.Unread != 30 || ch.LastMessage == nil || ch.LastMessage.ID != sent[29] {
		t.Fatalf("after evict: unread %d, last %v", ch.Unread, ch.LastMessage)
	}
	if older, _ := c.OlderMessages(ctx, chat); older != 25 {
		t.Fatalf("older %d, want 25", older)
	}
	noDrift(t, c)
	if _, err := c.Evict(ctx, chat, -1); err == nil {
		t.Fatal("a negative keep was taken")
	}
	res, err := c.History(ctx, chat, 100)
	if err != nil || res.Fetched != 25 || !res.Complete {
		t.Fatalf("history after evict: %+v, %v", res, err)
	}
	if got := messageIDs(t, c, chat); !slices.Equal(got, sent) {
		t.Fatalf("after history: %d messages", len(got))
	}
	if n, err := c.Evict(ctx, chat, 0); err != nil || n != 30 {
		t.Fatalf("evict all: %d, %v", n, err)
	}
	if ch := chatOf(t, c, chat); ch.Unread != 30 {
		t.Fatalf("unread %d with nothing held, want 30", ch.Unread)
	}
	noDrift(t, c)
}

// A window's checksum covers what it holds: a held message changed in the
// replica is caught and the chat read again (windowed).
func TestWindowChecksum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, sent := windowChat(t, env, amy, bob, 20)
	c := openWindowed(t, env, amy, 5)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.ExecContext(ctx, `UPDATE rows SET data = CAST(replace(CAST(data AS TEXT), 'message 17', 'forged') AS BLOB) WHERE id = ?`, sent[17]); err != nil {
		t.Fatal(err)
	}
	res, err := c.Verify(ctx)
	if err != nil || !slices.Equal(res.Drifted, []string{"chat:" + chat}) {
		t.Fatalf("verify: %v, %v", res.Drifted, err)
	}
	if got := messageIDs(t, c, chat); !slices.Equal(got, sent[15:]) {
		t.Fatalf("after repair: %d messages, want the newest 5", len(got))
	}
	noDrift(t, c)
}
