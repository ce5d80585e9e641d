package rest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// fuzzRoutes are JSON-body routes, each seeded with a real body.
var fuzzRoutes = []struct{ method, path, seed string }{
	{"POST", "/auth/register", `{"name":"John Doe","username":"john.doe","password":"correct horse battery"}`},
	{"POST", "/auth/login", `{"username":"john.doe","password":"correct horse battery"}`},
	{"POST", "/auth/refresh", `{"refreshToken":"abc"}`},
	{"PATCH", "/users/me", `{"name":"Amy","bio":"hi"}`},
	{"PUT", "/users/me/status", `{"text":"Up for coffee","durationMinutes":60}`},
	{"POST", "/chats", `{"isGroup":true,"name":"G","category":"Study","participants":[],"restricted":true}`},
	{"POST", "/requests", `{"chat":"0123456789abcdef01234567"}`},
	{"POST", "/reels", `{"chat":"0123456789abcdef01234567","video":"https://cdn.test/v.mp4","hashtags":["pool"]}`},
	{"POST", "/push/devices", `{"token":"device-token","platform":"android"}`},
	{"POST", "/v1/connections/{me}/request", `{"receiver_id":"0123456789abcdef01234567"}`},
}

// FuzzJSONBodies sends arbitrary bodies to the JSON routes of a real
// server: never a 5xx, always a JSON answer. make test runs it briefly.
func FuzzJSONBodies(f *testing.F) {
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), []byte(r.seed))
	}
	env := servertest.New(f)
	amy := env.Register("Amy")
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := r.path
		if path == "/v1/connections/{me}/request" {
			path = "/v1/connections/" + amy.ID + "/request"
		}
		res := doFrom(t, env, r.method, path, amy.Token, body, nil)
		if res.Status >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, path, body, res.Status, res.Body)
		}
		if res.Status != http.StatusNoContent && !json.Valid(res.Body) {
			t.Fatalf("%s %s with %q: a non-JSON answer %d %q", r.method, path, body, res.Status, res.Body)
		}
	})
}
