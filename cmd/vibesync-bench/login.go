package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/ratelimit"
)

// loginFlood is how many wrong-password logins arrive at once.
const loginFlood = 200

// benchLoginFlood sends loginFlood concurrent wrong-password logins (real
// argon2id cost, no rate limits) and reports how far the resident memory
// rose above where it stood before, the answer times and how the answers
// split between 401 (checked) and 503 (turned away while the password
// checkers were busy). Run it alone (-only loginflood): memory the Go
// runtime took earlier in the process is not given back at once.
func benchLoginFlood(ctx context.Context, b *bench) error {
	inst, err := b.startServer(ctx, b.opts.synchronous, func(c *server.Config) {
		c.Password = auth.DefaultPasswordParams
		off := ratelimit.Off()
		c.RateLimits = &off
	})
	if err != nil {
		return err
	}
	defer inst.stop()
	a := api{hc: b.hc, base: inst.url}
	if _, err := a.register("flooded"); err != nil {
		return err
	}
	rss0, _ := residentMemory()
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if rss := currentRSS(); rss > peak {
				peak = rss
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loginFlood, MaxConnsPerHost: loginFlood}}
	type answer struct {
		status int
		took   time.Duration
	}
	answers := make([]answer, loginFlood)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequestWithContext(ctx, "POST", inst.url+"/auth/login",
				strings.NewReader(`{"username":"flooded","password":"wrong password `+strconv.Itoa(i)+`"}`))
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			res, err := hc.Do(req)
			if err != nil {
				answers[i] = answer{status: -1, took: time.Since(t0)}
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			answers[i] = answer{status: res.StatusCode, took: time.Since(t0)}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)
	close(stop)
	<-sampled
	statuses := map[int]int{}
	var took []time.Duration
	for _, a := range answers {
		statuses[a.status]++
		took = append(took, a.took)
	}
	slices.Sort(took)
	b.report("loginflood.rss_growth_peak", float64(peak-min(peak, rss0))/(1<<20), "MiB")
	b.report("loginflood.p50", float64(percentile(took, 50).Microseconds())/1000, "ms")
	b.report("loginflood.p99", float64(percentile(took, 99).Microseconds())/1000, "ms")
	b.report("loginflood.max", float64(took[len(took)-1].Microseconds())/1000, "ms")
	b.report("loginflood.wall", float64(wall.Microseconds())/1000, "ms")
	b.report("loginflood.answers_401", float64(statuses[http.StatusUnauthorized]), "requests")
	b.report("loginflood.answers_503", float64(statuses[http.StatusServiceUnavailable]), "requests")
	if other := loginFlood - statuses[http.StatusUnauthorized] - statuses[http.StatusServiceUnavailable]; other > 0 {
		fmt.Fprintf(b.out, "# loginflood: %d answers neither 401 nor 503: %v\n", other, statuses)
	}
	return nil
}

// currentRSS is this process's resident set size (VmRSS) without forcing
// a collection, for sampling during a run.
func currentRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
