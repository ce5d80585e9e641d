package remote_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
)

// TestMessageThroughputOverTheWire measures POST /chats/:id/messages with
// 64 concurrent senders (each in its own group chat) against a libSQL
// server over HTTP, at 0 ms and at 10 ms added per round trip. It only
// runs with VIBESYNC_REMOTE_BENCH=1 and reports; it asserts nothing about
// speed. docs/PERFORMANCE.md quotes its output.
func TestMessageThroughputOverTheWire(t *testing.T) {
	if os.Getenv("VIBESYNC_REMOTE_BENCH") == "" {
		t.Skip("set VIBESYNC_REMOTE_BENCH=1 to measure")
	}
	db, env := startRemote(t)
	const senders = 64
	ss := make([][2]string, senders) // token, chat
	peer := env.Register("bench.peer")
	for i := range ss {
		u := env.Register(fmt.Sprintf("sender%02d", i))
		env.Do("POST", "/users/"+peer.ID+"/follow", u.Token, nil).Want(http.StatusOK)
		var made struct {
			Chat struct {
				ID string `json:"_id"`
			}
		}
		env.Do("POST", "/chats", u.Token, map[string]any{"isGroup": true, "name": fmt.Sprint("Bench ", i), "category": "Study",
			"participants": []string{peer.ID}}).
			Want(http.StatusCreated).Decode(&made)
		ss[i] = [2]string{u.Token, made.Chat.ID}
	}
	d := 10 * time.Second
	if v, err := time.ParseDuration(os.Getenv("VIBESYNC_REMOTE_BENCH_DURATION")); err == nil {
		d = v
	}
	for _, lat := range []time.Duration{0, 10 * time.Millisecond} {
		db.SetLatency(lat)
		rate, p50, p99, errs := load(env, ss, d)
		t.Logf("latency %s: %.1f messages/s, p50 %s, p99 %s, %d errors (%d senders, %s)", lat, rate, p50, p99, errs, senders, d)
	}
}

// load runs closed-loop senders (token, chat) for d after a 1s warm-up and
// returns messages/s and latency percentiles.
func load(env *servertest.Env, senders [][2]string, d time.Duration) (float64, time.Duration, time.Duration, int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(senders)}}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	start := time.Now().Add(time.Second)
	stop := start.Add(d)
	var wg sync.WaitGroup
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				req, _ := servertest.NewRequest(context.Background(), "POST", env.URL+"/chats/"+s[1]+"/messages", s[0],
					map[string]any{"text": fmt.Sprint("bench ", n)})
				began := time.Now()
				res, err := client.Do(req)
				took := time.Since(began)
				ok := err == nil && res.StatusCode == http.StatusCreated
				if res != nil {
					res.Body.Close()
				}
				if began.Before(start) {
					continue
				}
				mu.Lock()
				if ok && began.Add(took).Before(stop) {
					lat = append(lat, took)
				} else if !ok {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		return 0, 0, 0, errs
	}
	slices.Sort(lat)
	return float64(len(lat)) / d.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100], errs
}
