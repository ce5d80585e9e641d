package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReads drives the REST scenario's two list reads against a
// seeded server in this process, for profiling a read alone
// (`go test -bench Reads -cpuprofile`): each user sits in 20 chats, as in
// the full bench. BENCH_MEMBERS sets the members of each chat (20).
func BenchmarkReads(b *testing.B) {
	ctx := context.Background()
	members := 20
	if v, err := strconv.Atoi(os.Getenv("BENCH_MEMBERS")); err == nil && v > 0 {
		members = v
	}
	keepData = os.Getenv("BENCH_KEEP") != ""
	bn := newBench(options{concurrency: 16, seed: seedOptions{users: 5 * members, connections: 10, chats: 100, members: members, messages: 20}}, io.Discard)
	inst, err := bn.startServer(ctx, "NORMAL", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer inst.stop()
	w, err := seedWorld(ctx, bn, inst.srv.Social(), bn.opts.seed)
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/chats?limit=10", "/connections"} {
		b.Run(path, func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(4)
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					u := w.users[int(n.Add(1))%len(w.users)]
					req, _ := authed("GET", inst.url+path, u.Token, nil)
					res, err := bn.hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("%s: %d", path, res.StatusCode)
						return
					}
				}
			})
			_ = t0
		})
	}
}
