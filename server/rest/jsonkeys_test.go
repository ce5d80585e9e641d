package rest_test

import (
	"slices"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// JSON keys are case-sensitive: a key that differs from a documented one
// only in case (or by folding, like the Kelvin sign for k) is an unknown
// key, ignored, never taken for the documented one; an exact key beside it
// is the one that counts. Found by FuzzJSONBodies: {"Token":"0"} registered
// a push device, where the document says the token is missing.
func TestJSONKeysAreCaseSensitive(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, ben := env.Register("Amy"), env.Register("Ben")
	devices := func() []string {
		var out []string
		if err := env.Server.DB().Read(ctx0, func(tx *store.Tx) (err error) { out, err = tx.PushDevices(ctx0, amy.ID); return err }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	env.Do("POST", "/push/devices", amy.Token, `{"Token":"tok-folded"}`).WantError(400, "")
	env.Do("POST", "/push/devices", amy.Token, "{\"to\u212aen\":\"tok-kelvin\"}").WantError(400, "")
	env.Do("POST", "/push/devices", amy.Token, `{"TOKEN":"tok-upper","token":"tok-exact","Token":"tok-after"}`).Want(204)
	if got := devices(); !slices.Equal(got, []string{"tok-exact"}) {
		t.Fatalf("amy's devices %v, want just the exact key's token", got)
	}

	// Nested keys too: a file's "URL" is not its "url".
	chat := group(t, env, amy, "Keys", nil, ben)
	env.Do("POST", "/chats/"+chat.ID+"/messages", amy.Token, `{"text":"hi","files":[{"URL":"https://cdn.test/a.png"}]}`).WantError(400, "")
	var sent struct {
		Message messageJSON `json:"message"`
	}
	env.Do("POST", "/chats/"+chat.ID+"/messages", amy.Token, `{"Text":"folded","text":"exact"}`).Want(201).Decode(&sent)
	if sent.Message.Text != "exact" {
		t.Fatalf("message text %q, want the exact key's", sent.Message.Text)
	}
}
