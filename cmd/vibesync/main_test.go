package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

const password = "correct horse battery"

type cli struct {
	t      *testing.T
	server string // "" leaves --server out
	data   string
	env    map[string]string
	stdin  string
}

func (c cli) run(args ...string) string {
	c.t.Helper()
	out, err := c.try(args...)
	if err != nil {
		c.t.Fatalf("vibesync %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c cli) try(args ...string) (string, error) {
	var out bytes.Buffer
	flags := []string{"--data", c.data}
	if c.server != "" {
		flags = append(flags, "--server", c.server)
	}
	stdin := c.stdin
	if stdin == "" {
		stdin = password + "\n"
	}
	err := run(context.Background(), append(flags, args...), env{
		getenv: func(k string) string { return c.env[k] },
		stdin:  strings.NewReader(stdin),
		stdout: &out, stderr: &out,
	})
	return out.String(), err
}

// restartable is a server that can stop and come back at the same URL
// with the same data.
type restartable struct {
	t   *testing.T
	dir string
	env *servertest.Env
}

func newRestartable(t *testing.T) *restartable {
	r := &restartable{t: t, dir: t.TempDir()}
	// Between a stop and the restart the port is free: on LoopbackHost no
	// other test binary's server can be given it.
	r.env = servertest.StartOn(t, r.dir, servertest.LoopbackHost()+":0")
	return r
}

func (r *restartable) URL() string { return r.env.URL }

func (r *restartable) stop() { r.env.Stop() }

func (r *restartable) restart() {
	r.t.Helper()
	r.env = servertest.StartOn(r.t, r.dir, strings.TrimPrefix(r.env.URL, "http://"))
}

func TestCLI(t *testing.T) {
	t.Parallel()
	srv := newRestartable(t)
	amy := cli{t: t, server: srv.URL(), data: t.TempDir()}
	bob := cli{t: t, server: srv.URL(), data: t.TempDir()}
	amy.run("register", "amy_cli", "Amy")
	bob.run("register", "bob_cli", "Bob")
	if out := amy.run("me"); !strings.Contains(out, "@amy_cli") {
		t.Fatalf("me: %s", out)
	}
	if out := amy.run("connect", "bob_cli", "hello"); !strings.Contains(out, "synced") {
		t.Fatalf("connect: %s", out)
	}
	bob.run("sync")
	if out := bob.run("connections"); !strings.Contains(out, "pending") || !strings.Contains(out, "@amy_cli") {
		t.Fatalf("bob's connections: %s", out)
	}

	t.Run("offline_write_queues_and_the_next_sync_delivers_it_once", func(t *testing.T) {
		srv.stop()
		if out := bob.run("accept", "amy_cli"); !strings.Contains(out, "queued") {
			t.Fatalf("offline accept: %s", out)
		}
		if out := bob.run("connections"); !strings.Contains(out, "accepted") {
			t.Fatalf("optimistic accept not shown: %s", out)
		}
		if out := bob.run("status"); !strings.Contains(out, "outbox:    1 queued") {
			t.Fatalf("status: %s", out)
		}
		if _, err := bob.try("sync"); err == nil {
			t.Fatal("sync against a stopped server succeeded")
		}
		srv.restart()
		if out := bob.run("sync"); !strings.Contains(out, "pushed 1, rejected 0") {
			t.Fatalf("sync: %s", out)
		}
		if out := bob.run("sync"); !strings.Contains(out, "pushed 0") {
			t.Fatalf("second sync pushed again: %s", out)
		}
		amy.run("sync")
		if out := amy.run("connections"); strings.Count(out, "accepted") != 1 || strings.Contains(out, "pending") {
			t.Fatalf("amy's connections: %s", out)
		}
		if out := bob.run("status"); !strings.Contains(out, "outbox:    0 queued, 0 awaiting") {
			t.Fatalf("status: %s", out)
		}
	})
	t.Run("rejection_is_reported", func(t *testing.T) {
		out, err := amy.try("accept", "bob_cli")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "rejected by the server: #") || !strings.Contains(out, "accept_connection") {
			t.Fatalf("accepting an accepted connection: %s", out)
		}
	})
	t.Run("usage_errors", func(t *testing.T) {
		if _, err := amy.try("send", "only-chat"); err == nil || !strings.Contains(err.Error(), "usage: vibesync send CHAT TEXT") {
			t.Fatalf("send without text: %v", err)
		}
		if _, err := amy.try("fly"); err == nil || !strings.Contains(err.Error(), `unknown command "fly"`) {
			t.Fatalf("unknown command: %v", err)
		}
		if _, err := amy.try("messages", "no such chat"); err == nil || !strings.Contains(err.Error(), `no chat "no such chat"`) {
			t.Fatalf("unknown chat: %v", err)
		}
	})
}

func TestCLIChat(t *testing.T) {
	t.Parallel()
	srv := newRestartable(t)
	amy := cli{t: t, server: srv.URL(), data: t.TempDir()}
	bob := cli{t: t, server: srv.URL(), data: t.TempDir()}
	amy.run("register", "amy_chat", "Amy")
	bob.run("register", "bob_chat", "Bob")
	amy.run("connect", "bob_chat")
	bob.run("sync")
	bob.run("accept", "amy_chat")
	if out := amy.run("chat", "bob_chat"); !strings.Contains(out, "synced") {
		t.Fatalf("chat: %s", out)
	}
	srv.env.Clock.Advance(time.Second) // unread counts messages after the last read, strictly
	amy.run("send", "bob_chat", "hi Bob")
	bob.run("sync")
	if out := bob.run("messages", "amy_chat"); !strings.Contains(out, "@amy_chat: hi Bob") {
		t.Fatalf("bob's messages: %s", out)
	}
	if out := bob.run("chats"); !strings.Contains(out, "1 unread") {
		t.Fatalf("bob's chats: %s", out)
	}

	// The server goes away; both keep writing.
	srv.stop()
	amy.run("send", "bob_chat", "are you there?")
	bob.run("send", "amy_chat", "on a train, no signal")
	if out := bob.run("messages", "amy_chat"); !strings.Contains(out, "no signal (queued)") {
		t.Fatalf("bob's offline view: %s", out)
	}
	// It comes back: both converge, nothing lost or doubled.
	srv.restart()
	amy.run("sync")
	bob.run("sync")
	amy.run("sync")
	a, b := amy.run("messages", "bob_chat"), bob.run("messages", "amy_chat")
	for _, text := range []string{"hi Bob", "are you there?", "on a train, no signal"} {
		if strings.Count(a, text) != 1 || strings.Count(b, text) != 1 {
			t.Fatalf("%q not exactly once:\namy:\n%s\nbob:\n%s", text, a, b)
		}
	}
	if strings.Contains(a, "queued") || strings.Contains(b, "queued") {
		t.Fatalf("still queued:\n%s\n%s", a, b)
	}
	if a != b {
		t.Fatalf("replicas differ:\namy:\n%s\nbob:\n%s", a, b)
	}
}

func TestCLISessionEnded(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := cli{t: t, server: env.URL, data: t.TempDir()}
	bob := cli{t: t, server: env.URL, data: t.TempDir()}
	amy.run("register", "amy_s", "Amy")
	bob.run("register", "bob_s", "Bob")
	amy.run("connect", "bob_s")
	bob.run("sync")
	env.Clock.Advance(31 * 24 * time.Hour) // both of bob's tokens are dead
	out, err := bob.try("accept", "amy_s")
	if err == nil || !strings.Contains(err.Error(), "log in again") || !strings.Contains(out, "queued, not delivered yet") {
		t.Fatalf("accept with a dead session: %v\n%s", err, out)
	}
	if out := bob.run("status"); !strings.Contains(out, "outbox:    1 queued") {
		t.Fatalf("status: %s", out)
	}
	bob.run("login", "bob_s") // delivers what was queued
	amy.run("login", "amy_s")
	if out := amy.run("connections"); !strings.Contains(out, "accepted") {
		t.Fatalf("amy's connections: %s", out)
	}
}

// F1 with the CLI alone: a message the server would refuse for its size
// is refused at once and never queued; what was queued before and after
// it is delivered by the next sync.
func TestCLIOversizedMessageIsRefusedAndNothingJams(t *testing.T) {
	t.Parallel()
	srv := newRestartable(t)
	amy := cli{t: t, server: srv.URL(), data: t.TempDir()}
	bob := cli{t: t, server: srv.URL(), data: t.TempDir()}
	amy.run("register", "amy_big", "Amy")
	bob.run("register", "bob_big", "Bob")
	amy.run("connect", "bob_big")
	bob.run("sync")
	bob.run("accept", "amy_big")
	amy.run("chat", "bob_big")
	srv.stop()
	amy.run("send", "bob_big", "before")
	out, err := amy.try("send", "bob_big", strings.Repeat("x", 9_000_000))
	if err == nil || !strings.Contains(err.Error(), "not queued") || !strings.Contains(err.Error(), "at most 4000") {
		t.Fatalf("oversized send: %v\n%.200s", err, out)
	}
	amy.run("send", "bob_big", "after")
	srv.restart()
	if out := amy.run("status"); !strings.Contains(out, "2 queued") {
		t.Fatalf("status: %s", out)
	}
	if out := amy.run("sync"); !strings.Contains(out, "pushed 2, rejected 0") {
		t.Fatalf("sync: %s", out)
	}
	bob.run("sync")
	if out := bob.run("messages", "amy_big"); !strings.Contains(out, "before") || !strings.Contains(out, "after") {
		t.Fatalf("bob's messages: %s", out)
	}
}

// F6 with the CLI alone: `sync --verify` finds a message whose text was
// changed in the replica without its seq changing, and repairs it.
func TestCLIVerifyRepairsChangedContent(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := cli{t: t, server: env.URL, data: t.TempDir()}
	bob := cli{t: t, server: env.URL, data: t.TempDir()}
	amy.run("register", "amy_ver", "Amy")
	bob.run("register", "bob_ver", "Bob")
	amy.run("connect", "bob_ver")
	bob.run("sync")
	bob.run("accept", "amy_ver")
	bob.run("chat", "amy_ver")
	bob.run("send", "amy_ver", "meet at noon")
	amy.run("sync")
	db, err := sql.Open("sqlite", filepath.Join(amy.data, "replica.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`UPDATE rows SET data = CAST(replace(CAST(data AS TEXT), 'meet at noon', 'meet at nine') AS BLOB) WHERE entity = 'message'`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out := amy.run("messages", "bob_ver"); !strings.Contains(out, "meet at nine") {
		t.Fatalf("setup: %s", out)
	}
	if out := amy.run("sync", "--verify"); !strings.Contains(out, "repaired chat:") {
		t.Fatalf("sync --verify: %s", out)
	}
	if out := amy.run("messages", "bob_ver"); !strings.Contains(out, "meet at noon") || strings.Contains(out, "nine") {
		t.Fatalf("after repair: %s", out)
	}
}

// signalWriter collects output and closes found once it contains want.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	found chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.found != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.found)
		w.found = nil
	}
	return n, err
}

