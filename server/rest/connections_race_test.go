package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// call is one request fired from a goroutine (no t.Fatal there).
type call struct {
	method, path, token string
	body                any
}

type answer struct {
	status int
	code   string
	err    error
}

// race sends all calls at once and returns their answers in order.
func race(env *servertest.Env, calls []call) []answer {
	out := make([]answer, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := servertest.NewRequest(context.Background(), c.method, env.URL+c.path, c.token, c.body)
			if err != nil {
				out[i].err = err
				return
			}
			res, err := env.HTTP.Client().Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer res.Body.Close()
			var e struct {
				Code string `json:"code"`
			}
			data, _ := io.ReadAll(res.Body)
			_ = json.Unmarshal(data, &e)
			out[i] = answer{status: res.StatusCode, code: e.Code}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// tally counts answers by "status code" ("201", "409 request_exists").
func tally(t *testing.T, as []answer) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, a := range as {
		if a.err != nil {
			t.Fatalf("request failed: %v", a.err)
		}
		k := fmt.Sprint(a.status)
		if a.code != "" {
			k += " " + a.code
		}
		m[k]++
	}
	return m
}

// pairState reads what the database holds for a pair of users: how many
// connection records, and their notifications by type.
func pairState(t *testing.T, env *servertest.Env, a, b string) (records int, notes map[string]int) {
	t.Helper()
	notes = map[string]int{}
	ctx := context.Background()
	err := env.Server.DB().Read(ctx, func(tx *store.Tx) error {
		for _, u := range []string{a, b} {
			for _, role := range []string{store.RoleSent} {
				cs, _, err := tx.Connections(ctx, store.ConnectionFilter{UserID: u, Role: role, Limit: 100})
				if err != nil {
					return err
				}
				records += len(cs)
			}
			ns, _, _, err := tx.Notifications(ctx, store.NotificationFilter{UserID: u, WithDismissed: true, Limit: 100})
			if err != nil {
				return err
			}
			for _, n := range ns {
				notes[n.Type]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return records, notes
}

func TestConcurrentConnectionWrites(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("one_record_per_pair_when_both_ask_at_once", func(t *testing.T) {
		env := shared.For(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		meetMe(t, env, amy)
		meetMe(t, env, bob)
		var calls []call
		for i := 0; i < 4; i++ {
			calls = append(calls,
				call{"POST", "/connections/" + bob.ID, amy.Token, nil},
				call{"POST", "/connections/" + amy.ID, bob.Token, nil},
				call{"POST", v1(amy, "/request"), amy.Token, map[string]string{"receiver_id": bob.ID}},
				call{"POST", v1(bob, "/request"), bob.Token, map[string]string{"receiver_id": amy.ID}})
		}
		got := tally(t, race(env, calls))
		// A 200 is a spec/1 request that turned the sender's own v1
		// request into one answering the target's status: an update.
		if got["201"] != 1 || got["201"]+got["200"]+got["409 request_exists"]+got["409 request_received"] != len(calls) {
			t.Fatalf("answers = %v, want one 201 and the rest 409 (or 200 for an update)", got)
		}
		records, notes := pairState(t, env, amy.ID, bob.ID)
		if records != 1 || notes["connection-request"] != 1 {
			t.Fatalf("%d records, notifications %v: want 1 record, 1 request notification", records, notes)
		}
		if s := scoreOf(t, env, amy) + scoreOf(t, env, bob); s != 2 {
			t.Fatalf("scores add up to %v, want one create-meetme-request (2)", s)
		}
		if n := len(eventRows(t, env, "connection-request", "user:"+amy.ID)) + len(eventRows(t, env, "connection-request", "user:"+bob.ID)); n != 1+got["200"] {
			t.Fatalf("%d connection-request events, want one per 201 or 200", n)
		}
	})
	t.Run("one_record_per_pair_across_two_instances", func(t *testing.T) {
		// Two servers on one database file: each has its own writer, so
		// only BEGIN IMMEDIATE and the pair's unique key keep the rule.
		one := servertest.New(t)
		two := servertest.Start(t, one.Dir)
		amy, bob := one.Register("Amy"), one.Register("Bob")
		var a1, a2 []call
		for i := 0; i < 4; i++ {
			a1 = append(a1, call{"POST", v1(amy, "/request"), amy.Token, map[string]string{"receiver_id": bob.ID}})
			a2 = append(a2, call{"POST", v1(bob, "/request"), bob.Token, map[string]string{"receiver_id": amy.ID}})
		}
		var r1, r2 []answer
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); r1 = race(one, a1) }()
		go func() { defer wg.Done(); r2 = race(two, a2) }()
		wg.Wait()
		got := tally(t, append(r1, r2...))
		if got["201"] != 1 || got["201"]+got["409 request_exists"]+got["409 request_received"] != len(a1)+len(a2) {
			t.Fatalf("answers = %v, want one 201 and the rest 409", got)
		}
		records, notes := pairState(t, one, amy.ID, bob.ID)
		if records != 1 || notes["connection-request"] != 1 {
			t.Fatalf("%d records, notifications %v: want 1 record, 1 request notification", records, notes)
		}
	})
	t.Run("one_accept_wins", func(t *testing.T) {
		env := shared.For(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		num := v1Request(t, env, amy, bob, "")
		var calls []call
		for i := 0; i < 4; i++ {
			calls = append(calls,
				call{"POST", "/connections/" + amy.ID + "/accept", bob.Token, nil},
				call{"POST", v1(bob, fmt.Sprintf("/accept/%d", num)), bob.Token, nil})
		}
		got := tally(t, race(env, calls))
		if got["200"] != 1 || got["409 already_connected"] != len(calls)-1 {
			t.Fatalf("answers = %v, want one 200 and the rest 409 already_connected", got)
		}
		if a, b := scoreOf(t, env, amy), scoreOf(t, env, bob); a != 12 || b != 10 {
			t.Fatalf("scores amy %v bob %v, want 12 and 10 (add-new-friend once each)", a, b)
		}
		_, notes := pairState(t, env, amy.ID, bob.ID)
		if notes["connection-accepted"] != 1 {
			t.Fatalf("notifications %v, want one connection-accepted", notes)
		}
		for _, u := range []string{amy.ID, bob.ID} {
			if evs := eventRows(t, env, "connection-accepted", "user:"+u); len(evs) != 1 {
				t.Fatalf("%d connection-accepted events to %s, want 1", len(evs), u)
			}
		}
	})
	t.Run("a_block_racing_a_request_leaves_no_request", func(t *testing.T) {
		env := shared.For(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		as := race(env, []call{
			{"POST", v1(amy, "/request"), amy.Token, map[string]string{"receiver_id": bob.ID}},
			{"POST", "/users/" + amy.ID + "/block", bob.Token, nil},
		})
		got := tally(t, as)
		if got["200"] != 1 || got["201"]+got["404 user_not_found"] != 1 {
			t.Fatalf("answers = %v, want the block and either the request or its 404", got)
		}
		ctx := context.Background()
		_ = env.Server.DB().Read(ctx, func(tx *store.Tx) error {
			if c, err := tx.ConnectionBetween(ctx, amy.ID, bob.ID); err == nil {
				t.Fatalf("a %s record survived the block", c.Status)
			}
			if ns, err := tx.NotificationsBetween(ctx, amy.ID, bob.ID); err != nil || len(ns) != 0 {
				t.Fatalf("notifications left = %v, %v", ns, err)
			}
			return nil
		})
	})
	t.Run("accept_decline_and_cancel_at_once_leave_one_outcome", func(t *testing.T) {
		env := shared.For(t)
		amy, bob := env.Register("Amy"), env.Register("Bob")
		id := request(t, env, amy, bob)
		as := race(env, []call{
			{"POST", "/connections/" + amy.ID + "/accept", bob.Token, nil},
			{"DELETE", "/connections/" + amy.ID, bob.Token, nil},
			{"DELETE", "/connections/" + bob.ID, amy.Token, nil},
		})
		got := tally(t, as)
		won := 0
		for _, a := range as {
			if a.status < 300 {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("answers = %v, want exactly one write to win", got)
		}
		records, notes := pairState(t, env, amy.ID, bob.ID)
		row := feed(t, env, "user:"+amy.ID)["connection/"+id]
		switch {
		case as[0].status == 200: // accepted
			if records != 1 || !strings.Contains(string(row.Data), `"accepted"`) || notes["connection-accepted"] != 1 {
				t.Fatalf("accepted: %d records, %v, feed %s", records, notes, row.Data)
			}
		case as[1].status == 204: // declined
			if records != 1 || !strings.Contains(string(row.Data), `"declined"`) || notes["connection-declined"] != 1 {
				t.Fatalf("declined: %d records, %v, feed %s", records, notes, row.Data)
			}
		default: // cancelled
			if records != 0 || row.Op != store.OpDelete || notes["connection-request"] != 0 {
				t.Fatalf("cancelled: %d records, %v, feed op %s", records, notes, row.Op)
			}
		}
	})
}
