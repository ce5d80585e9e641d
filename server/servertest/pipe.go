package servertest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/server"
)

// NewInBubble is New for a test inside a testing/synctest bubble: the
// server is reached over in-memory connections (net.Pipe) rather than a
// loopback socket. A goroutine waiting on a real socket never counts as
// blocked in a bubble, so its fake clock could not move while a client
// and the server wait on each other; goroutines waiting on a pipe do
// count. Env.Do, Env.Dial and the Env's HTTP client use the pipes; the
// server is stopped (and its goroutines end) when the test ends, inside
// the bubble.
func NewInBubble(t *testing.T, opts ...Option) *Env {
	t.Helper()
	// The live tailer polls on the fake clock instead of waiting on a file
	// watch (which would never count as blocked).
	poll := func(c *server.Config) { c.Live.Poll = true }
	return start(t, t.TempDir(), "", true, append([]Option{poll}, opts...)...)
}

// pipeListener hands the server one end of each net.Pipe a client dials.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// DialContext connects to the server: whatever the address, the other
// end of a new pipe goes to Accept.
func (l *pipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "vibesync.pipe" }

// pipeServer is an httptest.Server serving h on a pipeListener; its
// client dials through the pipes.
func pipeServer(h http.Handler) (*httptest.Server, *pipeListener) {
	l := newPipeListener()
	hs := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	hs.Start()
	hs.Client().Transport.(*http.Transport).DialContext = l.DialContext
	return hs, l
}