// Item 7 with the CLI: status says online or offline, the queue and the
// last error; watch prints each arrival with its kind and a summary.
func TestCLIStatusAndWatch(t *testing.T) {
	t.Parallel()
	srv := newRestartable(t)
	amy := cli{t: t, server: srv.URL(), data: t.TempDir()}
	bob := cli{t: t, server: srv.URL(), data: t.TempDir()}
	amy.run("register", "amy_w", "Amy")
	bob.run("register", "bob_w", "Bob")
	amy.run("connect", "bob_w")
	bob.run("sync")
	bob.run("accept", "amy_w")
	bob.run("chat", "amy_w")
	amy.run("sync")
	if out := amy.run("status"); !strings.Contains(out, "state:     online") || strings.Contains(out, "last error") {
		t.Fatalf("status online: %s", out)
	}
	srv.stop()
	amy.run("send", "bob_w", "hello?")
	if out := amy.run("status"); !strings.Contains(out, "state:     offline") || !strings.Contains(out, "last error: client: server unreachable") ||
		!strings.Contains(out, "outbox:    1 queued") {
		t.Fatalf("status offline: %s", out)
	}

	srv.restart()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // before the server stops: watch holds a stream open
	found := make(chan struct{})
	w := &signalWriter{want: "+ message @bob_w: see you at noon", found: found}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--server", amy.server, "--data", amy.data, "watch"}, env{
			getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: w, stderr: w})
	}()
	bob.run("send", "amy_w", "see you at noon")
	select {
	case <-found:
	case err := <-done:
		w.mu.Lock()
		defer w.mu.Unlock()
		t.Fatalf("watch ended: %v\n%s", err, w.buf.String())
	case <-time.After(30 * time.Second):
		w.mu.Lock()
		defer w.mu.Unlock()
		t.Fatalf("watch never printed the message:\n%s", w.buf.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
}

func TestCLIHelp(t *testing.T) {
	t.Parallel()
	c := cli{t: t, data: t.TempDir()}
	out := c.run("help")
	for _, cmd := range []string{"register", "login", "logout", "sync", "status", "watch", "profile", "connections",
		"connect", "accept", "decline", "disconnect", "follow", "unfollow", "block", "unblock", "meetme", "chat", "group create", "chats", "messages", "history", "evict", "send", "read",
		"delete", "rename", "add", "remove", "admin", "leave", "join", "request", "requests", "notifications", "help"} {
		n := 0
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "  "+cmd+" ") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("help lists %q on %d lines:\n%s", cmd, n, out)
		}
	}
	if out := c.run("help", "history"); !strings.Contains(out, "Needs the server.") || !strings.Contains(out, "readable offline") {
		t.Fatalf("help history: %s", out)
	}
	if out := c.run("help", "evict"); !strings.Contains(out, "Works offline.") {
		t.Fatalf("help evict: %s", out)
	}
	if out := c.run("help", "login"); !strings.Contains(out, "Needs the server.") {
		t.Fatalf("help login: %s", out)
	}
	if out := c.run("help", "group"); !strings.Contains(out, "usage: vibesync group create [--category CATEGORY] NAME [USER...]") || !strings.Contains(out, "Works offline.") {
		t.Fatalf("help group: %s", out)
	}
	if _, err := c.try("help", "fly"); err == nil || !strings.Contains(err.Error(), `unknown command "fly"`) {
		t.Fatalf("help fly: %v", err)
	}
	if _, err := c.try("fly"); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func TestCLIRemembersTheServer(t *testing.T) {
	t.Parallel()
	x, y := servertest.New(t), servertest.New(t)
	amy := cli{t: t, server: x.URL, data: t.TempDir()}
	amy.run("register", "amy_srv", "Amy")
	later := amy
	later.server = ""
	if out := later.run("sync"); !strings.Contains(out, "pushed 0, rejected 0") {
		t.Fatalf("sync without --server: %s", out)
	}
	if out := later.run("status"); !strings.Contains(out, "server:    "+x.URL) {
		t.Fatalf("status: %s", out)
	}
	other := amy
	other.server = y.URL
	for _, args := range [][]string{{"sync"}, {"me"}, {"login", "amy_srv"}} {
		_, err := other.try(args...)
		if err == nil || !strings.Contains(err.Error(), x.URL) || !strings.Contains(err.Error(), y.URL) {
			t.Fatalf("%v against another server: %v", args, err)
		}
	}
	// After logging out, the folder may log in elsewhere.
	if out := later.run("logout"); !strings.Contains(out, "logged out of "+x.URL) {
		t.Fatalf("logout: %s", out)
	}
	if _, err := later.try("sync"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Fatalf("sync after logout: %v", err)
	}
	other.run("register", "amy_srv", "Amy")
	if out := later.run("status"); !strings.Contains(out, "server:    "+y.URL) {
		t.Fatalf("status after moving: %s", out)
	}
}

