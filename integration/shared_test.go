package integration

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestSharedDatabase runs two server containers on one database volume,
// started at the same moment on an empty database (both migrate it and
// both generate a token secret; they must end up agreeing). A user
// registered through one logs in through the other, tokens work on both,
// concurrent writes through both all succeed and are visible through
// both, requests racing each other through the two instances leave one
// record per pair, and one instance restarting does not disturb the other.
func TestSharedDatabase(t *testing.T) {
	needDocker(t)
	vol := newVolume(t)
	a := createServer(t, serverOptions{volume: vol})
	b := createServer(t, serverOptions{volume: vol})
	sharedDatabase(t, a, b)
}

// sharedDatabase starts a and b (created, not started, on one database)
// at the same moment and runs the two-instance checks against them.
func sharedDatabase(t *testing.T, a, b *server) {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*server{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pool.Client.StartContainer(s.id, nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("start: %v", err)
		}
	}
	a.waitReady(t)
	b.waitReady(t)

	amy := a.register(t, "Amy Shared", "amy.shared")
	t.Run("register_on_one_login_on_other", func(t *testing.T) {
		login := amy
		b.login(t, &login)
		if me := a.me(t, login.Token); me.ID != amy.ID {
			t.Fatalf("token from B read on A: %+v", me)
		}
		if me := b.me(t, amy.Token); me.ID != amy.ID {
			t.Fatalf("token from A read on B: %+v", me)
		}
	})

	t.Run("edit_on_one_read_on_other", func(t *testing.T) {
		b.do(t, "PATCH", "/users/me", amy.Token, map[string]string{"bio": "written through B"}).Want(http.StatusOK)
		if me := a.me(t, amy.Token); me.Bio != "written through B" {
			t.Fatalf("A reads bio %q after the edit through B", me.Bio)
		}
	})

	t.Run("concurrent_writes_through_both", func(t *testing.T) {
		const perWriter = 4
		var mu sync.Mutex
		var made []account
		var wg sync.WaitGroup
		for i, s := range []*server{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range perWriter {
					u := fmt.Sprintf("both.w%d.%d", i, k)
					status, body, err := s.call(t.Context(), "POST", "/auth/register", "",
						map[string]string{"name": "Both " + u, "username": u, "password": "both password"})
					if err != nil || status != http.StatusCreated {
						t.Errorf("register %s through %s: %d %s %v", u, s.name, status, body, err)
						return
					}
					mu.Lock()
					made = append(made, account{Username: u, Password: "both password"})
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for _, s := range []*server{a, b} {
			var list struct{ Count int }
			s.do(t, "GET", "/users?search=both.w&limit=1", amy.Token, nil).Want(http.StatusOK).Decode(&list)
			if list.Count != len(made) {
				t.Errorf("%s finds %d users, want %d", s.name, list.Count, len(made))
			}
		}
	})

	t.Run("racing_requests_through_both", func(t *testing.T) {
		// Each pair asks the other at the same moment, one through A and one
		// through B: exactly one record per pair, whichever wins.
		const pairs = 6
		type pair struct{ p, q account }
		ps := make([]pair, pairs)
		for i := range ps {
			ps[i] = pair{a.register(t, "Racer P", fmt.Sprintf("race.p%d", i)), b.register(t, "Racer Q", fmt.Sprintf("race.q%d", i))}
		}
		var wg sync.WaitGroup
		won := make([]int, pairs)
		var mu sync.Mutex
		ask := func(s *server, from, to account, i int) {
			defer wg.Done()
			status, body, err := s.call(t.Context(), "POST", "/v1/connections/"+from.ID+"/request", from.Token,
				map[string]string{"receiver_id": to.ID, "message": "race"})
			switch {
			case err != nil:
				t.Errorf("pair %d through %s: %v", i, s.name, err)
			case status == http.StatusCreated:
				mu.Lock()
				won[i]++
				mu.Unlock()
			case status != http.StatusConflict:
				t.Errorf("pair %d through %s: %d %s", i, s.name, status, body)
			}
		}
		for i, pr := range ps {
			wg.Add(2)
			go ask(a, pr.p, pr.q, i)
			go ask(b, pr.q, pr.p, i)
		}
		wg.Wait()
		for i, pr := range ps {
			var list struct{ Count int }
			a.do(t, "GET", "/connections", pr.p.Token, nil).Want(http.StatusOK).Decode(&list)
			if won[i] != 1 || list.Count != 1 {
				t.Errorf("pair %d: %d requests created, %d records; want one of each", i, won[i], list.Count)
			}
		}
	})

	t.Run("live_event_across_instances", func(t *testing.T) {
		bob := b.register(t, "Bob Shared", "bob.shared")
		bobSock, err := b.dial(t, bob.Token)
		if errors.Is(err, errNoLive) {
			t.Skip(err.Error())
		}
		if err != nil {
			t.Fatalf("Bob dials B: %v", err)
		}
		amySock, err := a.dial(t, amy.Token)
		if err != nil {
			t.Fatalf("Amy dials A: %v", err)
		}
		// Amy's request goes through A; Bob's socket is on B.
		b.do(t, "PUT", "/users/me/status", bob.Token, map[string]any{"text": "around", "durationMinutes": 30}).Want(http.StatusOK)
		a.do(t, "POST", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusCreated)
		if f := bobSock.await(t, "connection-request"); !strings.Contains(string(f.Data), amy.ID) {
			t.Fatalf("Bob's connection-request event does not name Amy: %s", f.Data)
		}
		// Bob accepts through B from his socket there; Amy's socket is on A,
		// and so is Bob's second socket. The socket that caused the write
		// is skipped, his other one is not.
		bobSockA, err := a.dial(t, bob.Token)
		if err != nil {
			t.Fatalf("Bob dials A: %v", err)
		}
		status, body, err := b.callHeader(t.Context(), "POST", "/connections/"+amy.ID+"/accept", bob.Token,
			http.Header{"X-Socket-Id": {bobSock.ID}}, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("accept through B: %d %s %v", status, body, err)
		}
		if f := amySock.await(t, "connection-accepted"); !strings.Contains(string(f.Data), bob.ID) {
			t.Fatalf("Amy's connection-accepted event does not name Bob: %s", f.Data)
		}
		bobSockA.await(t, "connection-accepted")
		// A later event reaches Bob's B socket; events arrive in order, so
		// seeing it without connection-accepted first shows that one was
		// skipped.
		cleo := a.register(t, "Cleo Shared", "cleo.live")
		a.do(t, "POST", "/v1/connections/"+cleo.ID+"/request", cleo.Token,
			map[string]string{"receiver_id": bob.ID, "message": "hi"}).Want(http.StatusCreated)
		if f := bobSock.await(t, "connection-accepted", "connection-request"); f.Event != "connection-request" {
			t.Fatalf("Bob's socket that caused the accept got %s", f.Event)
		}
	})

	t.Run("one_restarts_other_serves", func(t *testing.T) {
		a.stop(t)
		cleo := b.register(t, "Cleo Shared", "cleo.shared")
		a.start(t)
		login := cleo
		a.login(t, &login)
		if me := a.me(t, login.Token); me.ID != cleo.ID {
			t.Fatalf("A after restart: %+v", me)
		}
	})
}
