package rpc_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

func TestPushIdempotency(t *testing.T) {
	t.Parallel()
	shared := sharedHarness(t) // the subtests' server: each registers users of its own
	t.Run("concurrent_retries_apply_once", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		for round := range 4 {
			client := fmt.Sprintf("client-concurrent-%04d", round)
			// Mutation 1 cannot run twice: a second request to Bob is a conflict.
			ms := []*syncv1.Mutation{connectTo(1, bob.ID)}
			if round > 0 {
				ms = []*syncv1.Mutation{bio(1, "first")}
			}
			for i := int64(2); i <= 30; i++ {
				ms = append(ms, bio(i, fmt.Sprint(i)))
			}
			var wg sync.WaitGroup
			answers := make([]*syncv1.PushResponse, 2)
			errs := make([]error, 2)
			for k := range answers {
				wg.Add(1)
				go func() { // two connections of their own
					defer wg.Done()
					res, err := h.client(amy).Push(context.Background(), connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 1, ClientId: client, Mutations: ms}))
					if err == nil {
						answers[k] = res.Msg
					}
					errs[k] = err
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for i := range ms {
				fresh := 0
				for _, a := range answers {
					if len(a.Results) != len(ms) {
						t.Fatalf("round %d: %d results", round, len(a.Results))
					}
					r := a.Results[i]
					if r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
						t.Fatalf("round %d: mutation %d: %v", round, r.Id, r)
					}
					if !r.Duplicate {
						fresh++
					}
				}
				if fresh != 1 {
					t.Fatalf("round %d: mutation %d applied by %d pushes", round, ms[i].Id, fresh)
				}
			}
		}
		if me := meOf(h, amy); me["bio"] != "30" {
			t.Fatalf("bio %v", me["bio"])
		}
	})
	t.Run("lower_id_never_seen_is_rejected_not_run", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		c := h.client(amy)
		push(t, c, clientA, bio(5, "five"))
		for range 2 {
			r := push(t, c, clientA, bio(3, "three")).Results[0]
			if r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Reason != "mutation_out_of_order" || r.Duplicate || r.Message == "" {
				t.Fatalf("late mutation 3: %v", r)
			}
		}
		if me := meOf(h, amy); me["bio"] != "five" {
			t.Fatalf("a late mutation ran: bio %v", me["bio"])
		}
		if r := push(t, c, clientA, bio(6, "six")).Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED || r.Duplicate {
			t.Fatalf("mutation 6 after a late one: %v", r)
		}
	})
	t.Run("non_positive_id_runs_nothing", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		_, err := h.client(amy).Push(context.Background(), connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 1, ClientId: clientA,
			Mutations: []*syncv1.Mutation{bio(0, "zero"), bio(1, "one")}}))
		wantCode(t, err, connect.CodeInvalidArgument, "invalid_mutations")
		if me := meOf(h, amy); me["bio"] == "one" || me["bio"] == "zero" {
			t.Fatalf("bio %v", me["bio"])
		}
	})
	t.Run("another_users_client_id_is_another_client", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		first := push(t, h.client(amy), clientA, username(1, bob.Username)).Results[0]
		if first.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED {
			t.Fatalf("amy's first %v", first)
		}
		// Bob's mutation 1 under the same id is his own, not amy's outcome.
		r := push(t, h.client(bob), clientA, bio(1, "bob's")).Results[0]
		if r.Duplicate || r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED || r.Message == first.Message {
			t.Fatalf("bob's mutation 1: %v", r)
		}
		if me := meOf(h, bob); me["bio"] != "bob's" {
			t.Fatalf("bob's bio %v", me["bio"])
		}
		// Amy's client is untouched: her retry is still her recorded
		// outcome, and her next id runs.
		res := push(t, h.client(amy), clientA, username(1, bob.Username), bio(2, "amy's"))
		if r := res.Results[0]; !r.Duplicate || r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Reason != first.Reason {
			t.Fatalf("amy's retry %v", r)
		}
		if r := res.Results[1]; r.Duplicate || r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("amy's mutation 2 %v", r)
		}
		if me := meOf(h, amy); me["bio"] != "amy's" {
			t.Fatalf("amy's bio %v", me["bio"])
		}
		// Bob going far ahead on that id does not block amy's next one.
		push(t, h.client(bob), clientA, bio(100, "bob far"))
		if r := push(t, h.client(amy), clientA, bio(3, "amy 3")).Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED || r.Duplicate {
			t.Fatalf("amy's mutation 3 %v", r)
		}
	})
	t.Run("reused_id_with_other_content_is_rejected", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		push(t, h.client(amy), clientA, bio(1, "original"))
		if r := push(t, h.client(amy), clientA, bio(1, "original")).Results[0]; !r.Duplicate || r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("same content again: %v", r)
		}
		for range 2 { // not recorded: the answer stays the same
			res := push(t, h.client(amy), clientA, bio(1, "restored copy"), bio(2, "behind it"))
			if len(res.Results) != 1 {
				t.Fatalf("results %v: the push must stop at the reused id", res.Results)
			}
			r := res.Results[0]
			if r.Duplicate || r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Code != "conflict" || r.Reason != "mutation_id_reused" {
				t.Fatalf("reused id: %v", r)
			}
			if me := meOf(h, amy); me["bio"] != "original" {
				t.Fatalf("bio %v", me["bio"])
			}
		}
		// The same mutations under a new client id run, in order.
		res := push(t, h.client(amy), clientB, bio(1, "restored copy"), bio(2, "behind it"))
		for _, r := range res.Results {
			if r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED || r.Duplicate {
				t.Fatalf("under a new client id: %v", r)
			}
		}
		if me := meOf(h, amy); me["bio"] != "behind it" {
			t.Fatalf("bio %v", me["bio"])
		}
	})
	t.Run("reused_id_of_a_rejected_mutation", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		push(t, h.client(amy), clientA, username(1, bob.Username))
		r := push(t, h.client(amy), clientA, bio(1, "other")).Results[0]
		if r.Reason != "mutation_id_reused" {
			t.Fatalf("reused id of a rejection: %v", r)
		}
	})
}

