package rest_test

import (
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

func TestParticipantStatus(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	setup := func(t *testing.T) (*servertest.Env, servertest.User, servertest.User, chatJSON) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		now := env.Clock.Now()
		c := group(t, env, amy, "Party", map[string]any{"category": "Event",
			"event": map[string]any{"startsAt": now.Add(time.Minute), "endsAt": now.Add(3 * time.Minute), "location": "Pool"}}, ben)
		return env, amy, ben, c
	}
	status := func(env *servertest.Env, u servertest.User, c chatJSON, who servertest.User, s string) *servertest.Response {
		return env.Do("POST", "/chats/"+c.ID+"/participants/"+who.ID+"/status", u.Token, map[string]any{"status": s})
	}
	t.Run("event_is_active_between_its_times", func(t *testing.T) {
		env, amy, _, c := setup(t)
		if c.Event == nil || c.Event.IsActive {
			t.Fatalf("event before start: %+v", c.Event)
		}
		env.Clock.Advance(2 * time.Minute)
		if got := decodeChat(t, env.Do("GET", "/chats/"+c.ID, amy.Token, nil).Want(200)); got.Event == nil || !got.Event.IsActive {
			t.Fatalf("event during: %+v", got.Event)
		}
		env.Clock.Advance(2 * time.Minute)
		if got := decodeChat(t, env.Do("GET", "/chats/"+c.ID, amy.Token, nil).Want(200)); got.Event == nil || got.Event.IsActive {
			t.Fatalf("event after its end: %+v", got.Event)
		}
	})
	t.Run("updates_the_participant_status_and_notifies_them", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		env.Clock.Advance(90 * time.Second)
		var body struct {
			Participant participantJSON `json:"participant"`
		}
		status(env, amy, c, ben, "accepted").Want(200).Decode(&body)
		if body.Participant.Status != "accepted" || body.Participant.User != ben.ID {
			t.Fatalf("%+v", body.Participant)
		}
		if !hasEvent(t, env, social.EventParticipantStatus, "user:"+ben.ID) || len(notifications(t, env, ben, social.NotificationParticipantStatus)) != 1 {
			t.Fatal("participant not notified")
		}
		status(env, amy, c, ben, "rejected").Want(200)
		if !hasPush(t, env, ben, social.EventParticipantStatus) {
			t.Fatal("participant not pushed")
		}
		if got := decodeChat(t, env.Do("GET", "/chats/"+c.ID, amy.Token, nil).Want(200)); func() string {
			for _, p := range got.Participants {
				if userID(t, p.User) == ben.ID {
					return p.Status
				}
			}
			return ""
		}() != "rejected" {
			t.Fatal("status not stored")
		}
	})
	t.Run("event_must_be_active", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		status(env, amy, c, ben, "accepted").WantError(409, "event_not_active")
		env.Clock.Advance(3 * time.Minute)
		status(env, amy, c, ben, "accepted").WantError(409, "event_not_active")
	})
	t.Run("user_must_be_the_event_chat_admin", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		env.Clock.Advance(90 * time.Second)
		status(env, ben, c, amy, "accepted").WantError(403, "not_admin")
	})
	t.Run("chat_must_have_an_event", func(t *testing.T) {
		env, amy, ben, _ := setup(t)
		plain := group(t, env, amy, "Plain", nil, ben)
		status(env, amy, plain, ben, "accepted").WantError(409, "no_event")
	})
	t.Run("chat_must_be_group_chat", func(t *testing.T) {
		env, amy, ben, _ := setup(t)
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		status(env, amy, d, ben, "accepted").WantError(409, "not_group_chat")
	})
	t.Run("participant_must_exist_in_this_chat", func(t *testing.T) {
		env, amy, _, c := setup(t)
		env.Clock.Advance(90 * time.Second)
		status(env, amy, c, env.Register("Cy"), "accepted").WantError(404, "participant_not_found")
		status(env, amy, c, amy, "maybe").WantError(400, "invalid_status")
	})
	t.Run("an_event_chat_keeps_its_category", func(t *testing.T) {
		env, amy, _, c := setup(t)
		putChat(t, env, amy, c.ID, map[string]string{"category": "Study"}, nil).WantError(400, "invalid_category")
		putChat(t, env, amy, c.ID, map[string]string{"name": "Pool party"}, nil).Want(200)
	})
	t.Run("the_event_goes_with_its_chat", func(t *testing.T) {
		env, amy, _, c := setup(t)
		env.Do("DELETE", "/chats/"+c.ID, amy.Token, nil).Want(204)
		var n int
		if err := rawDB(t, env).QueryRow(`SELECT count(*) FROM chat_events WHERE id = ?`, c.Event.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("event left: %d %v", n, err)
		}
	})
}
