package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

type exportDoc struct {
	Format     string `json:"format"`
	ExportedAt string `json:"exportedAt"`
	Profile    struct {
		ID        string `json:"_id"`
		Username  string `json:"username"`
		CreatedAt string `json:"createdAt"`
	} `json:"profile"`
	Sessions      []map[string]any `json:"sessions"`
	Connections   []map[string]any `json:"connections"`
	Following     []map[string]any `json:"following"`
	Followers     []map[string]any `json:"followers"`
	Blocked       []map[string]any `json:"blocked"`
	Chats         []map[string]any `json:"chats"`
	Messages      []map[string]any `json:"messages"`
	Requests      []map[string]any `json:"requests"`
	Notifications []map[string]any `json:"notifications"`
}

func TestExport(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithRateLimits(ratelimit.Config{Exports: ratelimit.Limit{Every: 10 * time.Minute, Burst: 3}}))
	amy, bob, cat := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")
	meetMe(t, env, bob)
	env.Do("POST", "/connections/"+bob.ID, amy.Token, nil).Want(201)
	env.Do("POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(200)
	follow(t, env, amy, cat)
	follow(t, env, bob, amy)
	club := group(t, env, amy, "Club", nil, bob)
	sendText(t, env, amy, club.ID, "first")
	sendText(t, env, bob, club.ID, "not amy's")
	sendText(t, env, amy, club.ID, "second")
	closed := group(t, env, cat, "Closed", map[string]any{"restricted": true})
	env.Do("POST", "/requests", amy.Token, map[string]any{"chat": closed.ID}).Want(201)

	t.Run("streams_everything_of_the_caller", func(t *testing.T) {
		r := env.Do("GET", "/users/me/export", amy.Token, nil).Want(200)
		if ct, cd := r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"); !strings.HasPrefix(ct, "application/json") ||
			!strings.Contains(cd, `attachment; filename="vibesync-export-`+amy.Username+`-`) {
			t.Fatalf("Content-Type %q, Content-Disposition %q", ct, cd)
		}
		var doc exportDoc
		r.Decode(&doc)
		if doc.Format != "vibesync-export/1" || doc.Profile.ID != amy.ID || doc.Profile.Username != amy.Username || doc.Profile.CreatedAt == "" {
			t.Fatalf("head %+v", doc)
		}
		if len(doc.Sessions) != 1 || len(doc.Connections) != 1 || len(doc.Following) != 2 || len(doc.Followers) != 1 || len(doc.Blocked) != 0 {
			t.Fatalf("sessions %d connections %d following %d followers %d blocked %d, want 1 1 2 (cat, and bob through the group fixture) 1 0",
				len(doc.Sessions), len(doc.Connections), len(doc.Following), len(doc.Followers), len(doc.Blocked))
		}
		if len(doc.Chats) != 1 || doc.Chats[0]["_id"] != club.ID {
			t.Fatalf("chats %v, want the club only", doc.Chats)
		}
		if len(doc.Messages) != 2 || doc.Messages[0]["text"] != "first" || doc.Messages[1]["text"] != "second" {
			t.Fatalf("messages %v, want amy's two, oldest first", doc.Messages)
		}
		if len(doc.Requests) != 1 || len(doc.Notifications) == 0 {
			t.Fatalf("requests %d notifications %d, want 1 and some", len(doc.Requests), len(doc.Notifications))
		}
		if strings.Contains(string(r.Body), "not amy's") {
			t.Fatal("another user's message is in the export")
		}
	})
	t.Run("rate_limited_to_3_then_one_every_10_minutes", func(t *testing.T) {
		for range 2 { // one was spent above
			env.Do("GET", "/users/me/export", amy.Token, nil).Want(200)
		}
		env.Do("GET", "/users/me/export", amy.Token, nil).WantError(http.StatusTooManyRequests, "rate_limited")
		env.Do("GET", "/users/me/export", bob.Token, nil).Want(200)
		env.Clock.Advance(10 * time.Minute)
		env.Do("GET", "/users/me/export", amy.Token, nil).Want(200)
	})
	t.Run("no_token_is_401", func(t *testing.T) {
		env.Do("GET", "/users/me/export", "", nil).WantError(401, "token_missing")
	})
}

// seedMessages writes n messages of u into chatID straight through the
// store (the rules would take n transactions).
func seedMessages(tb testing.TB, env *servertest.Env, u servertest.User, chatID string, n int) {
	tb.Helper()
	ctx := context.Background()
	err := env.Server.DB().Write(ctx, func(tx *store.Tx) error {
		at := tx.Now
		for i := range n {
			at = at.Add(time.Millisecond)
			m := store.Message{ID: oid.NewAt(at), ChatID: chatID, UserID: u.ID, Text: fmt.Sprintf("message %d %s", i, strings.Repeat("x", 200)), CreatedAt: at}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkExport exports a user with 2,000 and with 20,000 messages and
// reports the peak heap growth during the export (sampled every
// millisecond): the export reads in pages, so the peak must not grow
// with the number of messages while the bytes written do.
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{2_000, 20_000} {
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
			env := servertest.New(b)
			amy := env.Register("Amy")
			var chat struct {
				Chat struct {
					ID string `json:"_id"`
				} `json:"chat"`
			}
			env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Diary", "category": "Study", "participants": []string{}}).Want(201).Decode(&chat)
			seedMessages(b, env, amy, chat.Chat.ID, n)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				var m runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > peak.Load() {
						peak.Store(m.HeapAlloc)
					}
				}
			})
			var bytes int64
			b.ResetTimer()
			for range b.N {
				req, _ := http.NewRequest("GET", env.URL+"/users/me/export", nil)
				req.Header.Set("Authorization", "Bearer "+amy.Token)
				res, err := env.HTTP.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				bytes, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 {
					b.Fatalf("export: %d %v", res.StatusCode, err)
				}
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			growth := int64(peak.Load()) - int64(base.HeapAlloc)
			b.ReportMetric(float64(growth)/(1<<20), "peak-heap-growth-MiB")
			b.ReportMetric(float64(bytes)/(1<<20), "export-MiB")
		})
	}
}

// The export document is valid JSON even when it is large.
func TestExportOfThousandsOfMessagesIsOneValidDocument(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy := env.Register("Amy")
	var chat struct {
		Chat struct {
			ID string `json:"_id"`
		} `json:"chat"`
	}
	env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Diary", "category": "Study", "participants": []string{}}).Want(201).Decode(&chat)
	seedMessages(t, env, amy, chat.Chat.ID, 2_345)
	r := env.Do("GET", "/users/me/export", amy.Token, nil).Want(200)
	var doc exportDoc
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Messages) != 2345 || doc.Messages[0]["text"] != "message 0 "+strings.Repeat("x", 200) {
		t.Fatalf("%d messages, first %v", len(doc.Messages), doc.Messages[0]["text"])
	}
}
