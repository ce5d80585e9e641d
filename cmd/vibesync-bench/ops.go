package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
)

// opsOptions size the ops scenario.
type opsOptions struct {
	members     int
	subscribers int
}

// benchOps drives the paths the load scenarios never take, the ones an
// operator watches for, on one server with the production write budget
// and push notifications going to a stand-in FCM on loopback:
//
//   - sync clients holding Subscribe streams while a group chat is busy;
//   - a member on a bad network whose socket never reads: the server closes
//     it with 1013 once its queue is full;
//   - push notifications for the group's members, some of whose devices
//     FCM refuses (failed at once), fails once (retried), or no longer
//     knows (forgotten);
//   - a client whose Push answer is lost on the way (pushed again: a
//     duplicate), who wrote offline to a chat deleted meanwhile (rejected),
//     and who queued more messages than its write budget (retry later);
//   - a client offline past the tombstone window (reset);
//   - a database that stops answering reads for longer than a scrape waits
//     (the scrape's read error), and a tailer behind the feed head.
//
// It reports what it caused; the scrapes of /metrics show the same.
func benchOps(ctx context.Context, b *bench) error {
	fcm, err := startFakeFCM()
	if err != nil {
		return err
	}
	defer fcm.close()
	inst, err := b.startServer(ctx, b.opts.synchronous, func(c *server.Config) {
		c.FCMServiceAccountFile, c.FCMEndpoint = fcm.keyFile, fcm.url
		lim := ratelimit.Off()
		lim.Writes = ratelimit.Defaults().Writes // the production write budget: retry later beyond it
		c.RateLimits = &lim
		// A scrape's database read is bounded by 200 ms rather than 2 s:
		// the scenario waits out that bound once, to show the read error.
		c.MetricsReadTimeout = 200 * time.Millisecond
		// The worker looks at the outbox every 50 ms rather than every
		// second: the scenario waits for its first attempt at each push.
		c.PushInterval = 50 * time.Millisecond
	})
	if err != nil {
		return err
	}
	defer inst.stop()
	svc := inst.srv.Social()
	o := b.opts.ops
	n := max(o.members, o.subscribers+4, 8)
	reg := func(name string) (seededUser, error) {
		out, err := svc.Register(ctx, social.Registration{Name: name, Username: name, Password: "bench password"})
		return seededUser{ID: out.User.ID, Username: name, Token: out.AccessToken}, err
	}
	owner, err := reg("ops.owner")
	if err != nil {
		return err
	}
	members := make([]seededUser, n)
	ids := make([]string, n)
	for i := range members {
		if members[i], err = reg(fmt.Sprintf("ops.member%03d", i)); err != nil {
			return err
		}
		ids[i] = members[i].ID
		if err := svc.FollowUser(ctx, social.Caller{UserID: owner.ID}, ids[i]); err != nil {
			return err
		}
		if err := svc.AddPushDevice(ctx, social.Caller{UserID: ids[i]}, fcmDevice(i)); err != nil {
			return err
		}
	}
	// The last two members are the clients of the sync outcomes; the
	// next ones hold Subscribe streams.
	pusher, stale := members[n-1], members[n-2]
	work, err := os.MkdirTemp("", "vibesync-bench-ops-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	runCtx, stopClients := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() { stopClients(); running.Wait() }()
	for i := range o.subscribers {
		c, _, err := openClient(ctx, inst.url, filepath.Join(work, fmt.Sprint("sub", i)), members[n-3-i])
		if err != nil {
			return err
		}
		running.Go(func() { defer c.Close(); c.Run(runCtx) })
	}
	lost := &losingTransport{base: &http.Transport{MaxIdleConnsPerHost: 4}}
	pc, _, err := openClientWith(ctx, inst.url, filepath.Join(work, "pusher"), pusher, &http.Client{Transport: lost})
	if err != nil {
		return err
	}
	defer pc.Close()
	sc, _, err := openClient(ctx, inst.url, filepath.Join(work, "stale"), stale)
	if err != nil {
		return err
	}
	defer sc.Close()

	// Every member online, reading; member 0 also on a bad network, never
	// reading.
	socks := make([]*websocket.Conn, n)
	defer func() {
		for _, c := range socks {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range members {
		c, _, err := dialSocket(inst.url, members[i].Token)
		if err != nil {
			return err
		}
		socks[i] = c
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	slow, err := dialSlowSocket(inst.url, members[0].Token)
	if err != nil {
		return err
	}
	defer slow.Close()

	// The group: every member gets a push notification.
	open := false
	group, _, err := svc.CreateChat(ctx, social.Caller{UserID: owner.ID}, social.NewChat{IsGroup: true, Name: "Ops group", Category: "Friends", Participants: &ids, Restricted: &open})
	if err != nil {
		return err
	}
	_ = inst.scrape(ctx) // the outbox before the worker's next pass
	doomed, _, err := svc.CreateChat(ctx, social.Caller{UserID: owner.ID}, social.NewChat{IsGroup: true, Name: "Ops doomed", Category: "Friends", Participants: &[]string{pusher.ID}, Restricted: &open})
	if err != nil {
		return err
	}
	for _, c := range []*client.Client{pc, sc} {
		if _, err := c.Sync(ctx); err != nil {
			return err
		}
	}

	// A busy group until the server gives up on the socket that does not
	// read.
	t0 := time.Now()
	var sent atomic.Int64
	text := strings.Repeat("an ordinary sentence in a long message; ", 25)
	const maxMessages = 20000
	err = parallel(8, 8, func(w int) error {
		for inst.srv.Hub().Stats().Dropped == 0 {
			k := sent.Add(1)
			if k > maxMessages {
				return fmt.Errorf("%d messages and the socket that does not read is still open", maxMessages)
			}
			from := ids[int(k)%n]
			if _, err := svc.SendMessage(ctx, social.Caller{UserID: from}, group.ID, social.NewMessage{Text: text}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.report("ops.slow_socket.messages", float64(sent.Load()), "messages")
	b.report("ops.slow_socket.closed_after", time.Since(t0).Seconds(), "s")

	// Sync outcomes. An answer lost on the way: the client pushes again.
	if _, err := pc.SendMessage(ctx, group.ID, "said once, pushed twice"); err != nil {
		return err
	}
	lost.loseNextPush.Store(true)
	_, _ = pc.Sync(ctx) // fails: the answer never came
	if _, err := pc.Sync(ctx); err != nil {
		return err
	}
	// Written offline to a chat its owner deletes meanwhile: rejected.
	for i := range 3 {
		if _, err := pc.SendMessage(ctx, doomed.ID, fmt.Sprint("into the void ", i)); err != nil {
			return err
		}
	}
	if err := svc.DeleteChat(ctx, social.Caller{UserID: owner.ID}, doomed.ID); err != nil {
		return err
	}
	// And more than the write budget at once: the rest retry later.
	for i := range 120 {
		if _, err := pc.SendMessage(ctx, group.ID, fmt.Sprint("queued offline ", i)); err != nil {
			return err
		}
	}
	res, err := pc.Sync(ctx)
	if err != nil {
		return err
	}
	b.report("ops.push.applied", float64(res.Pushed), "mutations")
	b.report("ops.push.rejected", float64(len(res.Rejected)), "mutations")
	b.report("ops.push.pending", float64(res.Pending), "mutations")
	if len(res.Rejected) == 0 || res.Pending == 0 {
		return fmt.Errorf("push: %d rejected, %d left for later; want some of each", len(res.Rejected), res.Pending)
	}

	// A device offline past the tombstone window: its cursor is older than
	// the deletions pruned since, so its next pull is a reset.
	if err := svc.PruneFeed(ctx, time.Millisecond); err != nil {
		return err
	}
	res, err = sc.Sync(ctx)
	if err != nil {
		return err
	}
	if !res.Reset {
		return errors.New("a client offline past the tombstone window was not reset")
	}

	// The database stops answering reads (every reader connection held)
	// for longer than a scrape waits: the scrape counts a read error.
	_, readers := inst.srv.DB().Pools()
	hold := holdReaders(ctx, inst.srv.DB(), readers.Stats().MaxOpenConnections)
	err = inst.scrape(ctx)
	// While reads wait, writes commit: the tailer falls behind the head.
	// A freed connection goes to a random waiter; when the scrape gets it
	// before the tailer does, it shows the lag.
	lagged := false
	for try := 0; try < 24 && err == nil && !lagged; try++ {
		if _, err = svc.SendMessage(ctx, social.Caller{UserID: owner.ID}, group.ID, social.NewMessage{Text: "while reads wait"}); err != nil {
			break
		}
		before := readers.Stats().WaitCount
		done := make(chan error, 1)
		go func() { done <- inst.scrape(ctx) }()
		for deadline := time.Now().Add(10 * time.Second); readers.Stats().WaitCount == before && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		hold.releaseOne()
		err = <-done
		lagged = inst.watch != nil && inst.watch.sawPositive("vibesync_feed_tail_lag")
		hold.takeOne()
	}
	hold.releaseAll()
	if err != nil {
		return err
	}
	// A scrape while a write holds the writer connection.
	err = inst.srv.DB().Write(ctx, func(*store.Tx) error { return inst.scrape(ctx) })
	if err != nil {
		return err
	}

	// Wait for the worker's first attempt at every group push.
	for deadline := time.Now().Add(time.Minute); fcm.attempts() < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the push worker tried %d of %d pushes in a minute", fcm.attempts(), n)
		}
	}
	st := fcm.stats()
	b.report("ops.fcm.sent", float64(st["sent"]), "sends")
	b.report("ops.fcm.refused", float64(st["refused"]), "sends")
	b.report("ops.fcm.unavailable", float64(st["unavailable"]), "sends")
	b.report("ops.fcm.unregistered", float64(st["unregistered"]), "sends")
	return nil
}

// openClient logs u in to a fresh data folder.
func openClient(ctx context.Context, base, dir string, u seededUser) (*client.Client, client.User, error) {
	return openClientWith(ctx, base, dir, u, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}})
}

func openClientWith(ctx context.Context, base, dir string, u seededUser, hc *http.Client) (*client.Client, client.User, error) {
	c, err := client.Open(ctx, client.Options{Server: base, Dir: dir, HTTPClient: hc})
	if err != nil {
		return nil, client.User{}, err
	}
	me, err := c.Login(ctx, u.Username, "bench password")
	if err != nil {
		c.Close()
		return nil, client.User{}, err
	}
	if _, err := c.Sync(ctx); err != nil {
		c.Close()
		return nil, client.User{}, err
	}
	return c, me, nil
}

// losingTransport loses the answer of the next Push once asked: the
// server has the mutations, the client never hears.
type losingTransport struct {
	base         http.RoundTripper
	loseNextPush atomic.Bool
}

func (t *losingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/Push") && t.loseNextPush.CompareAndSwap(true, false) {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return nil, errors.New("connection reset by peer (answer lost on a bad network)")
	}
	return res, err
}

// dialSlowSocket opens GET /ws as over a slow mobile network (small
// segments, a small receive window) and never reads.
func dialSlowSocket(base, token string) (*websocket.Conn, error) {
	nd := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			// An internet-sized segment (loopback's are 64 KiB, and the
			// server's send buffer grows with them) and a small window.
			serr = errors.Join(syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1400),
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096))
		})
		return errors.Join(err, serr)
	}}
	d := websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 30 * time.Second}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", http.Header{"Authorization": {"Bearer " + token}})
	return conn, err
}

