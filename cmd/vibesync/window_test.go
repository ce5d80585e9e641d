package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/social"
)

// TestCLIHistoryAndEvict: against the real server, a replica keeps each
// chat's newest 200 messages (client.DefaultWindow); vibesync history
// fetches older ones 100 at a time (the default N) or N at a time, also
// while others send, and what it fetched stays readable offline; vibesync
// evict works offline and history fetches the dropped messages again.
// Unread counts stay exact throughout (docs/sync.md, "Windows and
// history").
func TestCLIHistoryAndEvict(t *testing.T) {
	t.Parallel()
	srv := newRestartable(t)
	ctx := context.Background()
	amyU, bobU := srv.env.Register("Amy"), srv.env.Register("Bob")
	svc := srv.env.Server.Social()
	open := false
	group, _, err := svc.CreateChat(ctx, social.Caller{UserID: bobU.ID}, social.NewChat{IsGroup: true,
		Name: "Hikers", Category: "Friends", Participants: &[]string{}, Restricted: &open})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Join(ctx, social.Caller{UserID: amyU.ID}, group.ID); err != nil {
		t.Fatal(err)
	}
	srv.env.Clock.Advance(time.Second) // unread counts messages after the last read, strictly
	say := func(text string) {
		t.Helper()
		srv.env.Clock.Advance(time.Millisecond)
		if _, err := svc.SendMessage(ctx, social.Caller{UserID: bobU.ID}, group.ID, social.NewMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 350 {
		say(fmt.Sprintf("m%03d", i))
	}
	amy := cli{t: t, server: srv.URL(), data: t.TempDir()}
	amy.run("login", amyU.Username)

	line := regexp.MustCompile(`(?m)@` + regexp.QuoteMeta(bobU.Username) + `: (\S+)$`)
	held := func(want int, first, last string) string {
		t.Helper()
		out := amy.run("messages", "Hikers")
		got := line.FindAllStringSubmatch(out, -1)
		if len(got) != want || got[0][1] != first || got[len(got)-1][1] != last {
			t.Fatalf("want %d messages %s…%s, got %d:\n%s", want, first, last, len(got), out)
		}
		return out
	}
	unread := func(want int) {
		t.Helper()
		if out := amy.run("chats"); !strings.Contains(out, fmt.Sprintf("%3d unread", want)) {
			t.Fatalf("want %d unread:\n%s", want, out)
		}
	}

	// The first sync brings the newest 200 and says how many are older.
	if out := held(200, "m150", "m349"); !strings.Contains(out, "(150 older messages on the server: vibesync history Hikers)") {
		t.Fatalf("older messages not announced:\n%s", out)
	}
	unread(350)

	// History while Bob keeps sending: 100, then the rest.
	for i := range 5 {
		say(fmt.Sprintf("n%d", i))
	}
	if out := amy.run("history", "Hikers"); !strings.Contains(out, "fetched 100 older messages; 50 older still on the server") {
		t.Fatalf("history: %s", out)
	}
	held(300, "m050", "m349")
	say("n5")
	if out := amy.run("history", "Hikers", "1000"); !strings.Contains(out, "fetched 50 older messages; the replica holds every message of this chat") {
		t.Fatalf("history 1000: %s", out)
	}
	if out := held(350, "m000", "m349"); strings.Contains(out, "older messages on the server") {
		t.Fatalf("replica holds every message, yet:\n%s", out)
	}
	amy.run("sync")
	held(356, "m000", "n5")
	unread(356)

	// Offline: the fetched history stays; evict works; history needs the
	// server.
	srv.stop()
	held(356, "m000", "n5")
	if out := amy.run("evict", "Hikers", "10"); !strings.Contains(out, "dropped 346 messages from the replica") {
		t.Fatalf("evict: %s", out)
	}
	if out := held(10, "m346", "n5"); !strings.Contains(out, "(346 older messages on the server: vibesync history Hikers)") {
		t.Fatalf("after evict:\n%s", out)
	}
	unread(356)
	if _, err := amy.try("history", "Hikers"); err == nil {
		t.Fatal("history with the server stopped succeeded")
	}

	// Back online: history fetches the evicted messages again.
	srv.restart()
	if out := amy.run("history", "Hikers", "20"); !strings.Contains(out, "fetched 20 older messages; 326 older still on the server") {
		t.Fatalf("history after evict: %s", out)
	}
	held(30, "m326", "n5")
	unread(356)
	amy.run("read", "Hikers")
	unread(0)
}
