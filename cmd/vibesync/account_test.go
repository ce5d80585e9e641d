package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// TestCLIAccount: list sessions, end a lost device's, change the password
// (from piped standard input), export, and delete the account.
func TestCLIAccount(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	phone := cli{t: t, server: env.URL, data: t.TempDir()}
	laptop := cli{t: t, server: env.URL, data: t.TempDir()}
	phone.run("register", "amy_acct", "Amy")
	laptop.run("login", "amy_acct")

	out := laptop.run("sessions")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(out, "vibesync CLI") || strings.Count(out, "(this device)") != 1 {
		t.Fatalf("sessions:\n%s", out)
	}
	var phoneSession string
	for _, l := range lines[1:] {
		if !strings.Contains(l, "(this device)") {
			phoneSession = strings.Fields(l)[0]
		}
	}

	t.Run("end_the_lost_phones_session", func(t *testing.T) {
		if out := laptop.run("sessions", "end", phoneSession); !strings.Contains(out, "ended session "+phoneSession) {
			t.Fatalf("sessions end: %s", out)
		}
		if out, err := phone.try("sync"); err == nil || !strings.Contains(err.Error(), "session ended") {
			t.Fatalf("the phone still syncs: %v\n%s", err, out)
		}
		phone.run("login", "amy_acct")
	})
	t.Run("password_from_stdin_lines_ends_other_sessions", func(t *testing.T) {
		c := laptop
		c.stdin = password + "\nan even better password\n"
		if out := c.run("password"); !strings.Contains(out, "password changed") {
			t.Fatalf("password: %s", out)
		}
		if _, err := phone.try("sync"); err == nil {
			t.Fatal("the phone's session survived the password change")
		}
		phone.stdin = "an even better password\n"
		phone.run("login", "amy_acct")
	})
	t.Run("password_never_from_arguments", func(t *testing.T) {
		if _, err := laptop.try("password", "secret"); err == nil {
			t.Fatal("a password argument was accepted")
		}
	})
	t.Run("export_to_a_file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "amy.json")
		if out := laptop.run("export", file); !strings.Contains(out, "exported") {
			t.Fatalf("export: %s", out)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Format  string `json:"format"`
			Profile struct {
				Username string `json:"username"`
			} `json:"profile"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Format != "vibesync-export/1" || doc.Profile.Username != "amy_acct" {
			t.Fatalf("export file: %v %+v", err, doc)
		}
	})
	t.Run("delete_account", func(t *testing.T) {
		c := laptop
		c.env = map[string]string{"VIBESYNC_PASSWORD": "an even better password"}
		if out := c.run("delete-account"); !strings.Contains(out, "deleted") {
			t.Fatalf("delete-account: %s", out)
		}
		if out, err := laptop.try("me"); err == nil {
			t.Fatalf("the wiped folder still answers me: %s", out)
		}
		if out, err := phone.try("sync"); err == nil || !strings.Contains(err.Error(), "deleted") {
			t.Fatalf("the phone's sync after deletion: %v\n%s", err, out)
		}
		if _, err := phone.try("login", "amy_acct"); err == nil {
			t.Fatal("a deleted account logged in")
		}
	})
}
