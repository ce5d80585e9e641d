package live

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/store"
)

// socket is one open WebSocket. The tailer queues frames on send; one
// writer goroutine drains it; the handler goroutine reads.
type socket struct {
	id      string
	user    string
	origin  string // store.EventOrigin(user, id): events it caused carry it
	session string // the login that opened it; the socket closes when it ends
	sync    bool   // wants "sync" frames

	send   chan *websocket.PreparedMessage
	syncC  chan int64 // newest feed position not yet sent; capacity 1
	quit   chan struct{}
	once   sync.Once
	code   int // close code sent when quit closes (0: none)
	reason string
}

// kick asks the writer to close the socket, sending code (unless 0).
func (s *socket) kick(code int, reason string) {
	s.once.Do(func() {
		s.code, s.reason = code, reason
		close(s.quit)
	})
}

// deliver queues m, closing the socket with 1013 when its queue is full.
func (h *Hub) deliver(s *socket, m *websocket.PreparedMessage) {
	select {
	case s.send <- m:
		h.delivered.Add(1)
	default:
		select {
		case <-s.quit:
		default:
			h.dropped.Add(1)
			s.kick(CloseTryLater, "falling behind; reconnect and pull")
		}
	}
}

// offer hands the newest feed position to a capacity-1 channel, replacing a
// position not yet taken: positions coalesce, they never queue.
func offer(c chan int64, seq int64) {
	for {
		select {
		case c <- seq:
			return
		default:
		}
		select {
		case old := <-c:
			if old > seq {
				seq = old
			}
		default:
		}
	}
}

// ServeSocket upgrades an authenticated request for userID to a WebSocket
// and serves it until either side closes. Errors before the upgrade
// (origin not allowed, not a WebSocket request, too many sockets, shutting
// down) are returned as *apperr.Error for the caller to answer as JSON;
// after the upgrade it returns nil.
func (h *Hub) ServeSocket(w http.ResponseWriter, r *http.Request, userID string) error {
	if !h.originAllowed(r) {
		return apperr.Forbiddenf("origin_not_allowed", "Origin %q may not open a live socket", r.Header.Get("Origin"))
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return apperr.New(apperr.Invalid, "websocket_required", "GET /ws must be a WebSocket upgrade request")
	}
	claims, _ := auth.FromContext(r.Context())
	s := &socket{
		id: newID(), user: userID, session: claims.SessionID, sync: boolParam(r.URL.Query().Get("sync")),
		send:  make(chan *websocket.PreparedMessage, h.opts.SendQueue+1),
		syncC: make(chan int64, 1),
		quit:  make(chan struct{}),
	}
	hello, err := frame("connected", mustJSON(map[string]string{"socket": s.id}))
	if err != nil {
		return err
	}
	s.origin = store.EventOrigin(s.user, s.id)
	s.send <- hello // first in the queue, before any event
	if err := h.register(s); err != nil {
		return err
	}
	// Presence writes outlive the request; hold nothing of it.
	ctx := context.Background()
	end := func() {
		h.unregister(s)
		h.removePresence(ctx, s)
		h.conns.Done()
	}
	if err := h.addPresence(ctx, s); err != nil {
		h.unregister(s)
		h.conns.Done()
		return err
	}
	conn, err := h.upgrader.Upgrade(hijacker{w}, r, nil)
	if err != nil {
		end()
		return nil // the upgrader answered the client
	}
	// The request's goroutine (and the stack net/http grew) ends here; the
	// socket runs on two fresh, small goroutines.
	go func() {
		defer end()
		h.run(s, conn)
	}()
	return nil
}

// run serves an upgraded socket: the writer in its own goroutine, the
// reader on the caller's.
func (h *Hub) run(s *socket, conn *websocket.Conn) {
	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.write(s, conn, readerDone)
	}()
	wait := 2 * h.opts.PingInterval
	conn.SetReadLimit(MaxFrame)
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wait)) })
	for {
		// Client frames carry nothing the server acts on yet; reading them
		// keeps pongs and close frames flowing and enforces the size limit.
		_, msg, err := conn.NextReader()
		if err == nil {
			_, err = io.Copy(io.Discard, msg) // the limit counts the whole message
		}
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// The upgrader already sent 1009; read what the client
				// still sends so the close frame is not lost to a reset.
				drain(conn.UnderlyingConn())
			}
			break
		}
		_ = conn.SetReadDeadline(time.Now().Add(wait))
	}
	close(readerDone)
	s.kick(0, "")
	<-writerDone
	conn.Close()
}

