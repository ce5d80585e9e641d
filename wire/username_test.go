package wire_test

import (
	"testing"

	"github.com/vibesync/vibesync/wire"
)

// Usernames per the spec: 3 to 30 characters of letters, digits, '.' and '_'.
func TestUsernameProblem(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"amy", "Amy.Jackson_2", "abcdefghijklmnopqrstuvwxyz1234"} {
		if p := wire.UsernameProblem(ok); p != "" {
			t.Errorf("%q refused: %s", ok, p)
		}
	}
	for u, want := range map[string]string{
		"ab":                              "must be 3 to 30 characters",
		"abcdefghijklmnopqrstuvwxyz12345": "must be 3 to 30 characters",
		"amy jackson":                     "may contain only letters, digits, '.' and '_'",
		"amy-j":                           "may contain only letters, digits, '.' and '_'",
		"émile":                           "may contain only letters, digits, '.' and '_'",
	} {
		if p := wire.UsernameProblem(u); p != want {
			t.Errorf("%q: %q, want %q", u, p, want)
		}
	}
}
