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
	type call struct{ method, path string }
	var calls []call
	for _, id := range ids {
		for _, c := range []call{{"GET", "/chats/%s"}, {"PUT", "/chats/%s"}, {"GET", "/chats/%s/files"}, {"POST", "/chats/%s/read"},
			{"POST", "/chats/%s/messages"}, {"GET", "/chats/%s/messages"}, {"POST", "/chats/%s/participants"},
			{"POST", "/chats/%s/participants/multiple"}, {"POST", "/chats/%s/participants/" + ben.ID + "/admin"},
			{"POST", "/chats/%s/participants/" + ben.ID + "/status"}, {"POST", "/chats/" + g.ID + "/participants/%s/admin"},
			{"POST", "/chats/" + g.ID + "/participants/%s/status"}, {"DELETE", "/chats/" + g.ID + "/participants/%s/admin"},
			{"GET", "/requests/%s"}, {"PATCH", "/requests/%s"}, {"POST", "/reels/%s/like"}, {"POST", "/reels/%s/superlike"},
			{"POST", "/reels/%s/favorite"}, {"DELETE", "/push/devices/%s"}} {
			calls = append(calls, call{c.method, strings.Replace(c.path, "%s", id, 1)})
		}
	}
	calls = append(calls, call{"POST", "/chats"}, call{"POST", "/requests"}, call{"POST", "/reels"}, call{"POST", "/push/devices"})
	for _, q := range []string{"?limit=0", "?limit=-1", "?limit=99999999999999999999", "?page=0", "?page=99999999999", "?page=1000000&limit=100",
		"?group=x", "?meetMeOnly=x", "?search=" + strings.Repeat("x", 300), "?type=x", "?status=x", "?before=zz", "?after=zz",
		"?before=000000000000000000000000", "?reelsLimit=-1", "?reelsLimit=999", "?search=ab", "?search=abc&category=%25&reelsLimit=0"} {
		for _, p := range []string{"/chats", "/chats/explore/communities", "/chats/" + g.ID + "/files", "/chats/" + g.ID + "/messages", "/requests"} {
			calls = append(calls, call{"GET", p + q})
		}
	}
	send := func(t *testing.T, c call) {
		env := env.For(t)
		for _, b := range bodies {
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
		send(t, call{"DELETE", "/chats/" + g.ID + "/participants/" + id})
		send(t, call{"DELETE", "/chats/" + id})
	}
}
