package rest_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
)

// TestSlowBodyIsCut holds a request body open (Content-Length 100000, 9
// bytes sent) and sees the server answer 408 body_timeout and close the
// connection, on a public and on an authenticated route.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config) { c.BodyTimeout = 300 * time.Millisecond })
	amy := env.Register("Amy")
	bob := env.Register("Bob")
	chat := group(t, env, amy, "Slow", nil, bob)
	for _, c := range []struct{ name, path, token string }{
		{"login", "/auth/login", ""},
		{"message", "/chats/" + chat.ID + "/messages", amy.Token},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", env.HTTP.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// The test's own bound, far above the server's: reaching it
			// means the server never cut the connection.
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			head := "POST " + c.path + " HTTP/1.1\r\nHost: vibesync.test\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
			if c.token != "" {
				head += "Authorization: Bearer " + c.token + "\r\n"
			}
			if _, err := io.WriteString(conn, head+"\r\n"+`{"text":"`); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer before the test's own deadline: %v", err)
			}
			var body struct{ Error, Code string }
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestTimeout || body.Code != "body_timeout" || body.Error != "Request Timeout" {
				t.Fatalf("answer %d %+v, want 408 body_timeout", res.StatusCode, body)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("connection still open after the answer (read: %v)", err)
			}
		})
	}
}

// deadlineRecorder records the deadlines a handler sets through
// http.ResponseController.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	read, write time.Time
}

func (d *deadlineRecorder) SetReadDeadline(t time.Time) error  { d.read = t; return nil }
func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error { d.write = t; return nil }

// TestDeadlinesPerRoute checks which bound each kind of route gets: the
// body timeout, the longer upload timeout for photo uploads, and none for
// the streams (GET /ws and the Subscribe stream).
func TestDeadlinesPerRoute(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config) {
		c.BodyTimeout, c.UploadTimeout, c.WriteTimeout = 7*time.Second, 11*time.Minute, 13*time.Second
	})
	for _, c := range []struct {
		method, path string
		read, write  time.Duration // 0: no deadline
	}{
		{"POST", "/auth/login", 7 * time.Second, 20 * time.Second},
		{"POST", "/chats/0123456789abcdef01234567/messages", 7 * time.Second, 20 * time.Second},
		{"GET", "/users/me", 7 * time.Second, 20 * time.Second},
		{"PUT", "/chats/0123456789abcdef01234567", 11 * time.Minute, 11*time.Minute + 13*time.Second},
		{"POST", "/vibesync.sync.v1.SyncService/Push", 7 * time.Second, 20 * time.Second},
		{"GET", "/no/such/route", 7 * time.Second, 20 * time.Second},
		{"GET", "/ws", 0, 0},
		{"POST", "/vibesync.sync.v1.SyncService/Subscribe", 0, 0},
	} {
		rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
		start := time.Now()
		env.Server.Handler().ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader("")))
		check := func(kind string, got time.Time, want time.Duration) {
			if want == 0 {
				if !got.IsZero() {
					t.Errorf("%s %s: %s deadline set, want none (a stream)", c.method, c.path, kind)
				}
				return
			}
			// The deadline is start+want, give or take the handler's run.
			if d := got.Sub(start); d < want || d > want+5*time.Second {
				t.Errorf("%s %s: %s deadline %s after the start, want %s", c.method, c.path, kind, d, want)
			}
		}
		check("read", rec.read, c.read)
		check("write", rec.write, c.write)
	}
}
