package rest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/wire"
)

// GET /connections' hand-written answer is the document writeJSON writes,
// byte for byte: every optional field set and unset, and strings that
// need escaping.
func TestAppendConnectionsAnswer(t *testing.T) {
	at := wire.T(time.Date(2025, 9, 22, 11, 37, 29, 500e6, time.UTC))
	st := &social.Status{ID: "s1", Text: "at the <pool> & \"bar\"", ExpiresAt: at, CreatedAt: at}
	var items []connectionItem
	for i, name := range []string{"", "Amy", "Zoë 😀", "tab\there", "quote\"back\\slash", "ctl\x01\x1f", "bad\xff\xfe", "sep\u2028\u2029", "<b>&</b>"} {
		from := social.User{ID: "u1", Name: name, Username: "amy" + name}
		to := social.User{ID: "u2", Name: "Ben", Username: "ben", Photo: "https://x/" + name, Bio: name, Status: st}
		if i%3 == 1 {
			to.Status, from.Deleted = nil, true
		}
		c := connectionItem{ID: "c" + name, From: from, To: to, Status: "pending", CreatedAt: at, User: to}
		if i%2 == 1 {
			c.Status, c.AcceptedAt = "accepted", at
		}
		items = append(items, c)
	}
	for _, list := range [][]connectionItem{items, {}, items[:1]} {
		rec := httptest.NewRecorder()
		writeJSON(rec, 200, map[string]any{"connections": list, "count": len(list) * 3})
		if got := appendConnectionsAnswer(nil, list, len(list)*3); string(got) != rec.Body.String() {
			t.Fatalf("got\n%s\nwant\n%s", got, rec.Body.String())
		}
	}
}
