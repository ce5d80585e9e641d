package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/social"
)

// holdChild is set in the child process that holds idle sockets.
var holdChild bool

// raiseFileLimit lifts the soft open-file limit to the hard one (at most
// limit): every loopback socket costs a descriptor at each end.
func raiseFileLimit(limit uint64) (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	want := min(r.Max, limit)
	if r.Cur < want {
		r.Cur = want
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return 0, err
		}
	}
	return r.Cur, nil
}

// dialSocket opens GET /ws as token's user and reads the "connected" frame,
// returning the socket id.
func dialSocket(base, token string) (*websocket.Conn, string, error) {
	h := http.Header{"Authorization": {"Bearer " + token}}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", h)
	if err != nil {
		return nil, "", err
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var f struct {
		Event string `json:"event"`
		Data  struct {
			Socket string `json:"socket"`
		} `json:"data"`
	}
	if err := conn.ReadJSON(&f); err != nil || f.Event != "connected" {
		conn.Close()
		return nil, "", fmt.Errorf("first frame %q: %v", f.Event, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn, f.Data.Socket, nil
}

// benchLive measures delivery of one chat message, sent through POST
// /chats/:id/messages, to every other member of a group whose members are
// all connected: latency from before the request to each socket's read of
// message-created, p50/p99 over all deliveries.
func benchLive(ctx context.Context, b *bench) error {
	if _, err := raiseFileLimit(1 << 16); err != nil {
		return err
	}
	for _, n := range b.opts.live {
		if err := b.liveGroup(ctx, n); err != nil {
			return fmt.Errorf("%d members: %w", n, err)
		}
	}
	return nil
}

func (b *bench) liveGroup(ctx context.Context, n int) error {
	inst, err := b.startServer(ctx, b.opts.synchronous, nil)
	if err != nil {
		return err
	}
	defer inst.stop()
	svc := inst.srv.Social()
	users := make([]seededUser, n)
	if err := parallel(8, n, func(i int) error {
		name := fmt.Sprintf("live.member%05d", i)
		out, err := svc.Register(ctx, social.Registration{Name: name, Username: name, Password: "bench password"})
		users[i] = seededUser{ID: out.User.ID, Username: name, Token: out.AccessToken}
		return err
	}); err != nil {
		return err
	}
	open := false
	ch, _, err := svc.CreateChat(ctx, social.Caller{UserID: users[0].ID}, social.NewChat{IsGroup: true, Name: "Live bench", Category: "Friends", Participants: &[]string{}, Restricted: &open})
	if err != nil {
		return err
	}
	if err := parallel(8, n-1, func(i int) error {
		_, err := svc.Join(ctx, social.Caller{UserID: users[i+1].ID}, ch.ID)
		return err
	}); err != nil {
		return err
	}
	conns := make([]*websocket.Conn, n)
	ids := make([]string, n)
	if err := parallel(16, n, func(i int) error {
		var err error
		conns[i], ids[i], err = dialSocket(inst.url, users[i].Token)
		return err
	}); err != nil {
		return err
	}
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	// Readers: every member but the sender (whose socket the request names,
	// so the server leaves it out).
	var mu sync.Mutex
	var start time.Time
	arrivals := make(chan time.Duration, n)
	for _, c := range conns[1:] {
		go onMessageCreated(c, func(now time.Time) {
			mu.Lock()
			t := start
			mu.Unlock()
			arrivals <- now.Sub(t)
		})
	}
	lat := make([]time.Duration, 0, b.opts.liveRounds*(n-1))
	for round := range b.opts.liveRounds + 2 {
		body := fmt.Sprintf(`{"text":"live bench message %d, a sentence of ordinary length."}`, round)
		req, err := authed("POST", inst.url+"/chats/"+ch.ID+"/messages", users[0].Token, []byte(body))
		if err != nil {
			return err
		}
		req.Header.Set("X-Socket-Id", ids[0])
		mu.Lock()
		start = time.Now()
		mu.Unlock()
		res, err := b.hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
			return fmt.Errorf("send: %d", res.StatusCode)
		}
		timeout := time.After(30 * time.Second)
		for range n - 1 {
			select {
			case d := <-arrivals:
				if round >= 2 { // two warm-up rounds
					lat = append(lat, d)
				}
			case <-timeout:
				return errors.New("a member did not get the message within 30s")
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	slices.Sort(lat)
	name := fmt.Sprintf("live.members_%d", n)
	b.report(name+".delivery_p50", float64(percentile(lat, 50).Microseconds())/1000, "ms")
	b.report(name+".delivery_p99", float64(percentile(lat, 99).Microseconds())/1000, "ms")
	b.report(name+".deliveries", float64(len(lat)), "messages")
	return nil
}

// benchSockets holds up to b.opts.sockets idle sockets on one instance.
// A child process (this binary again) dials them over loopback, so the
// server's resident memory is measured without the clients' ends; the
// parent reports RSS and Go memory at every 1,000 sockets.
func benchSockets(ctx context.Context, b *bench) error {
	n := b.opts.sockets
	if n <= 0 {
		return nil
	}
	if _, err := raiseFileLimit(uint64(n) + 4096); err != nil {
		return err
	}
	const perUser = 100
	inst, err := b.startServer(ctx, b.opts.synchronous, func(c *server.Config) { c.Live.MaxSocketsPerUser = perUser })
	if err != nil {
		return err
	}
	defer inst.stop()
	tokens := make([]string, (n+perUser-1)/perUser)
	if err := parallel(8, len(tokens), func(i int) error {
		name := fmt.Sprintf("sock.holder%05d", i)
		out, err := inst.srv.Social().Register(ctx, social.Registration{Name: name, Username: name, Password: "bench password"})
		tokens[i] = out.AccessToken
		return err
	}); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, "-hold-sockets-child", "--", inst.url, strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	defer in.Close()
	go func() {
		for _, t := range tokens {
			fmt.Fprintln(in, t)
		}
	}()
	rss0, go0 := residentMemory()
	b.report("sockets.rss_idle", float64(rss0)/(1<<20), "MiB")
	t0 := time.Now()
	sc := bufio.NewScanner(out)
	held := 0
	var rss, gomem uint64
	for sc.Scan() {
		line := sc.Text()
		if msg, ok := strings.CutPrefix(line, "error "); ok {
			return fmt.Errorf("socket holder: %s", msg)
		}
		k, ok := strings.CutPrefix(line, "held ")
		if !ok {
			continue
		}
		held, _ = strconv.Atoi(k)
		rss, gomem = residentMemory()
		fmt.Fprintf(b.out, "# %d sockets: server RSS %.0f MiB, Go heap+stacks %.0f MiB, hub counts %d\n",
			held, float64(rss)/(1<<20), float64(gomem)/(1<<20), inst.srv.Hub().Stats().Sockets)
		if held >= n {
			break
		}
	}
	if held < n {
		return fmt.Errorf("socket holder stopped at %d sockets", held)
	}
	b.report("sockets.connect_rate", float64(held)/time.Since(t0).Seconds(), "sockets/s")
	b.report("sockets.held", float64(inst.srv.Hub().Stats().Sockets), "sockets")
	b.report("sockets.rss", float64(rss)/(1<<20), "MiB")
	// Signed differences: with few sockets the runtime may have returned
	// more memory than the sockets took, and the growth is then negative.
	perThousand := func(now, before uint64) float64 {
		return (float64(now) - float64(before)) / float64(held) * 1000 / (1 << 20)
	}
	b.report("sockets.rss_per_1000", perThousand(rss, rss0), "MiB")
	b.report("sockets.go_mem_per_1000", perThousand(gomem, go0), "MiB")
	return nil
}

// residentMemory returns this process's resident set size (VmRSS) and the
// Go runtime's in-use heap plus stacks, after a collection.
func residentMemory() (rss, gomem uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	gomem = m.HeapInuse + m.StackInuse
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, gomem
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, gomem
		}
	}
	return 0, gomem
}

// holdSocketsChild is the child side of benchSockets: it reads tokens from
// stdin, dials args[1] sockets to args[0] spread over them, printing
// "held N" at every 1,000 and at the end, reads each socket (so heartbeats
// are answered) and exits when stdin closes.
func holdSocketsChild(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 2 {
		return errors.New("usage: -hold-sockets-child -- URL N")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	if _, err := raiseFileLimit(uint64(n) + 1024); err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	var tokens []string
	for len(tokens)*100 < n && in.Scan() {
		tokens = append(tokens, in.Text())
	}
	conns := make([]*websocket.Conn, 0, n)
	var mu sync.Mutex
	for done := 0; done < n; {
		batch := min(1000, n-done)
		err := parallel(16, batch, func(i int) error {
			c, _, err := dialSocket(args[0], tokens[(done+i)%len(tokens)])
			if err != nil {
				return err
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
			return nil
		})
		if err != nil {
			fmt.Fprintf(stdout, "error %v\n", err)
			return err
		}
		done += batch
		fmt.Fprintf(stdout, "held %d\n", done)
	}
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return nil
}

// onMessageCreated reads conn until it fails, calling arrived with the time
// each message-created frame was read.
func onMessageCreated(conn *websocket.Conn, arrived func(time.Time)) {
	var f struct {
		Event string `json:"event"`
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		if json.Unmarshal(data, &f) == nil && f.Event == social.EventMessageCreated {
			arrived(now)
		}
	}
}