func TestCLIPasswordSources(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := cli{t: t, server: env.URL, data: t.TempDir()}
	amy.run("register", "amy_pw", "Amy") // from standard input
	amy.run("logout")
	fromEnv := amy
	fromEnv.env = map[string]string{"VIBESYNC_PASSWORD": password}
	fromEnv.stdin = "not the password\n"
	if out := fromEnv.run("login", "amy_pw"); !strings.Contains(out, "logged in as amy_pw") {
		t.Fatalf("login with $VIBESYNC_PASSWORD: %s", out)
	}
	wrong := amy
	wrong.stdin = "not the password\n"
	if _, err := wrong.try("login", "amy_pw"); err == nil {
		t.Fatal("login with a wrong password from standard input succeeded")
	}
	if out := fromEnv.run("profile", "--photo", "https://img.example/amy.jpg", "--bio", "hi"); !strings.Contains(out, "photo: https://img.example/amy.jpg") || !strings.Contains(out, "synced") {
		t.Fatalf("profile edit: %s", out)
	}
	if out := fromEnv.run("profile"); !strings.Contains(out, "photo: https://img.example/amy.jpg") || !strings.Contains(out, "hi") {
		t.Fatalf("profile: %s", out)
	}
	if out := fromEnv.run("meetme", "Coffee", "at", "noon?", "30"); !strings.Contains(out, "synced") {
		t.Fatalf("meetme: %s", out)
	}
	if out := fromEnv.run("me"); !strings.Contains(out, "meet me: Coffee at noon?") {
		t.Fatalf("me after meetme: %s", out)
	}
	none := amy
	none.stdin = "\n"
	if _, err := none.try("login", "amy_pw"); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Fatalf("login without a password: %v", err)
	}
	if _, err := amy.try("login", "amy_pw", password); err == nil || !strings.Contains(err.Error(), "usage: vibesync login USERNAME") {
		t.Fatalf("a password on the command line was accepted: %v", err)
	}
}

