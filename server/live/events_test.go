package live_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// device pair: every documented event must reach both of a user's devices.
type devices struct{ phone, laptop *servertest.Socket }

func connect(env *servertest.Env, u servertest.User) devices {
	return devices{env.Dial(u.Token), env.Dial(u.Token)}
}

// expect checks that both devices get event next (sync frames aside) and
// returns the phone's payload.
func (d devices) expect(t *testing.T, event string) map[string]any {
	t.Helper()
	var out map[string]any
	for i, s := range []*servertest.Socket{d.phone, d.laptop} {
		f := s.Expect(event)
		if i == 0 {
			if err := json.Unmarshal(f.Data, &out); err != nil {
				t.Fatalf("%s payload %s: %v", event, f.Data, err)
			}
		}
	}
	return out
}

func setStatus(t *testing.T, env *servertest.Env, u servertest.User) {
	t.Helper()
	env.Do("PUT", "/users/me/status", u.Token, map[string]any{"text": "Up for coffee", "durationMinutes": 60}).Want(http.StatusOK)
}

// TestConnectionEvents drives the connection endpoints over REST and checks
// that each documented event reaches every device of exactly the users it
// names, on this instance and on a second one sharing the database.
func TestConnectionEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := servertest.Start(t, dir, quickSignal)
	other := servertest.Start(t, dir, quickSignal)
	amy, bob, cat := env.Register("Amy"), env.Register("Bob"), env.Register("Cat")
	amys, bobs := connect(env, amy), connect(other, bob) // bob's devices are on the other instance
	cats := env.Dial(cat.Token)
	setStatus(t, env, bob)

	// marker proves by ordering that nothing else reached cat before it.
	marker := func(t *testing.T) {
		t.Helper()
		record(t, env, "", "user:"+cat.ID, "marker", nil)
		cats.Expect("marker")
	}

	t.Run("connection-request_to_the_recipient", func(t *testing.T) {
		env.Do("POST", "/connections/"+bob.ID, amy.Token, nil).Want(http.StatusCreated)
		c := bobs.expect(t, "connection-request")
		if fmt.Sprint(c) == "map[]" {
			t.Fatal("connection-request carries no payload")
		}
		marker(t)
	})
	t.Run("score-updated_to_the_sender", func(t *testing.T) {
		s := amys.expect(t, "score-updated")
		if s["score"] == nil {
			t.Fatalf("score-updated payload %v", s)
		}
	})
	t.Run("connection-accepted_to_both_but_the_accepting_device", func(t *testing.T) {
		req, err := http.NewRequest("POST", other.URL+"/connections/"+amy.ID+"/accept", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+bob.Token)
		req.Header.Set("X-Socket-Id", bobs.phone.ID)
		res, err := other.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("accept: status %d", res.StatusCode)
		}
		amys.expect(t, "connection-accepted")
		amys.expect(t, "score-updated")
		bobs.laptop.Expect("connection-accepted")
		bobs.laptop.Expect("score-updated")
		record(t, env, "", "user:"+bob.ID, "marker", nil)
		bobs.laptop.Expect("marker")
		bobs.phone.Expect("marker") // neither event came back to the device that accepted
		marker(t)
	})
	t.Run("connection-removed_to_both", func(t *testing.T) {
		dan := env.Register("Dan")
		dans := connect(env, dan)
		setStatus(t, env, dan)
		env.Do("POST", "/connections/"+dan.ID, amy.Token, nil).Want(http.StatusCreated)
		dans.expect(t, "connection-request")
		amys.expect(t, "score-updated")
		env.Do("DELETE", "/connections/"+dan.ID, amy.Token, nil).Want(http.StatusNoContent)
		amys.expect(t, "connection-removed")
		dans.expect(t, "connection-removed")
		marker(t)
	})
	t.Run("connection-declined_to_both", func(t *testing.T) {
		eve := env.Register("Eve")
		eves := connect(other, eve)
		var req struct{ ID int64 }
		env.Do("POST", "/v1/connections/"+amy.ID+"/request", amy.Token, map[string]string{"receiver_id": eve.ID}).
			Want(http.StatusCreated).Decode(&req)
		eves.expect(t, "connection-request")
		amys.expect(t, "score-updated")
		env.Do("POST", fmt.Sprintf("/v1/connections/%s/decline/%d", eve.ID, req.ID), eve.Token, nil).Want(http.StatusOK)
		amys.expect(t, "connection-declined")
		eves.expect(t, "connection-declined")
		marker(t)
	})
}