// TestMalformedMutationsAreRejectedNotFailed: bad bodies of every kind are
// recorded rejections with a client error, never an internal one, and never
// stop the push.
func TestMalformedMutationsAreRejectedNotFailed(t *testing.T) {
	t.Parallel()
	h := sharedHarness(t)
	amy := h.env.Register("Amy")
	missing := oid.New()
	huge := strings.Repeat("x", 100_000)
	bodies := []*syncv1.Mutation{
		{},
		{Kind: &syncv1.Mutation_SetStatus{SetStatus: &syncv1.SetStatus{Text: "here"}}},
		{Kind: &syncv1.Mutation_SetStatus{SetStatus: &syncv1.SetStatus{Text: "here", ExpiresInSeconds: -60}}},
		{Kind: &syncv1.Mutation_SetStatus{SetStatus: &syncv1.SetStatus{Text: "here", ExpiresInSeconds: 1 << 62}}},
		{Kind: &syncv1.Mutation_Follow{Follow: &syncv1.FollowUser{UserId: "not-an-id"}}},
		{Kind: &syncv1.Mutation_Follow{Follow: &syncv1.FollowUser{UserId: missing}}},
		{Kind: &syncv1.Mutation_Block{Block: &syncv1.BlockUser{UserId: amy.ID}}},
		{Kind: &syncv1.Mutation_CreateConnection{CreateConnection: &syncv1.CreateConnection{UserId: amy.ID}}},
		{Kind: &syncv1.Mutation_AcceptConnection{AcceptConnection: &syncv1.AcceptConnection{UserId: missing}}},
		{Kind: &syncv1.Mutation_DeleteConnection{DeleteConnection: &syncv1.DeleteConnection{UserId: ""}}},
		{Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{}}},
		{Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{Group: true, Name: huge}}},
		{Kind: &syncv1.Mutation_AddParticipant{AddParticipant: &syncv1.AddParticipant{ChatId: missing, UserId: amy.ID}}},
		{Kind: &syncv1.Mutation_RemoveParticipant{RemoveParticipant: &syncv1.RemoveParticipant{ChatId: "x"}}},
		{Kind: &syncv1.Mutation_GrantAdmin{GrantAdmin: &syncv1.GrantAdmin{ChatId: missing, UserId: missing}}},
		{Kind: &syncv1.Mutation_LeaveChat{LeaveChat: &syncv1.LeaveChat{ChatId: missing}}},
		{Kind: &syncv1.Mutation_DeleteChat{DeleteChat: &syncv1.DeleteChat{ChatId: ""}}},
		{Kind: &syncv1.Mutation_SendMessage{SendMessage: &syncv1.SendMessage{ChatId: missing, MessageId: oid.New(), Text: "hi"}}},
		{Kind: &syncv1.Mutation_SendMessage{SendMessage: &syncv1.SendMessage{ChatId: missing, MessageId: "zz", Text: huge}}},
		{Kind: &syncv1.Mutation_MarkRead{MarkRead: &syncv1.MarkRead{ChatId: "../x"}}},
		{Kind: &syncv1.Mutation_RequestToJoin{RequestToJoin: &syncv1.RequestToJoin{ChatId: missing}}},
		{Kind: &syncv1.Mutation_AcceptJoinRequest{AcceptJoinRequest: &syncv1.AcceptJoinRequest{RequestId: missing}}},
		{Kind: &syncv1.Mutation_RejectJoinRequest{RejectJoinRequest: &syncv1.RejectJoinRequest{RequestId: "bad"}}},
		{Kind: &syncv1.Mutation_MarkNotificationRead{MarkNotificationRead: &syncv1.MarkNotificationRead{NotificationId: missing}}},
	}
	for i, m := range bodies {
		m.Id = int64(i + 1)
	}
	res := push(t, h.client(amy), clientA, append(bodies, bio(int64(len(bodies)+1), "after all that"))...)
	if len(res.Results) != len(bodies)+1 {
		t.Fatalf("%d results", len(res.Results))
	}
	for i, r := range res.Results[:len(bodies)] {
		if r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Code == "internal" || r.Code == "" || r.Message == "" {
			t.Errorf("mutation %d (%T): %v", i+1, bodies[i].GetKind(), r)
		}
	}
	for _, r := range res.Results[1:4] { // set_status names the field the client sent
		if r.Field != "expiresInSeconds" || r.Reason != "invalid_expires_in_seconds" || !strings.HasPrefix(r.Message, "expiresInSeconds must be") {
			t.Errorf("set_status rejection names field %q, reason %q, message %q", r.Field, r.Reason, r.Message)
		}
	}
	if r := res.Results[len(bodies)]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
		t.Fatalf("mutation after the bad ones: %v", r)
	}
}

// TestBusyDatabaseIsRetriedNotRecorded: while another process holds the
// database's write lock, a push answers retry_later with nothing recorded;
// once it is free, the same mutations apply, as new.
func TestBusyDatabaseIsRetriedNotRecorded(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(cfg *server.Config) { cfg.DatabaseURL += "?_busy_timeout=50" })
	h := &harness{t: t, env: env}
	amy := env.Register("Amy")
	other, err := sql.Open("sqlite", filepath.Join(env.Dir, "vibesync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	res := push(t, h.client(amy), clientA, bio(1, "one"), bio(2, "two"))
	if !res.RetryLater || len(res.Results) != 0 {
		t.Fatalf("push against a locked database: %v", res)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	res = push(t, h.client(amy), clientA, bio(1, "one"), bio(2, "two"))
	if res.RetryLater || len(res.Results) != 2 {
		t.Fatalf("push once the lock is gone: %v", res)
	}
	for _, r := range res.Results {
		if r.Duplicate || r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("result %v", r)
		}
	}
	if me := meOf(h, amy); me["bio"] != "two" {
		t.Fatalf("bio %v", me["bio"])
	}
}
