package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// request builds the i-th request of worker w.
type request func(w, i int) (*http.Request, error)

// loadResult is what one closed-loop load run measured.
type loadResult struct {
	Requests int64
	Errors   int64
	Elapsed  time.Duration
	P50, P99 time.Duration
	// CPU is the CPU time this whole process (server and load generator
	// together) spent during the measured window: per request it is a
	// figure that other programs competing for the cores barely move.
	CPU time.Duration
}

// CPUPerRequest is CPU / Requests.
func (r loadResult) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// processCPU is the user plus system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r loadResult) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// loadProfile is -loadprofile: when set, each runLoad writes a CPU
// profile of its measured window to loadProfile.<n>.
var (
	loadProfile  string
	loadProfiles atomic.Int64
)

// profileWindow starts a CPU profile for one measured window; the returned
// function stops it (once; later calls do nothing).
func profileWindow() func() {
	if loadProfile == "" {
		return func() {}
	}
	name := fmt.Sprintf("%s.%d", loadProfile, loadProfiles.Add(1))
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vibesync-bench: -loadprofile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintln(os.Stderr, "vibesync-bench: -loadprofile:", err)
		return func() {}
	}
	fmt.Fprintln(os.Stderr, "vibesync-bench: profiling the measured window into", name)
	return sync.OnceFunc(func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}

// runLoad drives workers concurrent closed loops for d (after a short
// warm-up) and records each request's latency. A response outside 2xx is
// an error; the first one is reported.
func runLoad(ctx context.Context, hc *http.Client, workers int, d time.Duration, build request) (loadResult, error) {
	warm := d / 5
	ctx, cancel := context.WithTimeout(ctx, warm+d)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(warm)
	var count, errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, workers)
	var cpu0 atomic.Int64
	var stopProfile atomic.Value
	cpuTimer := time.AfterFunc(warm, func() {
		stopProfile.Store(profileWindow())
		cpu0.Store(int64(processCPU()))
	})
	defer cpuTimer.Stop()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				req, err := build(w, i)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					errs.Add(1)
					return
				}
				t0 := time.Now()
				res, err := hc.Do(req.WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				took := time.Since(t0)
				if res.StatusCode/100 != 2 {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, bytes.TrimSpace(body)))
					continue
				}
				if t0.After(measureFrom) {
					count.Add(1)
					lat[w] = append(lat[w], took)
				}
			}
		}(w)
	}
	wg.Wait()
	cpu1 := processCPU()
	if stop, ok := stopProfile.Load().(func()); ok {
		stop()
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	res := loadResult{Requests: count.Load(), Errors: errs.Load(), Elapsed: time.Since(measureFrom), CPU: cpu1 - time.Duration(cpu0.Load())}
	if len(all) > 0 {
		res.P50 = all[len(all)/2]
		res.P99 = all[len(all)*99/100]
	}
	if e, ok := firstErr.Load().(error); ok && res.Errors > res.Requests/100 {
		return res, fmt.Errorf("%d errors (first: %w)", res.Errors, e)
	}
	return res, nil
}

// percentile returns the p-th percentile (0–100) of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := len(sorted) * p / 100
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
