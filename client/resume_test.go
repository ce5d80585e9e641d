package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

var resumeLarge = flag.Bool("resume.large", false, "measure the resumed initial sync at 100,000 rows")

// pullMeter counts the bytes of Pull answers read off the wire, per
// answer, and runs cut before the n-th Pull request is sent.
type pullMeter struct {
	mu    sync.Mutex
	pages []int64
	calls int
	cutAt int // the Pull request that is cut off (0: none)
	cut   func()
}

type meteredBody struct {
	io.ReadCloser
	m *pullMeter
	i int
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.m.mu.Lock()
	b.m.pages[b.i] += int64(n)
	b.m.mu.Unlock()
	return n, err
}

func (m *pullMeter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != pullPath {
		return http.DefaultTransport.RoundTrip(r)
	}
	m.mu.Lock()
	m.calls++
	if m.calls == m.cutAt {
		m.mu.Unlock()
		m.cut()
		return nil, errors.New("process killed")
	}
	i := len(m.pages)
	m.pages = append(m.pages, 0)
	m.mu.Unlock()
	res, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	res.Body = &meteredBody{ReadCloser: res.Body, m: m, i: i}
	return res, nil
}

func (m *pullMeter) total() (sum, largest int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.pages {
		sum += n
		largest = max(largest, n)
	}
	return sum, largest
}

// Item 8: an initial sync cut off halfway (the process killed) resumes
// after its last fully received page: the bytes fetched after the restart
// are at most what was left plus one page, the replica's rows change only
// at the checkpoint, and the result equals an uninterrupted sync.
func TestKilledInitialSyncResumesAfterItsLastPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chats, perChat, pageSize := 20, 500, 1000
	if *resumeLarge {
		chats, perChat, pageSize = 100, 1000, 5000
	}
	env := servertest.New(t)
	amy := env.Register("Amy")
	err := env.Server.DB().Write(ctx, func(tx *store.Tx) error {
		for range chats {
			chat := oid.New()
			b := "chat:" + chat
			if _, err := tx.Put(ctx, b, "chat", chat, []byte(fmt.Sprintf(`{"_id":%q,"name":"chat"}`, chat))); err != nil {
				return err
			}
			for range perChat {
				id := oid.New()
				if _, err := tx.Put(ctx, b, "message", id, []byte(fmt.Sprintf(`{"_id":%q,"chat":%q,"text":"a message of some ordinary length, like most"}`, id, chat))); err != nil {
					return err
				}
			}
			if err := tx.AddBucketMember(ctx, b, amy.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	open := func(dir string, m *pullMeter) *Client {
		c, err := Open(ctx, Options{Server: env.URL, Dir: dir, HTTPClient: &http.Client{Transport: m}, Now: env.Clock.Now, PageSize: pageSize})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Login(ctx, amy.Username, amy.Password); err != nil {
			t.Fatal(err)
		}
		return c
	}

	// The reference: one uninterrupted initial sync.
	whole := &pullMeter{}
	ref := open(t.TempDir(), whole)
	defer ref.Close()
	want, err := ref.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wholeBytes, _ := whole.total()
	pages := len(whole.pages)
	if pages < 4 {
		t.Fatalf("setup: %d pages", pages)
	}

	// The same, killed when half its pages arrived.
	dir := t.TempDir()
	syncCtx, kill := context.WithCancel(ctx)
	before := &pullMeter{cutAt: pages/2 + 1, cut: kill}
	c := open(dir, before)
	if _, err := c.Sync(syncCtx); err == nil {
		t.Fatal("the killed sync succeeded")
	}
	if n := allRows(t, c); n != 0 {
		t.Fatalf("the replica holds %d rows before the checkpoint", n)
	}
	c.Close()
	beforeBytes, largest := before.total()

	after := &pullMeter{}
	c = open(dir, after)
	defer c.Close()
	got, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	afterBytes, _ := after.total()
	left := wholeBytes - beforeBytes
	t.Logf("%d rows in %d pages of %d: whole sync %d bytes; killed after %d pages (%d bytes); after the restart %d bytes in %d pages (left: %d, one page: up to %d)",
		want.Pulled, pages, pageSize, wholeBytes, len(before.pages), beforeBytes, afterBytes, len(after.pages), left, largest)
	if afterBytes > left+largest {
		t.Errorf("after the restart %d bytes were fetched; at most %d were left plus one page of %d", afterBytes, left, largest)
	}
	if got.Pulled != want.Pulled || allRows(t, c) != allRows(t, ref) {
		t.Errorf("resumed sync pulled %d (replica %d rows), uninterrupted %d (%d rows)", got.Pulled, allRows(t, c), want.Pulled, allRows(t, ref))
	}
	if res, err := c.Verify(ctx); err != nil || len(res.Drifted) != 0 {
		t.Errorf("verify after resuming: %+v %v", res, err)
	}
}

func allRows(t *testing.T, c *Client) int {
	t.Helper()
	var n int
	if err := c.db.QueryRow(`SELECT COUNT(*) FROM rows`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
