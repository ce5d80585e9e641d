package rest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
)

type shownUser struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Bio      string `json:"bio"`
}

type shownConnection struct {
	ID     string    `json:"_id"`
	From   shownUser `json:"from"`
	To     shownUser `json:"to"`
	Status string    `json:"status"`
	User   shownUser `json:"user"`
}

// connectionsShown returns u's GET /connections{query} through env, its
// records and count, and the answer's bytes.
func connectionsShown(t *testing.T, env *servertest.Env, u servertest.User, query string) ([]shownConnection, int, []byte) {
	t.Helper()
	r := env.Do("GET", "/connections"+query, u.Token, nil).Want(http.StatusOK)
	var body struct {
		Connections []shownConnection `json:"connections"`
		Count       int               `json:"count"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("GET /connections%s: %v\n%s", query, err, r.Body)
	}
	return body.Connections, body.Count, r.Body
}

// statuses maps the other user's id to the record's status.
func statuses(list []shownConnection) map[string]string {
	out := map[string]string{}
	for _, c := range list {
		out[c.User.ID] = c.Status
	}
	return out
}

// A second GET /connections of an unchanged list reads only the list's
// version: one statement, the same bytes; other pages and filters come
// from the same kept list.
func TestConnectionListKeptInMemory(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, ben, cat, dan := env.Register("Amy"), env.Register("Ben"), env.Register("Cat"), env.Register("Dan")
	connect(t, env, ben, amy)
	env.Clock.Advance(time.Second)
	request(t, env, amy, cat)
	env.Clock.Advance(time.Second)
	request(t, env, dan, amy)
	get := func(query string) ([]byte, int64) {
		before := env.Server.DB().QueryCount()
		_, _, body := connectionsShown(t, env, amy, query)
		return body, env.Server.DB().QueryCount() - before
	}
	cold, coldCost := get("")
	warm, warmCost := get("")
	if !bytes.Equal(cold, warm) {
		t.Fatalf("answers differ:\n%s\n%s", cold, warm)
	}
	// Cold: the version outside a transaction, then the version, the
	// records and the users in one.
	if warmCost != 1 || coldCost != 4 {
		t.Fatalf("statements: %d cold, %d warm; want 4 and 1", coldCost, warmCost)
	}
	if _, cost := get("?status=pending&limit=1&page=2"); cost != 1 {
		t.Fatalf("a filtered page of the kept list ran %d statements, want 1", cost)
	}
	list, n, _ := connectionsShown(t, env, amy, "?status=pending&limit=1&page=2")
	if n != 2 || len(list) != 1 || list[0].User.ID != cat.ID || list[0].From.ID != amy.ID {
		t.Fatalf("pending page 2 of 1: count %d, %+v", n, list)
	}
	list, n, _ = connectionsShown(t, env, amy, "?limit=2&page=2")
	if n != 3 || len(list) != 1 || list[0].User.ID != ben.ID || list[0].Status != "accepted" {
		t.Fatalf("page 2 of 2: count %d, %+v", n, list)
	}
	list, n, _ = connectionsShown(t, env, amy, "?page=3")
	if n != 3 || len(list) != 0 {
		t.Fatalf("a page past the end: count %d, %+v", n, list)
	}
}

// What the list shows changes at once on every instance sharing the
// database, whichever instance made the change: records, blocks and the
// profiles of both sides.
func TestConnectionListCacheAcrossInstances(t *testing.T) {
	t.Parallel()
	a := servertest.New(t)
	b := servertest.Start(t, a.Dir)
	amy, ben, cat, dan := a.Register("Amy"), a.Register("Ben"), a.Register("Cat"), a.Register("Dan")
	connect(t, a, ben, amy)
	a.Clock.Advance(time.Second)
	request(t, a, cat, amy)

	list, n, _ := connectionsShown(t, a, amy, "") // warms a's list
	if n != 2 || statuses(list)[ben.ID] != "accepted" || statuses(list)[cat.ID] != "pending" {
		t.Fatalf("before: count %d, %+v", n, list)
	}
	connectionsShown(t, a, ben, "")

	t.Run("accept_through_another_instance", func(t *testing.T) {
		b.Do("POST", "/connections/"+cat.ID+"/accept", amy.Token, nil).Want(http.StatusOK)
		if list, n, _ := connectionsShown(t, a, amy, ""); n != 2 || statuses(list)[cat.ID] != "accepted" {
			t.Fatalf("after accepting cat: count %d, %+v", n, list)
		}
	})
	t.Run("request_through_another_instance", func(t *testing.T) {
		b.Clock.Advance(time.Second)
		meetMe(t, b, amy)
		b.Do("POST", "/connections/"+amy.ID, dan.Token, nil).Want(http.StatusCreated)
		list, n, _ := connectionsShown(t, a, amy, "")
		if n != 3 || len(list) != 3 || list[0].User.ID != dan.ID || list[0].Status != "pending" {
			t.Fatalf("after dan's request: count %d, %+v", n, list)
		}
	})
	t.Run("delete_through_another_instance", func(t *testing.T) {
		b.Do("DELETE", "/connections/"+dan.ID, amy.Token, nil).Want(http.StatusNoContent) // declined: not listed
		if list, n, _ := connectionsShown(t, a, amy, ""); n != 2 || statuses(list)[dan.ID] != "" {
			t.Fatalf("after declining dan: count %d, %+v", n, list)
		}
	})
	t.Run("the_other_side_renamed_through_another_instance", func(t *testing.T) {
		b.Do("PATCH", "/users/me", ben.Token, map[string]any{"name": "Benjamin"}).Want(http.StatusOK)
		list, _, _ := connectionsShown(t, a, amy, "")
		for _, c := range list {
			if c.User.ID == ben.ID && (c.User.Name != "Benjamin" || c.From.Name != "Benjamin") {
				t.Fatalf("after ben's rename: %+v", c)
			}
		}
	})
	t.Run("the_viewer_changed_through_another_instance", func(t *testing.T) {
		b.Do("PATCH", "/users/me", amy.Token, map[string]any{"bio": "Hello there"}).Want(http.StatusOK)
		list, _, _ := connectionsShown(t, a, amy, "")
		for _, c := range list {
			if c.To.ID != amy.ID || c.To.Bio != "Hello there" {
				t.Fatalf("after amy's bio: %+v", c)
			}
		}
		// Ben's list shows amy's profile too.
		if list, _, _ := connectionsShown(t, a, ben, ""); len(list) != 1 || list[0].User.Bio != "Hello there" {
			t.Fatalf("ben's list after amy's bio: %+v", list)
		}
	})
	t.Run("block_through_another_instance", func(t *testing.T) {
		b.Do("POST", "/users/"+amy.ID+"/block", ben.Token, nil).Want(http.StatusOK)
		if list, n, _ := connectionsShown(t, a, amy, ""); n != 1 || statuses(list)[ben.ID] != "" {
			t.Fatalf("while ben blocks amy: count %d, %+v", n, list)
		}
		b.Do("DELETE", "/users/"+amy.ID+"/block", ben.Token, nil).Want(http.StatusOK)
		if list, n, _ := connectionsShown(t, a, amy, ""); n != 2 || statuses(list)[ben.ID] != "accepted" {
			t.Fatalf("after ben unblocks amy: count %d, %+v", n, list)
		}
	})
}