func TestCLIUnknownUserOffline(t *testing.T) {
	t.Parallel()
	srv := newRestartable(t)
	amy := cli{t: t, server: srv.URL(), data: t.TempDir()}
	amy.run("register", "amy_unk", "Amy")
	srv.stop()
	if out := amy.run("logout"); !strings.Contains(out, "logged out here; "+srv.URL()+" is unreachable") {
		t.Fatalf("logout offline: %s", out)
	}
	if _, err := amy.try("login", "amy_unk"); err == nil || !strings.Contains(err.Error(), "login needs the server, and "+srv.URL()+" is unreachable") {
		t.Fatalf("login offline: %v", err)
	}
	srv.restart()
	amy.run("login", "amy_unk")
	srv.stop()
	_, err := amy.try("connect", "stranger")
	if err == nil || !strings.Contains(err.Error(), "@stranger is not in this replica and the server is unreachable") ||
		!strings.Contains(err.Error(), "user id") {
		t.Fatalf("unknown user offline: %v", err)
	}
}

// F7 with the CLI alone: a rejected message is reported with what it was
// sent to and what it said, kept, listed by `rejections`, and `retry N`
// or `dismiss N` settle it.
func TestCLIRejectionsRetryDismiss(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := cli{t: t, server: env.URL, data: t.TempDir()}
	bob := cli{t: t, server: env.URL, data: t.TempDir()}
	amy.run("register", "amy_rej", "Amy")
	bob.run("register", "bob_rej", "Bob")
	amy.run("connect", "bob_rej")
	bob.run("sync")
	bob.run("accept", "amy_rej")
	amy.run("sync")
	amy.run("group", "create", "Hikers", "bob_rej")
	bob.run("sync")
	bob.run("leave", "Hikers")
	// Bob's view still lists the group until he syncs; he writes to it
	// by its id, which the server refuses.
	out := amy.run("chats")
	id := strings.Fields(out)[0]
	out, _ = bob.try("send", id, "my carefully typed words")
	if !strings.Contains(out, "rejected by the server: #") || !strings.Contains(out, `"my carefully typed words"`) || !strings.Contains(out, "vibesync retry") {
		t.Fatalf("send: %s", out)
	}
	list := bob.run("rejections")
	if !strings.Contains(list, "send_message") || !strings.Contains(list, `"my carefully typed words"`) {
		t.Fatalf("rejections: %s", list)
	}
	n := strings.TrimPrefix(strings.Fields(strings.SplitN(list, "#", 2)[1])[0], "#")
	if out := bob.run("dismiss", n); !strings.Contains(out, "dismissed #"+n) {
		t.Fatalf("dismiss: %s", out)
	}
	if out := bob.run("rejections"); !strings.Contains(out, "no rejected changes") {
		t.Fatalf("after dismiss: %s", out)
	}
	if _, err := bob.try("retry", n); err == nil {
		t.Fatal("retry of a dismissed change succeeded")
	}
}