// readerHold keeps reader connections busy, as a stalled database would.
type readerHold struct {
	ctx     context.Context
	db      *store.DB
	mu      sync.Mutex
	release []chan struct{}
	wg      sync.WaitGroup
}

func holdReaders(ctx context.Context, db *store.DB, n int) *readerHold {
	h := &readerHold{ctx: ctx, db: db}
	for range n {
		h.takeOne()
	}
	return h
}

// takeOne holds one more reader connection, once it has one.
func (h *readerHold) takeOne() {
	release, held := make(chan struct{}), make(chan struct{})
	h.mu.Lock()
	h.release = append(h.release, release)
	h.mu.Unlock()
	h.wg.Go(func() {
		_ = h.db.Read(h.ctx, func(*store.Tx) error {
			close(held)
			<-release
			return nil
		})
	})
	<-held
}

func (h *readerHold) releaseOne() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.release) > 0 {
		close(h.release[0])
		h.release = h.release[1:]
	}
}

func (h *readerHold) releaseAll() {
	h.mu.Lock()
	for _, r := range h.release {
		close(r)
	}
	h.release = nil
	h.mu.Unlock()
	h.wg.Wait()
}

// fcmDevice is member i's device token; its prefix tells the stand-in FCM
// how to answer.
func fcmDevice(i int) string {
	switch i % 10 {
	case 3:
		return fmt.Sprint("refused-", i) // 400 INVALID_ARGUMENT: given up at once
	case 5, 8:
		return fmt.Sprint("flaky-", i) // 503 the first time: retried
	case 7:
		return fmt.Sprint("unregistered-", i) // 404 UNREGISTERED: forgotten
	}
	return fmt.Sprint("device-", i)
}

