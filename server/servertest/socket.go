package servertest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Frame is one live event as the server sends it.
type Frame struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// Socket is a live WebSocket client of the server under test.
type Socket struct {
	T    testing.TB
	Conn *websocket.Conn
	ID   string // from the "connected" frame
	// timeout bounds the wait for one frame (frameTimeout or, in a
	// bubble, frameTimeoutInBubble).
	timeout time.Duration
}

// frameTimeout only stops a hung test; no test asserts on it. In a
// synctest bubble (NewInBubble) the clock is fake and a test may wait
// through many ping intervals, so there it is an hour of fake time.
const (
	frameTimeout         = 10 * time.Second
	frameTimeoutInBubble = time.Hour
)

// Dial opens GET /ws with the token as a bearer header, reads the
// "connected" frame and closes the socket when the test ends. query is
// added to the URL (e.g. "sync=1").
func (e *Env) Dial(token string, query ...string) *Socket {
	e.T.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	s, res, err := e.DialRaw(h, query...)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		e.T.Fatalf("dial /ws: %v (status %d)", err, status)
	}
	return s
}

// DialRaw opens GET /ws with the given headers; it returns the handshake
// response when the server refused the upgrade.
func (e *Env) DialRaw(h http.Header, query ...string) (*Socket, *http.Response, error) {
	e.T.Helper()
	u := "ws" + strings.TrimPrefix(e.URL, "http") + "/ws"
	if len(query) > 0 {
		u += "?" + strings.Join(query, "&")
	}
	dialer := websocket.DefaultDialer
	if e.dial != nil {
		dialer = &websocket.Dialer{NetDialContext: e.dial, HandshakeTimeout: websocket.DefaultDialer.HandshakeTimeout}
	}
	conn, res, err := dialer.Dial(u, h)
	if err != nil {
		return nil, res, err
	}
	e.T.Cleanup(func() { conn.Close() })
	s := &Socket{T: e.T, Conn: conn, timeout: frameTimeout}
	if e.dial != nil {
		s.timeout = frameTimeoutInBubble
	}
	f := s.Next()
	if f.Event != "connected" {
		e.T.Fatalf("first frame is %q, want connected", f.Event)
	}
	var d struct {
		Socket string `json:"socket"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		e.T.Fatalf("connected frame: %v", err)
	}
	s.ID = d.Socket
	return s, res, nil
}

// Query escapes a query parameter for Dial.
func Query(key, value string) string { return url.QueryEscape(key) + "=" + url.QueryEscape(value) }

// Next reads the next frame, failing the test if none comes.
func (s *Socket) Next() Frame {
	s.T.Helper()
	f, err := s.Read()
	if err != nil {
		s.T.Fatalf("read frame: %v", err)
	}
	return f
}

// Read reads the next frame or returns the error that ended the socket
// (a *websocket.CloseError when the server closed it).
func (s *Socket) Read() (Frame, error) {
	timeout := s.timeout
	if timeout == 0 {
		timeout = frameTimeout
	}
	_ = s.Conn.SetReadDeadline(time.Now().Add(timeout))
	var f Frame
	_, b, err := s.Conn.ReadMessage()
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, errors.New("frame is not JSON: " + string(b))
	}
	return f, nil
}

// Expect reads frames up to and including the next one named event,
// failing the test if another event comes first (sync frames are skipped).
func (s *Socket) Expect(event string) Frame {
	s.T.Helper()
	for {
		f := s.Next()
		if f.Event == "sync" && event != "sync" {
			continue
		}
		if f.Event != event {
			data := string(f.Data)
			if len(data) > 200 {
				data = data[:200] + "…"
			}
			s.T.Fatalf("got event %q (%s), want %q", f.Event, data, event)
		}
		return f
	}
}

// CloseCode reads until the server closes the socket and returns the
// close code (-1 if the connection ended without a close frame).
func (s *Socket) CloseCode() int {
	s.T.Helper()
	for {
		_, err := s.Read()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		s.T.Logf("socket ended without close frame: %v", err)
		return -1
	}
}
