package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
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
	r.env = servertest.StartOn(t, r.dir, "127.0.0.1:0")
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
		if !strings.Contains(out, "rejected by the server: accept_connection") {
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

func TestCLIHelp(t *testing.T) {
	t.Parallel()
	c := cli{t: t, data: t.TempDir()}
	out := c.run("help")
	for _, cmd := range []string{"register", "login", "logout", "sync", "status", "watch", "profile", "connections",
		"connect", "accept", "decline", "disconnect", "follow", "unfollow", "block", "unblock", "meetme", "chat", "group create", "chats", "messages", "send", "read",
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