// F9 with the CLI alone: a cancel typed offline while the other side
// accepts is refused (connection_accepted) and the connection stays.
func TestCLICancelNeverBecomesUnfriend(t *testing.T) {
	t.Parallel()
	srv := newRestartable(t)
	amy := cli{t: t, server: srv.URL(), data: t.TempDir()}
	bob := cli{t: t, server: srv.URL(), data: t.TempDir()}
	amy.run("register", "amy_f9", "Amy")
	bob.run("register", "bob_f9", "Bob")
	amy.run("connect", "bob_f9")
	bob.run("sync")
	srv.stop()
	if out := amy.run("disconnect", "bob_f9"); !strings.Contains(out, "queued") {
		t.Fatalf("offline cancel: %s", out)
	}
	srv.restart()
	bob.run("accept", "amy_f9")
	out := amy.run("sync")
	if !strings.Contains(out, "rejected by the server: #") || !strings.Contains(out, "connection_accepted") || !strings.Contains(out, "@bob_f9") {
		t.Fatalf("amy's sync: %s", out)
	}
	if out := amy.run("connections"); !strings.Contains(out, "accepted") || !strings.Contains(out, "@bob_f9") {
		t.Fatalf("amy's connections: %s", out)
	}
	bob.run("sync")
	if out := bob.run("connections"); !strings.Contains(out, "accepted") {
		t.Fatalf("bob's connections: %s", out)
	}
}