// write drains the socket's queue, sends pings and, when kicked, the close
// frame; then it waits briefly for the client's close before the reader's
// connection is torn down.
func (h *Hub) write(s *socket, conn *websocket.Conn, readerDone <-chan struct{}) {
	ping := time.NewTicker(h.opts.PingInterval)
	defer ping.Stop()
	defer conn.Close()
	deadline := func() time.Time { return time.Now().Add(h.opts.WriteTimeout) }
	// The connected frame, queued before the socket was registered, goes
	// first: a sync position offered meanwhile would otherwise win the
	// select below half the time.
	_ = conn.SetWriteDeadline(deadline())
	h.sent.Add(1)
	if err := conn.WritePreparedMessage(<-s.send); err != nil {
		s.kick(0, "")
		return
	}
	for {
		select { // a kick wins over queued frames
		case <-s.quit:
			h.closeSocket(s, conn, readerDone)
			return
		default:
		}
		var err error
		select {
		case <-s.quit:
			h.closeSocket(s, conn, readerDone)
			return
		case m := <-s.send:
			h.sent.Add(1) // counted before the write, so a client that read it sees it counted
			_ = conn.SetWriteDeadline(deadline())
			err = conn.WritePreparedMessage(m)
		case seq := <-s.syncC:
			h.sent.Add(1)
			_ = conn.SetWriteDeadline(deadline())
			err = conn.WriteMessage(websocket.TextMessage, syncFrame(seq))
		case <-ping.C:
			err = conn.WriteControl(websocket.PingMessage, nil, deadline())
		}
		if err != nil {
			s.kick(0, "")
			return
		}
	}
}

func (h *Hub) closeSocket(s *socket, conn *websocket.Conn, readerDone <-chan struct{}) {
	if s.code == 0 {
		return
	}
	msg := websocket.FormatCloseMessage(s.code, s.reason)
	if err := conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(h.opts.WriteTimeout)); err != nil {
		return
	}
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select { // let the client answer the close before the connection drops
	case <-readerDone:
	case <-t.C:
	}
}

// register adds s to the hub unless the hub is closing or the user is at
// the socket limit. On success the caller must call conns.Done when the
// socket's handler ends.
func (h *Hub) register(s *socket) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return apperr.New(apperr.Unavailable, "shutting_down", "The server is shutting down; reconnect")
	}
	set := h.users[s.user]
	if len(set) >= h.opts.MaxSocketsPerUser {
		return apperr.New(apperr.RateLimited, "too_many_sockets", "Too many live sockets are open for this user")
	}
	if set == nil {
		set = map[*socket]struct{}{}
		h.users[s.user] = set
	}
	set[s] = struct{}{}
	h.count++
	h.conns.Add(1)
	return nil
}

func (h *Hub) unregister(s *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.users[s.user]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	h.count--
	if len(set) == 0 {
		delete(h.users, s.user)
	}
}

func (h *Hub) addPresence(ctx context.Context, s *socket) error {
	ctx, cancel := context.WithTimeout(ctx, presenceTimeout)
	defer cancel()
	return h.db.Write(ctx, func(tx *store.Tx) error {
		return tx.AddPresence(ctx, store.Presence{Socket: s.id, UserID: s.user, Instance: h.instance, ExpiresAt: tx.Now.Add(h.opts.PresenceTTL)})
	})
}

func (h *Hub) removePresence(ctx context.Context, s *socket) {
	ctx, cancel := context.WithTimeout(ctx, presenceTimeout)
	defer cancel()
	if err := h.db.Write(ctx, func(tx *store.Tx) error { return tx.RemovePresence(ctx, s.id) }); err != nil {
		// Heartbeats refresh every row of this instance, so a row left
		// behind would keep the user online: retry it on the next beat.
		h.log.Warn("live: remove presence", "socket", s.id, "err", err)
		h.mu.Lock()
		h.orphans = append(h.orphans, s.id)
		h.mu.Unlock()
	}
}

// originAllowed accepts requests without Origin (native clients), from the
// server's own host, and from the configured origins.
func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range h.opts.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// drain discards what conn still receives, for at most closeGrace.
func drain(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, conn) // ends at EOF or the deadline; either is fine
}

// hijacker reaches the connection through response-writer wrappers that
// only offer Unwrap (the access-log middleware).
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// frame prepares {"event": name, "data": data} once for every socket.
func frame(name string, data []byte) (*websocket.PreparedMessage, error) {
	if len(data) == 0 {
		data = []byte("null")
	}
	n, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(n)+len(data)+20)
	b = append(b, `{"event":`...)
	b = append(b, n...)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	b = append(b, '}')
	return websocket.NewPreparedMessage(websocket.TextMessage, b)
}

func syncFrame(seq int64) []byte {
	return []byte(`{"event":"sync","data":{"seq":` + strconv.FormatInt(seq, 10) + `}}`)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // only called with maps of strings
	return b
}

func boolParam(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes":
		return true
	}
	return false
}
