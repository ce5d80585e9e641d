package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/shlex"
)

// TestREADMEOfflineExample runs the README's offline example literally:
// each command line as written (home folders under a temporary $HOME, the
// README's server address replaced by the test server's), stopping the
// server and starting it again where the example says so.
func TestREADMEOfflineExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- offline-example -->\n```sh\n")
	if !ok {
		t.Fatal("README has no offline example")
	}
	block, _, _ = strings.Cut(block, "```")
	srv := newRestartable(t)
	home := t.TempDir()
	outs := map[string]string{} // command line → its output
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		switch {
		case strings.HasPrefix(line, "# the server goes down"):
			srv.stop()
			continue
		case strings.HasPrefix(line, "# the server is back"):
			srv.restart()
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		words, err := shlex.Split(line)
		if err != nil || len(words) == 0 || words[0] != "vibesync" {
			t.Fatalf("not a vibesync command: %q (%v)", line, err)
		}
		for i, w := range words {
			w = strings.ReplaceAll(w, "http://127.0.0.1:8080", srv.URL())
			if strings.HasPrefix(w, "~/") {
				w = filepath.Join(home, w[2:])
			}
			words[i] = w
		}
		c := cli{t: t, stdin: password + "\n"}
		out, err := c.try(words[1:]...)
		if err != nil {
			t.Fatalf("%s\n%s\nfailed: %v", line, out, err)
		}
		cmd, _, _ := strings.Cut(line, "  #")
		cmd = strings.TrimSpace(cmd)
		outs[cmd] = out
		order = append(order, cmd)
		t.Logf("$ %s\n%s", cmd, out)
	}
	want := func(cmd string, parts ...string) string {
		t.Helper()
		out, ok := outs[cmd]
		if !ok {
			t.Fatalf("the example no longer runs %q", cmd)
		}
		for _, p := range parts {
			if !strings.Contains(out, p) {
				t.Errorf("%s:\n%s\nwant %q", cmd, out, p)
			}
		}
		return out
	}
	const amy = "vibesync --data ~/.vibesync-amy "
	created := want(amy+"group create Hikers bob", "queued (server unreachable)")
	m := regexp.MustCompile(`group "Hikers" is ([0-9a-f]{24})`).FindStringSubmatch(created)
	if m == nil {
		t.Fatalf("group create printed no id: %s", created)
	}
	id := m[1]
	for _, cmd := range []string{"add Hikers cat", `rename Hikers "Hill walkers"`, `send "Hill walkers" "Saturday, 9:00 at the station?"`,
		`leave "Book club"`, "decline dan", `profile --bio "Out walking"`} {
		want(amy+cmd, "queued (server unreachable)")
	}
	if out := want(amy+"chats", id+"  Hill walkers"); strings.Contains(out, "Book club") {
		t.Errorf("a chat left offline still shows:\n%s", out)
	}
	want(amy+"status", "outbox:    7 queued")
	want(amy+"sync", "pushed 7, rejected 0")
	msgs := want("vibesync --data ~/.vibesync-bob messages \"Hill walkers\"", "@amy: Saturday, 9:00 at the station?")
	if strings.Count(msgs, "Saturday") != 1 || strings.Contains(msgs, "queued") {
		t.Errorf("bob's messages:\n%s", msgs)
	}
	want("vibesync --data ~/.vibesync-cat chats", id+"  Hill walkers")

	// Every replica agrees with the server afterwards.
	run := func(user string, args ...string) string {
		t.Helper()
		c := cli{t: t, data: filepath.Join(home, ".vibesync-"+user)}
		return c.run(args...)
	}
	run("amy", "sync")
	if out := run("amy", "chats"); !strings.Contains(out, id+"  Hill walkers") || strings.Contains(out, "Book club") {
		t.Errorf("amy's chats after the sync:\n%s", out)
	}
	if out := run("amy", "me"); !strings.Contains(out, "Out walking") {
		t.Errorf("amy's profile: %s", out)
	}
	run("dan", "sync")
	if out := run("dan", "connections"); !strings.Contains(out, "declined") {
		t.Errorf("dan's connections: %s", out)
	}
	run("bob", "sync")
	if out := run("bob", "chats"); !strings.Contains(out, "Book club") || !strings.Contains(out, id+"  Hill walkers") {
		t.Errorf("bob's chats: %s", out)
	}
	if a, b := run("amy", "messages", id), run("bob", "messages", id); a != b {
		t.Errorf("amy and bob see different messages:\n%s\n%s", a, b)
	}
	_ = order
}
