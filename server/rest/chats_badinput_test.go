package rest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// TestChatEndpointsRejectBadInputCleanly sends malformed ids, bodies of
// the wrong JSON types and out-of-range query values to every chat,
// message, request, reel and push endpoint: each answer is below 500 and
// every error is the JSON error body.
func TestChatEndpointsRejectBadInputCleanly(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, ben := env.Register("Amy"), env.Register("Ben")
	g := group(t, env, amy, "Group", map[string]any{"restricted": true}, ben)
	d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
	ids := []string{g.ID, d.ID, "zz", "000000000000000000000000", strings.Repeat("a", 3000), "%00", "ZZZZZZZZZZZZZZZZZZZZZZZZ"}
	bodies := []any{nil, "", "null", "[]", "1", `"x"`, "{", "{}", `{"_id":5}`, `{"_id":"zz","text":"x"}`, `{"text":5}`, `{"text":""}`,
		`{"text":"` + strings.Repeat("x", 4001) + `"}`, `{"files":"x"}`, `{"files":[null]}`, `{"files":[{"url":5}]}`, `{"files":[{"url":"ftp://x/y"}]}`,
		`{"files":[{"url":"https://a.test/x.mp4","meta":"s"}]}`, `{"participants":null}`, `{"participants":[null]}`, `{"participants":[1]}`,
		`{"participants":"x"}`, `{"participants":[]}`, `{"participants":["zz"]}`, `{"isGroup":"yes"}`, `{"isGroup":true,"participants":[]}`,
		`{"isGroup":true,"name":"x","category":"Event","participants":[],"event":{"startsAt":"bad"}}`,
		`{"isGroup":true,"name":"x","category":"Event","participants":[],"event":{"startsAt":5,"endsAt":[]}}`,
		`{"isGroup":true,"name":"x","category":"Study","participants":[],"tags":[null]}`, `{"isGroup":true,"name":"x","category":"Study","participants":[],"tags":"x"}`,
		`{"user":"` + ben.ID + `","meetMe":"zz"}`, `{"user":"` + ben.ID + `","meetMe":"000000000000000000000000"}`, `{"user":true}`,
		`{"status":5}`, `{"status":"maybe"}`, `{"chat":5}`, `{"chat":"zz"}`, `{"socket":5}`, `{"socket":"bad"}`, `{"token":5}`, `{"token":""}`,
		`{"chat":"` + g.ID + `","video":"x","hashtags":[1]}`, `{"chat":"` + g.ID + `","video":"https://a.test/v.mp4","isAnonymous":"x"}`,
	}
	// An operation the document gives no JSON body (noJSON: none at all,
	// or a multipart form) reads none of a JSON body's fields: it gets
	// the first few bodies (none, empty, null, an array, a number, a
	// string, malformed JSON: enough to show it ignores or refuses a body
	// whole) rather than every one.
	type call struct {
		method, path string
		noJSON       bool
	}
	const noJSONBodies = 7
	var calls []call
	for _, id := range ids {
		for _, c := range []call{{"GET", "/chats/%s", false}, {"PUT", "/chats/%s", true}, {"GET", "/chats/%s/files", false},
			{"POST", "/chats/%s/read", true}, {"POST", "/chats/%s/messages", false}, {"GET", "/chats/%s/messages", false},
			{"POST", "/chats/%s/participants", false}, {"POST", "/chats/%s/participants/multiple", false},
			{"POST", "/chats/%s/participants/" + ben.ID + "/admin", false}, {"POST", "/chats/%s/participants/" + ben.ID + "/status", false},
			{"POST", "/chats/" + g.ID + "/participants/%s/admin", false}, {"POST", "/chats/" + g.ID + "/participants/%s/status", false},
			{"DELETE", "/chats/" + g.ID + "/participants/%s/admin", false}, {"GET", "/requests/%s", false}, {"PATCH", "/requests/%s", false},
			{"POST", "/reels/%s/like", true}, {"POST", "/reels/%s/superlike", true}, {"POST", "/reels/%s/favorite", true},
			{"DELETE", "/push/devices/%s", true}} {
			calls = append(calls, call{c.method, strings.Replace(c.path, "%s", id, 1), c.noJSON})
		}
	}
	calls = append(calls, call{"POST", "/chats", false}, call{"POST", "/requests", false}, call{"POST", "/reels", false}, call{"POST", "/push/devices", false})
	for _, q := range []string{"?limit=0", "?limit=-1", "?limit=99999999999999999999", "?page=0", "?page=99999999999", "?page=1000000&limit=100",
		"?group=x", "?meetMeOnly=x", "?search=" + strings.Repeat("x", 300), "?type=x", "?status=x", "?before=zz", "?after=zz",
		"?before=000000000000000000000000", "?reelsLimit=-1", "?reelsLimit=999", "?search=ab", "?search=abc&category=%25&reelsLimit=0"} {
		for _, p := range []string{"/chats", "/chats/explore/communities", "/chats/" + g.ID + "/files", "/chats/" + g.ID + "/messages", "/requests"} {
			calls = append(calls, call{"GET", p + q, false})
		}
	}
	send := func(t *testing.T, c call) {
		env := env.For(t)
		sent := bodies
		if c.noJSON {
			sent = bodies[:noJSONBodies]
		}
		for _, b := range sent {
			r := env.Do(c.method, c.path, amy.Token, b)
			if r.Status >= 500 {
				t.Errorf("%s %s %v: %d %s", c.method, c.path, b, r.Status, r.Body)
			}
			if r.Status >= 400 {
				var e struct {
					Error, Message string
				}
				if json.Unmarshal(r.Body, &e) != nil || e.Error == "" || e.Message == "" {
					t.Errorf("%s %s %v: %d without a JSON error: %s", c.method, c.path, b, r.Status, r.Body)
				}
			}
			if c.method == "GET" {
				break
			}
		}
	}
	// The calls at once, as clients would make them; then the destructive
	// ones, so the chats stay for the others.
	t.Run("calls", func(t *testing.T) {
		for i, c := range calls {
			t.Run(fmt.Sprintf("%03d_%s", i, c.method), func(t *testing.T) {
				t.Parallel()
				send(t, c)
			})
		}
	})
	for _, id := range ids {
		send(t, call{"DELETE", "/chats/" + g.ID + "/participants/" + id, false})
		send(t, call{"DELETE", "/chats/" + id, false})
	}
}
