package integration

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// frontDoor is a stable local address in front of a server container whose
// host port changes on every restart or reconnect — what a load balancer
// or DNS name is to real clients, so a client configured once keeps
// working. Each connection is forwarded to the server's current address;
// while the server has none (stopped, cut off) connections are closed at
// once, as a balancer with no backend would.
type frontDoor struct {
	URL   string
	addr  string
	ln    net.Listener
	srv   *server
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	mute  atomic.Bool // drop what the server answers
}

// newFrontDoor opens a front door to s, closed when t ends.
func newFrontDoor(t testing.TB, s *server) *frontDoor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("front door: %v", err)
	}
	fd := &frontDoor{URL: "http://" + ln.Addr().String(), addr: ln.Addr().String(), ln: ln, srv: s, conns: map[net.Conn]struct{}{}}
	fd.wg.Add(1)
	go fd.serve(ln)
	t.Cleanup(func() {
		fd.mu.Lock()
		ln := fd.ln
		fd.mu.Unlock()
		if ln != nil {
			ln.Close()
		}
		fd.drop()
		fd.wg.Wait()
	})
	return fd
}

// close stops listening: connecting is refused, as for a device with no
// network. reopen listens on the same address again.
func (fd *frontDoor) close(t testing.TB) {
	t.Helper()
	fd.mu.Lock()
	ln := fd.ln
	fd.ln = nil
	fd.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	fd.drop()
}

// reopen listens again on the front door's address after close.
func (fd *frontDoor) reopen(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", fd.addr)
	if err != nil {
		t.Fatalf("reopen front door on %s: %v", fd.addr, err)
	}
	fd.mu.Lock()
	fd.ln = ln
	fd.mu.Unlock()
	fd.wg.Add(1)
	go fd.serve(ln)
}

func (fd *frontDoor) serve(ln net.Listener) {
	defer fd.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		fd.wg.Add(1)
		go func() {
			defer fd.wg.Done()
			fd.forward(c)
		}()
	}
}

func (fd *frontDoor) forward(c net.Conn) {
	defer c.Close()
	fd.mu.Lock()
	srv := fd.srv
	fd.mu.Unlock()
	addr := strings.TrimPrefix(srv.URL(), "http://")
	if addr == "" {
		return
	}
	b, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return
	}
	defer b.Close()
	if !fd.track(c, b) {
		return
	}
	defer fd.untrack(c, b)
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); done <- struct{}{} }()
	go func() { io.Copy(answers{c, &fd.mute}, b); done <- struct{}{} }()
	<-done // either side ending ends both
}

// pointTo sends the connections opened from now on to s (the server was
// replaced: restored from a backup, moved).
func (fd *frontDoor) pointTo(s *server) {
	fd.mu.Lock()
	fd.srv = s
	fd.mu.Unlock()
	fd.drop()
}

// loseAnswers makes the front door drop everything servers answer while on
// is set: requests arrive and are applied, their answers never reach the
// client (a response lost in a dead zone).
func (fd *frontDoor) loseAnswers(on bool) { fd.mute.Store(on) }

// answers writes to the client unless mute is set.
type answers struct {
	w    io.Writer
	mute *atomic.Bool
}

func (a answers) Write(p []byte) (int, error) {
	if a.mute.Load() {
		return len(p), nil
	}
	return a.w.Write(p)
}

func (fd *frontDoor) track(cs ...net.Conn) bool {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.conns == nil {
		return false
	}
	for _, c := range cs {
		fd.conns[c] = struct{}{}
	}
	return true
}

func (fd *frontDoor) untrack(cs ...net.Conn) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	for _, c := range cs {
		delete(fd.conns, c)
	}
}

// drop closes every forwarded connection (a backend going away takes its
// connections with it); new ones are still accepted.
func (fd *frontDoor) drop() {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	for c := range fd.conns {
		c.Close()
		delete(fd.conns, c)
	}
}
