package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// countingTransport counts response bytes.
type countingTransport struct{ n atomic.Int64 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		res.Body = &countingBody{ReadCloser: res.Body, n: &t.n}
	}
	return res, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// seedChats writes chats × messages straight into the feed (the chat
// service's own write path is not needed to measure sync) and makes u a
// member of every chat. Messages look like the REST shape.
func seedChats(b *testing.B, env *servertest.Env, u servertest.User, chats, messages int) []string {
	b.Helper()
	ctx := context.Background()
	ids := make([]string, chats)
	for i := range ids {
		ids[i] = oid.New()
		chat := ids[i]
		err := env.Server.DB().Write(ctx, func(tx *store.Tx) error {
			bucket := "chat:" + chat
			data := fmt.Sprintf(`{"_id":%q,"name":"chat %d","createdAt":%q,"updatedAt":%q}`, chat, i, wire.T(tx.Now), wire.T(tx.Now))
			if _, err := tx.Put(ctx, bucket, "chat", chat, []byte(data)); err != nil {
				return err
			}
			pid := oid.New()
			if _, err := tx.Put(ctx, bucket, "participant", pid, []byte(fmt.Sprintf(`{"_id":%q,"chat":%q,"user":{"_id":%q,"name":%q,"username":%q},"isAdmin":true}`, pid, chat, u.ID, u.Name, u.Username))); err != nil {
				return err
			}
			for m := 0; m < messages; m++ {
				id := oid.New()
				msg := fmt.Sprintf(`{"_id":%q,"chat":%q,"user":{"_id":%q,"name":%q,"username":%q},"text":"message number %d of a fairly ordinary conversation","at":%q}`,
					id, chat, u.ID, u.Name, u.Username, m, wire.T(tx.Now))
				if _, err := tx.Put(ctx, bucket, "message", id, []byte(msg)); err != nil {
					return err
				}
			}
			return tx.AddBucketMember(ctx, bucket, u.ID)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

func benchClient(b *testing.B, env *servertest.Env, u servertest.User, tr http.RoundTripper, window int) *client.Client {
	b.Helper()
	c, err := client.Open(context.Background(), client.Options{Server: env.URL, Dir: b.TempDir(), HTTPClient: &http.Client{Transport: tr}, PageSize: 5000, Window: window})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if _, err := c.Login(context.Background(), u.Username, u.Password); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkInitialSync: a user in 100 chats of 1,000 messages each syncs
// into an empty replica, every message (full) or each chat's newest 200
// (window).
func BenchmarkInitialSync(b *testing.B) {
	env := servertest.New(b)
	u := env.Register("Bench")
	seedChats(b, env, u, 100, 1000)
	b.Run("full", func(b *testing.B) { benchInitialSync(b, env, u, client.WindowAll) })
	b.Run("window", func(b *testing.B) { benchInitialSync(b, env, u, 200) })
}

func benchInitialSync(b *testing.B, env *servertest.Env, u servertest.User, window int) {
	ctx := context.Background()
	var bytes, rows int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tr := &countingTransport{}
		c := benchClient(b, env, u, tr, window)
		tr.n.Store(0)
		b.StartTimer()
		res, err := c.Sync(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		bytes += tr.n.Load()
		rows += int64(res.Pulled)
		b.StartTimer()
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(secs/float64(b.N), "s/sync")
	b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "MiB/op")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
	b.ReportMetric(float64(rows)/secs, "rows/s")
}

// BenchmarkIncrementalPull: one new message in one of 100 (or 1,000)
// chats, then a Sync of an up-to-date replica of 10 (or 1,000) messages
// a chat.
func BenchmarkIncrementalPull(b *testing.B) {
	for _, n := range []struct{ chats, messages int }{{100, 10}, {1000, 10}, {100, 1000}} {
		b.Run(fmt.Sprintf("chats=%d/messages=%d", n.chats, n.messages), func(b *testing.B) { benchIncrementalPull(b, n.chats, n.messages) })
	}
}

func benchIncrementalPull(b *testing.B, n, messages int) {
	env := servertest.New(b)
	u := env.Register("Bench")
	chats := seedChats(b, env, u, n, messages)
	ctx := context.Background()
	c := benchClient(b, env, u, http.DefaultTransport, client.WindowAll)
	if _, err := c.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		chat := chats[i%len(chats)]
		if err := env.Server.DB().Write(ctx, func(tx *store.Tx) error {
			id := oid.New()
			_, err := tx.Put(ctx, "chat:"+chat, "message", id, []byte(`{"_id":"`+id+`","chat":"`+chat+`","text":"new"}`))
			return err
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := c.Sync(ctx)
		if err != nil || res.Pulled != 1 {
			b.Fatalf("sync: %+v %v", res, err)
		}
	}
}

// BenchmarkPush: mutations queued offline, then pushed (and the result
// pulled) by one Sync; reported as mutations per second.
func BenchmarkPush(b *testing.B) {
	env := servertest.New(b)
	u := env.Register("Bench")
	ctx := context.Background()
	c := benchClient(b, env, u, http.DefaultTransport, 0)
	const batch = 100
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := 0; j < batch; j++ {
			bio := fmt.Sprintf("bio %d/%d", i, j)
			if _, err := c.UpdateProfile(ctx, client.ProfileUpdate{Bio: &bio}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		res, err := c.Sync(ctx)
		if err != nil || res.Pushed != batch {
			b.Fatalf("sync: %+v %v", res, err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "mutations/s")
}

// BenchmarkChatList: the chat list (unread counts and last messages) of a
// replica holding 100 chats × 1,000 messages.
func BenchmarkChatList(b *testing.B) {
	env := servertest.New(b)
	u := env.Register("Bench")
	seedChats(b, env, u, 100, 1000)
	ctx := context.Background()
	c := benchClient(b, env, u, http.DefaultTransport, client.WindowAll)
	if _, err := c.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		chats, err := c.Chats(ctx, "")
		if err != nil || len(chats) != 100 {
			b.Fatalf("%d chats, %v", len(chats), err)
		}
	}
}
