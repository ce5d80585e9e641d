package remote_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vibesync/vibesync/integration/libsqlserver"
	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
)

// TestLiveTailOverTheWire: an event written through one instance reaches
// a socket on another instance sharing the libSQL server.
func TestLiveTailOverTheWire(t *testing.T) {
	t.Parallel()
	_, url := startFixture(t)
	a := startInstance(t, url, 25*time.Millisecond)
	b := startInstance(t, url, 25*time.Millisecond)
	amy, bob := chatPair(t, a)
	sock := b.Dial(bob.token)
	a.Do("POST", "/chats/"+amy.chat+"/messages", amy.token, map[string]any{"text": "across"}).Want(http.StatusCreated)
	await(sock, "message-created")
}

// await reads frames until one named event arrives (an instance that
// started before the chat was made may first deliver chat-created).
func await(s *servertest.Socket, event string) {
	for s.Next().Event != event {
	}
}

// TestLiveTailCostOverTheWire measures, against a libSQL server over HTTP
// at 0 and 10 ms per round trip and for several -live-poll intervals, the
// requests an idle instance sends per second and the delay from a message
// sent through one instance to its event on a socket of another. It only
// runs with VIBESYNC_REMOTE_BENCH=1; docs/PERFORMANCE.md quotes it.
func TestLiveTailCostOverTheWire(t *testing.T) {
	if os.Getenv("VIBESYNC_REMOTE_BENCH") == "" {
		t.Skip("set VIBESYNC_REMOTE_BENCH=1 to measure")
	}
	for _, lat := range []time.Duration{0, 10 * time.Millisecond} {
		for _, poll := range []time.Duration{25 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond} {
			fx, url := startFixture(t)
			fx.SetLatency(lat)
			a := startInstance(t, url, poll)
			b := startInstance(t, url, poll)
			amy, bob := chatPair(t, a)
			// Past the tailers' 2 s of fast polling after the last write
			// and their backoff to -live-idle-poll: an idle instance's rate.
			time.Sleep(4 * time.Second)
			before := fx.Total()
			time.Sleep(5 * time.Second)
			idle := float64(fx.Total().Pipelines-before.Pipelines) / 5 / 2
			sock := b.Dial(bob.token)
			var took []time.Duration
			for i := range 30 {
				began := time.Now()
				a.Do("POST", "/chats/"+amy.chat+"/messages", amy.token, map[string]any{"text": fmt.Sprint("tail ", i)}).Want(http.StatusCreated)
				await(sock, "message-created")
				took = append(took, time.Since(began))
			}
			slices.Sort(took)
			t.Logf("latency %s, poll %s: idle instance %.1f requests/s; send-to-event across instances p50 %s, p99 %s (30 messages)",
				lat, poll, idle, took[len(took)/2].Round(time.Millisecond), took[len(took)*99/100].Round(time.Millisecond))
		}
	}
}

type member struct{ token, chat string }

func startFixture(t *testing.T) (*libsqlserver.Server, string) {
	t.Helper()
	fx, err := libsqlserver.New(libsqlserver.Config{Path: filepath.Join(t.TempDir(), "live.db")})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fx.Handler())
	t.Cleanup(func() {
		hs.Close()
		fx.Close()
	})
	return fx, hs.URL
}

func startInstance(t *testing.T, url string, poll time.Duration) *servertest.Env {
	t.Helper()
	return servertest.New(t, func(c *server.Config) {
		c.DatabaseURL = url
		c.Live.PollInterval = poll
	})
}

// chatPair registers two users through e, the first creating a group chat
// with the second.
func chatPair(t *testing.T, e *servertest.Env) (member, member) {
	t.Helper()
	amy := e.Register(fmt.Sprintf("amy%d", time.Now().UnixNano()%1e6))
	bob := e.Register(fmt.Sprintf("bob%d", time.Now().UnixNano()%1e6))
	e.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK)
	var made struct {
		Chat struct {
			ID string `json:"_id"`
		}
	}
	e.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Tail", "category": "Study",
		"participants": []string{bob.ID}}).Want(http.StatusCreated).Decode(&made)
	return member{amy.Token, made.Chat.ID}, member{bob.Token, made.Chat.ID}
}
