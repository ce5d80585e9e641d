package rest_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// doWithSocket is env.Do with an X-Socket-Id header.
func doWithSocket(t *testing.T, env *servertest.Env, method, path, token, socket string, body any) *servertest.Response {
	t.Helper()
	req, err := servertest.NewRequest(context.Background(), method, env.URL+path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Socket-Id", socket)
	res, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &servertest.Response{T: t, Status: res.StatusCode, Header: res.Header, Body: data}
}

// eventRows returns the live events named name addressed to target.
func eventRows(t *testing.T, env *servertest.Env, name, target string) []store.Event {
	t.Helper()
	var out []store.Event
	for _, e := range events(t, env) {
		if e.Name == name && e.Target == target {
			out = append(out, e)
		}
	}
	return out
}

func TestCallerSocket(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, bob, cat := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")
	const amySocket, bobSocket = "amy-socket-0123456789", "bob_socket_ABCDEFGHIJ"
	meetMe(t, env, bob)

	t.Run("events_of_a_write_carry_the_callers_socket", func(t *testing.T) {
		doWithSocket(t, env, "POST", "/connections/"+bob.ID, amy.Token, amySocket, nil).Want(http.StatusCreated)
		req := eventRows(t, env, "connection-request", "user:"+bob.ID)
		score := eventRows(t, env, "score-updated", "user:"+amy.ID)
		if len(req) != 1 || req[0].Socket != amy.ID+":"+amySocket || len(score) != 1 || score[0].Socket != amy.ID+":"+amySocket {
			t.Fatalf("connection-request %+v, score-updated %+v: want socket %s", req, score, amySocket)
		}
	})
	t.Run("other_users_score_event_is_not_skipped", func(t *testing.T) {
		doWithSocket(t, env, "POST", "/connections/"+amy.ID+"/accept", bob.Token, bobSocket, nil).Want(http.StatusOK)
		for _, target := range []string{"user:" + amy.ID, "user:" + bob.ID} {
			if evs := eventRows(t, env, "connection-accepted", target); len(evs) != 1 || evs[0].Socket != bob.ID+":"+bobSocket {
				t.Fatalf("connection-accepted to %s = %+v", target, evs)
			}
		}
		amyScore := eventRows(t, env, "score-updated", "user:"+amy.ID)
		bobScore := eventRows(t, env, "score-updated", "user:"+bob.ID)
		if len(amyScore) != 2 || amyScore[1].Socket != "" || len(bobScore) != 1 || bobScore[0].Socket != bob.ID+":"+bobSocket {
			t.Fatalf("score-updated amy %+v bob %+v", amyScore, bobScore)
		}
	})
	t.Run("v1_routes_read_it_too", func(t *testing.T) {
		doWithSocket(t, env, "POST", v1(cat, "/request"), cat.Token, amySocket[:16], map[string]string{"receiver_id": amy.ID}).Want(http.StatusCreated)
		if evs := eventRows(t, env, "connection-request", "user:"+amy.ID); len(evs) != 1 || evs[0].Socket != cat.ID+":"+amySocket[:16] {
			t.Fatalf("v1 connection-request = %+v", evs)
		}
	})
	t.Run("body_socket_field_wins_over_the_header", func(t *testing.T) {
		follow(t, env, amy, cat)
		body := map[string]any{"isGroup": true, "name": "Header", "category": "Study", "participants": []string{cat.ID}}
		doWithSocket(t, env, "POST", "/chats", amy.Token, amySocket, body).Want(http.StatusCreated)
		if evs := eventRows(t, env, "chat-created", "user:"+amy.ID); len(evs) != 1 || evs[0].Socket != amy.ID+":"+amySocket {
			t.Fatalf("chat-created with the header only = %+v", evs)
		}
		body["name"], body["socket"] = "Body", "u3C2x9asfB9vE5y8A6AD"
		doWithSocket(t, env, "POST", "/chats", amy.Token, amySocket, body).Want(http.StatusCreated)
		if evs := eventRows(t, env, "chat-created", "user:"+amy.ID); len(evs) != 2 || evs[1].Socket != amy.ID+":u3C2x9asfB9vE5y8A6AD" {
			t.Fatalf("chat-created with a body socket = %+v", evs)
		}
	})
	t.Run("malformed_socket_is_rejected_before_any_write", func(t *testing.T) {
		dan := env.Register("Dan")
		meetMe(t, env, dan)
		before := len(events(t, env))
		for _, s := range []string{"short", "has space in it here", "way-too-long-for-a-socket-id", "üñíçødé-socket-id"} {
			doWithSocket(t, env, "POST", "/connections/"+dan.ID, amy.Token, s, nil).WantError(400, "invalid_socket")
			doWithSocket(t, env, "POST", v1(amy, "/request"), amy.Token, s, map[string]string{"receiver_id": dan.ID}).WantError(400, "invalid_socket")
		}
		if after := len(events(t, env)); after != before {
			t.Fatalf("%d events written by rejected requests", after-before)
		}
		env.Do("GET", "/connections/"+dan.ID+"/status", amy.Token, nil).Want(200)
		if m := env.Do("GET", "/connections/"+dan.ID+"/status", amy.Token, nil).JSON(); m["status"] != "none" {
			t.Fatalf("a rejected request wrote a connection: %v", m)
		}
	})
}