// fakeFCM stands in for Google's OAuth token endpoint and the FCM HTTP v1
// API on loopback.
type fakeFCM struct {
	url     string
	keyFile string
	srv     *http.Server
	dir     string

	mu    sync.Mutex
	seen  map[string]int // device → sends
	count map[string]int // answer → sends
}

func startFakeFCM() (*fakeFCM, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeFCM{url: "http://" + ln.Addr().String(), seen: map[string]int{}, count: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"bench-token","expires_in":3600,"token_type":"Bearer"}`)
	})
	mux.HandleFunc("POST /v1/projects/vibesync-bench/messages:send", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Message struct {
				Token string `json:"token"`
			} `json:"message"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || r.Header.Get("Authorization") != "Bearer bench-token" {
			http.Error(w, `{"error":{"status":"INVALID_ARGUMENT"}}`, http.StatusBadRequest)
			return
		}
		device := body.Message.Token
		f.mu.Lock()
		f.seen[device]++
		first := f.seen[device] == 1
		var status int
		var answer string
		switch {
		case strings.HasPrefix(device, "refused-"):
			status, answer = http.StatusBadRequest, "refused"
		case strings.HasPrefix(device, "unregistered-"):
			status, answer = http.StatusNotFound, "unregistered"
		case strings.HasPrefix(device, "flaky-") && first:
			status, answer = http.StatusServiceUnavailable, "unavailable"
		default:
			status, answer = http.StatusOK, "sent"
		}
		f.count[answer]++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		switch status {
		case http.StatusOK:
			io.WriteString(w, `{"name":"projects/vibesync-bench/messages/1"}`)
		case http.StatusNotFound:
			io.WriteString(w, `{"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}`)
		case http.StatusBadRequest:
			io.WriteString(w, `{"error":{"status":"INVALID_ARGUMENT","message":"message payload is invalid"}}`)
		default:
			io.WriteString(w, `{"error":{"status":"UNAVAILABLE"}}`)
		}
	})
	f.srv = &http.Server{Handler: mux}
	go f.srv.Serve(ln)
	if f.dir, err = os.MkdirTemp("", "vibesync-bench-fcm-"); err != nil {
		f.srv.Close()
		return nil, err
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "vibesync-bench",
		"client_email": "bench@vibesync-bench.iam.gserviceaccount.com", "private_key": string(pemKey), "token_uri": f.url + "/token"})
	f.keyFile = filepath.Join(f.dir, "service-account.json")
	if err := os.WriteFile(f.keyFile, sa, 0o600); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// attempts is how many devices were sent to at least once.
func (f *fakeFCM) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

func (f *fakeFCM) stats() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.count {
		out[k] = v
	}
	return out
}

func (f *fakeFCM) close() {
	f.srv.Close()
	os.RemoveAll(f.dir)
}
