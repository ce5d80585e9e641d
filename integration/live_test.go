package integration

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// frame is one live event as the server sends it.
type frame struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// socket is a live WebSocket client of one server container.
type socket struct {
	conn *websocket.Conn
	ID   string // from the "connected" frame
}

// errNoLive reports a server without the live channel (GET /ws answers 404).
var errNoLive = errors.New("the server has no live channel (GET /ws answers 404)")

// dial opens GET /ws on s with token and reads the "connected" frame. The
// socket is closed when t ends.
func (s *server) dial(t testing.TB, token string) (*socket, error) {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer " + token}}
	conn, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+"/ws", h)
	if res != nil && res.StatusCode == http.StatusNotFound {
		return nil, errNoLive
	}
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { conn.Close() })
	sock := &socket{conn: conn}
	f, err := sock.next(10 * time.Second)
	if err != nil {
		return nil, err
	}
	var d struct {
		Socket string `json:"socket"`
	}
	if f.Event != "connected" || json.Unmarshal(f.Data, &d) != nil || d.Socket == "" {
		return nil, errors.New("first frame is not {connected, socket id}: " + f.Event + " " + string(f.Data))
	}
	sock.ID = d.Socket
	return sock, nil
}

// next reads one frame; wait only stops a hung test.
func (s *socket) next(wait time.Duration) (frame, error) {
	var f frame
	if err := s.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return f, err
	}
	_, data, err := s.conn.ReadMessage()
	if err != nil {
		return f, err
	}
	return f, json.Unmarshal(data, &f)
}

// await reads frames until one of the named events arrives and returns it;
// other events (score updates, sync positions) are passed over.
func (s *socket) await(t testing.TB, events ...string) frame {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		f, err := s.next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for %q (saw %v): %v", events, seen, err)
		}
		if slices.Contains(events, f.Event) {
			return f
		}
		seen = append(seen, f.Event)
	}
	t.Fatalf("no %q event (saw %v)", events, seen)
	return frame{}
}
