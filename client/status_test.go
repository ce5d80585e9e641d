package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// Item 7: the status an app shows. A Sync reports uploading with the
// queue size, then downloading with rows received of the pull's total,
// then online with the last sync time; offline, the last error; and
// another process sharing the data folder sees what was persisted.
func TestStatusTellsOnlineUploadingDownloadingAndLastError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	for range 20 {
		env.Do("POST", "/chats/"+chat+"/messages", bob.Token, map[string]any{"text": "hello"}).Want(201)
	}
	var mu sync.Mutex
	var seen []Status
	net := &recordingNet{}
	dir := t.TempDir()
	c, err := Open(ctx, Options{Server: env.URL, Dir: dir, HTTPClient: &http.Client{Transport: net}, Now: env.Clock.Now, PageSize: 7,
		OnStatus: func(s Status) { mu.Lock(); seen = append(seen, s); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Status(ctx); st.Online || !st.LastSync.IsZero() || st.LastError != "" {
		t.Fatalf("before any sync: %+v", st)
	}
	if _, err := c.SendMessage(ctx, chat, "mine"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) == 0 || seen[len(seen)-1].Outbox != 1 {
		t.Fatalf("queueing a change told %+v, want 1 queued", seen)
	}
	seen = nil
	mu.Unlock()
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	var uploading, progress bool
	var received []int64
	var total int64
	for _, s := range seen {
		if s.Uploading && s.Outbox == 1 {
			uploading = true
		}
		if s.Downloading && s.Received > 0 {
			received = append(received, s.Received)
			total = s.Total
			progress = progress || s.Received < s.Total
		}
	}
	final := seen[len(seen)-1]
	mu.Unlock()
	if !uploading {
		t.Error("no status said uploading with the queued change")
	}
	if len(received) < 3 || !progress || total != int64(res.Pulled) || received[len(received)-1] != total {
		t.Errorf("download progress %v of %d, pulled %d: want page by page up to the pull's total", received, total, res.Pulled)
	}
	if !final.Online || final.Uploading || final.Downloading || final.LastSync.IsZero() || final.LastError != "" || final.Outbox != 0 {
		t.Errorf("after the sync: %+v", final)
	}

	net.set(func(n *recordingNet) { n.down = true })
	if _, err := c.Sync(ctx); !errors.Is(err, ErrOffline) {
		t.Fatalf("offline sync: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Online || !strings.Contains(st.LastError, "unreachable") || st.LastSync.IsZero() {
		t.Errorf("after an offline sync: %+v", st)
	}
	other, err := Open(ctx, Options{Server: env.URL, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if st2, err := other.Status(ctx); err != nil || st2.Online || st2.LastError != st.LastError || !st2.LastSync.Equal(st.LastSync) {
		t.Errorf("another process sees %+v (%v), want the persisted %+v", st2, err, st)
	}
}

// Item 7: a Sync says what arrived, kind and a one-line summary.
func TestSyncSaysWhatArrived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	c := openLoggedIn(t, env, amy)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	env.Do("POST", "/chats/"+chat+"/messages", bob.Token, map[string]any{"text": "see you\nat noon"}).Want(201)
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, a := range res.Arrived {
		lines = append(lines, a.Entity+" "+a.Summary)
	}
	want := "message @" + bob.Username + ": see you at noon"
	if !strings.Contains(strings.Join(lines, "\n"), want) {
		t.Fatalf("arrived %q, want %q", lines, want)
	}
}
