package live_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// BenchmarkChatMessage records one message-sized event for a chat whose
// members are all connected (one socket each, same process) and waits until
// every member has it. It reports delivery latency from before the write
// transaction to each socket's read (p50/p99 over all deliveries), the CPU
// time of the whole process per delivery (the write, the fan-out to every
// socket and every client's read, all in this process), and the
// memory and goroutines one open socket costs (server and client ends
// together, since both live in this process).
//
//	go test ./server/live -run '^$' -bench ChatMessage -benchtime 200x
func BenchmarkChatMessage(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) { benchChatMessage(b, n) })
	}
}

func benchChatMessage(b *testing.B, n int) {
	env := servertest.New(b)
	chat := "chat:0123456789abcdef01234567"
	users := make([]servertest.User, n)
	for i := range users {
		users[i] = env.Register(fmt.Sprintf("Member %d", i))
	}
	write(b, env, func(ctx context.Context, tx *store.Tx) error {
		for _, u := range users {
			if err := tx.AddBucketMember(ctx, chat, u.ID); err != nil {
				return err
			}
		}
		return nil
	})

	heap0, stack0, g0 := memory()
	socks := make([]*servertest.Socket, n)
	for i, u := range users {
		socks[i] = env.Dial(u.Token)
		_ = socks[i].Conn.SetReadDeadline(time.Time{})
	}
	heap1, stack1, g1 := memory()

	var start atomic.Int64
	arrivals := make(chan time.Duration, n)
	for _, s := range socks {
		go func() {
			for {
				if _, _, err := s.Conn.ReadMessage(); err != nil {
					return
				}
				arrivals <- time.Duration(time.Now().UnixNano() - start.Load())
			}
		}()
	}
	message := map[string]any{
		"_id": "68dcf51fc12ff2a182ef2ab9", "chat": "0123456789abcdef01234567", "user": users[0].ID,
		"text":      strings.Repeat("hello there, ", 12),
		"createdAt": "2025-10-01T09:32:15.204Z", "updatedAt": "2025-10-01T09:32:15.204Z",
	}
	lat := make([]time.Duration, 0, b.N*n)
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		start.Store(time.Now().UnixNano())
		record(b, env, "", chat, "message", message)
		for range n {
			lat = append(lat, <-arrivals)
		}
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*n), "cpu-µs/delivery")
	b.ReportMetric(float64(env.Server.Hub().Stats().Sockets), "sockets")
	b.ReportMetric(float64(heap1-heap0)/float64(n), "heap-B/socket")
	b.ReportMetric(float64(stack1-stack0)/float64(n), "stack-B/socket")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/socket")
	for _, s := range socks {
		s.Conn.Close()
	}
}

// BenchmarkHoldSockets opens idle sockets on one instance, one per
// iteration (ns/op is the cost of a connect: upgrade, presence row, hello
// frame), holding up to 5,000 at once, and reports what each held socket
// costs, both ends together.
//
//	go test ./server/live -run '^$' -bench HoldSockets -benchtime 5000x
func BenchmarkHoldSockets(b *testing.B) {
	const users, batch = 500, 5000
	env := servertest.New(b, func(c *server.Config) { c.Live.MaxSocketsPerUser = batch })
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = env.Register(fmt.Sprintf("Holder %d", i)).Token
	}
	heap0, stack0, g0 := memory()
	var heap1, stack1 uint64
	var g1, held, peak int
	socks := make([]*servertest.Socket, 0, batch)
	measure := func() {
		if len(socks) > held {
			b.StopTimer()
			heap1, stack1, g1 = memory()
			held, peak = len(socks), env.Server.Hub().Stats().Sockets
			b.StartTimer()
		}
	}
	b.ResetTimer()
	for i := range b.N {
		socks = append(socks, env.Dial(tokens[i%users]))
		if len(socks) == batch {
			measure()
			b.StopTimer()
			for _, s := range socks {
				s.Conn.Close()
			}
			socks = socks[:0]
			b.StartTimer()
		}
	}
	measure()
	b.StopTimer()
	b.ReportMetric(float64(peak), "sockets")
	b.ReportMetric(float64(heap1-heap0)/float64(held), "heap-B/socket")
	b.ReportMetric(float64(stack1-stack0)/float64(held), "stack-B/socket")
	b.ReportMetric(float64(g1-g0)/float64(held), "goroutines/socket")
	for _, s := range socks {
		s.Conn.Close()
	}
}

func memory() (heap, stack uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse, runtime.NumGoroutine()
}