// F2 with the CLI alone: a data folder restored from a backup older than
// the tombstone window (the original kept working) takes a new client id
// for the ids the original used, and the text typed on it is delivered.
func TestCLIRestoredBackupLosesNoWork(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := cli{t: t, server: env.URL, data: t.TempDir()}
	bob := cli{t: t, server: env.URL, data: t.TempDir()}
	amy.run("register", "amy_f2", "Amy")
	bob.run("register", "bob_f2", "Bob")
	amy.run("connect", "bob_f2")
	bob.run("sync")
	bob.run("accept", "amy_f2")
	amy.run("chat", "bob_f2")
	backup := cli{t: t, server: env.URL, data: t.TempDir()}
	for _, name := range []string{"replica.db", "replica.db-wal", "replica.db-shm"} {
		b, err := os.ReadFile(filepath.Join(amy.data, name))
		if err == nil {
			err = os.WriteFile(filepath.Join(backup.data, name), b, 0o600)
		}
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	amy.run("send", "bob_f2", "from the original, one")
	amy.run("send", "bob_f2", "from the original, two")
	// The window (here one hour) passes and the server prunes.
	env.Clock.Advance(2 * time.Hour)
	if err := env.Server.DB().Write(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.PruneTombstones(context.Background(), tx.Now.Add(-time.Hour)); err != nil {
			return err
		}
		_, err := tx.PruneMutationRecords(context.Background(), tx.Now.Add(-time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out := backup.run("send", "bob_f2", "typed on the restored backup")
	if strings.Contains(out, "rejected") {
		t.Fatalf("restored backup: %s", out)
	}
	if out := backup.run("status"); !strings.Contains(out, "0 queued") {
		t.Fatalf("status: %s", out)
	}
	bob.run("sync")
	if out := bob.run("messages", "amy_f2"); strings.Count(out, "typed on the restored backup") != 1 || strings.Count(out, "from the original") != 2 {
		t.Fatalf("bob's messages: %s", out)
	}
}
