package social_test

import (
	"context"
	"testing"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// world is a rule service on a real database with three users.
type world struct {
	t             *testing.T
	svc           *social.Service
	db            *store.DB
	amy, bob, cat social.Caller
}

func newWorld(t *testing.T) *world {
	t.Helper()
	svc, db := mustService(t)
	w := &world{t: t, svc: svc, db: db}
	for i, c := range []*social.Caller{&w.amy, &w.bob, &w.cat} {
		name := []string{"amy", "bob", "cat"}[i]
		reg, err := svc.Register(context.Background(), social.Registration{Name: name, Username: name, Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		*c = social.Caller{UserID: reg.User.ID}
	}
	return w
}

// apply runs m for c and fails the test on an error.
func (w *world) apply(c social.Caller, m social.Mutation) {
	w.t.Helper()
	if err := w.svc.Apply(context.Background(), c, m); err != nil {
		w.t.Fatalf("%T: %v", m, err)
	}
}

// reject runs m for c and wants it refused with reason.
func (w *world) reject(c social.Caller, m social.Mutation, reason string) {
	w.t.Helper()
	err := w.svc.Apply(context.Background(), c, m)
	if e, ok := apperr.As(err); !ok || e.Reason != reason {
		w.t.Fatalf("%T: %v, want reason %q", m, err, reason)
	}
}

func (w *world) connection(c social.Caller, with social.Caller) string {
	w.t.Helper()
	conn, err := w.svc.ConnectionWith(context.Background(), c, with.UserID)
	if err != nil {
		w.t.Fatal(err)
	}
	if conn == nil {
		return "none"
	}
	return conn.Status
}

func (w *world) participants(c social.Caller, chatID string) map[string]bool {
	w.t.Helper()
	v, err := w.svc.Chat(context.Background(), c, chatID)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, p := range v.Participants {
		out[p.User.ID] = p.IsAdmin
	}
	return out
}

func (w *world) group(admin social.Caller, restricted bool, others ...social.Caller) string {
	w.t.Helper()
	id := oid.New()
	var ids []string
	for _, o := range others {
		w.apply(admin, social.FollowMutation{UserID: o.UserID}) // participants must be reachable
		ids = append(ids, o.UserID)
	}
	w.apply(admin, social.CreateChatMutation{ChatID: id, Group: true, Name: "Walks", Category: "Friends", ParticipantIDs: ids})
	if restricted {
		yes := true
		w.apply(admin, social.UpdateChatMutation{ChatID: id, Restricted: &yes})
	}
	return id
}

// TestMutations runs every mutation kind through the rules, with the
// outcomes the spec documents (statuses, reasons) as literals.
func TestMutations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	page := social.Page{Limit: 100}

	t.Run("profile_and_meet_me_status", func(t *testing.T) {
		w := newWorld(t)
		bio := "Walks at dawn"
		w.apply(w.amy, social.UpdateProfileMutation{Bio: &bio})
		w.apply(w.amy, social.SetStatusMutation{Text: "Coffee?", ExpiresIn: 90*time.Minute + 59*time.Second})
		me, _ := w.svc.Me(ctx, w.amy.UserID)
		if me.Bio != bio || me.Status == nil || me.Status.Text != "Coffee?" {
			t.Fatalf("profile %+v", me)
		}
		// Counted in whole minutes: 90 of them.
		if got := me.Status.ExpiresAt.Sub(me.Status.CreatedAt.Time); got != 90*time.Minute {
			t.Fatalf("status lasts %v, want 1h30m", got)
		}
		// The rules name the field neutrally (social.FieldStatusDuration);
		// the sync service answers invalid_expires_in_seconds (server/rpc).
		w.reject(w.amy, social.SetStatusMutation{Text: "x", ExpiresIn: 59 * time.Second}, "invalid_expires_in")
		w.reject(w.amy, social.SetStatusMutation{Text: "x", ExpiresIn: 24*time.Hour + time.Second}, "invalid_expires_in")
		w.apply(w.amy, social.SetStatusMutation{Text: ""}) // clears
		if me, _ := w.svc.Me(ctx, w.amy.UserID); me.Status != nil {
			t.Fatalf("status after clearing: %+v", me.Status)
		}
	})

	t.Run("follow_and_block", func(t *testing.T) {
		w := newWorld(t)
		w.apply(w.amy, social.FollowMutation{UserID: w.bob.UserID})
		if _, n, _ := w.svc.Following(ctx, w.amy, page); n != 1 {
			t.Fatalf("following %d, want 1", n)
		}
		w.apply(w.amy, social.UnfollowMutation{UserID: w.bob.UserID})
		if _, n, _ := w.svc.Following(ctx, w.amy, page); n != 0 {
			t.Fatalf("following %d after unfollow", n)
		}
		w.reject(w.amy, social.FollowMutation{UserID: w.amy.UserID}, "self_reference")
		w.apply(w.bob, social.FollowMutation{UserID: w.amy.UserID})
		w.apply(w.amy, social.BlockMutation{UserID: w.bob.UserID})
		if _, n, _ := w.svc.BlockedUsers(ctx, w.amy, page); n != 1 {
			t.Fatalf("blocked %d, want 1", n)
		}
		// A block ends follows both ways and hides each from the other (404).
		if _, n, _ := w.svc.Following(ctx, w.bob, page); n != 0 {
			t.Fatalf("bob still follows amy after her block")
		}
		w.reject(w.bob, social.FollowMutation{UserID: w.amy.UserID}, "user_not_found")
		w.apply(w.amy, social.UnblockMutation{UserID: w.bob.UserID})
		w.apply(w.bob, social.FollowMutation{UserID: w.amy.UserID})
	})

	t.Run("connection_request_accept_remove", func(t *testing.T) {
		w := newWorld(t)
		w.apply(w.amy, social.CreateConnectionMutation{ConnectionID: oid.New(), UserID: w.bob.UserID, Message: "Hi"})
		if got := w.connection(w.bob, w.amy); got != "pending" {
			t.Fatalf("after the request: %q", got)
		}
		w.reject(w.amy, social.CreateConnectionMutation{UserID: w.bob.UserID}, "request_exists")
		w.reject(w.bob, social.CreateConnectionMutation{UserID: w.amy.UserID}, "request_received")
		w.reject(w.amy, social.AcceptConnectionMutation{UserID: w.bob.UserID}, "not_recipient")
		w.apply(w.bob, social.AcceptConnectionMutation{UserID: w.amy.UserID})
		if got := w.connection(w.amy, w.bob); got != "accepted" {
			t.Fatalf("after accepting: %q", got)
		}
		w.reject(w.bob, social.AcceptConnectionMutation{UserID: w.amy.UserID}, "already_connected")
		rep, err := w.svc.UserScore(ctx, w.amy, w.amy.UserID, page)
		if err != nil || rep.Score != 2+10 { // create-meetme-request, add-new-friend (docs/DECISIONS.md)
			t.Fatalf("amy's score %d, %v; want 12", rep.Score, err)
		}
		// delete_connection removes an accepted connection.
		w.apply(w.amy, social.DeleteConnectionMutation{UserID: w.bob.UserID})
		if got := w.connection(w.amy, w.bob); got != "none" {
			t.Fatalf("after delete_connection: %q", got)
		}
	})

	t.Run("connection_decline_cancel_and_remove_by_id", func(t *testing.T) {
		w := newWorld(t)
		w.apply(w.amy, social.CreateConnectionMutation{UserID: w.bob.UserID})
		w.apply(w.bob, social.DeclineConnectionMutation{UserID: w.amy.UserID})
		if got := w.connection(w.amy, w.bob); got != "declined" {
			t.Fatalf("after declining: %q", got)
		}
		w.reject(w.bob, social.DeclineConnectionMutation{UserID: w.amy.UserID}, "request_processed")
		// A pending request the sender deletes is cancelled: no record left.
		w.apply(w.amy, social.CreateConnectionMutation{UserID: w.cat.UserID})
		w.apply(w.amy, social.DeleteConnectionMutation{UserID: w.cat.UserID})
		if got := w.connection(w.cat, w.amy); got != "none" {
			t.Fatalf("after cancelling: %q", got)
		}
		// v1's remove names the record by id and takes an accepted connection only.
		w.apply(w.cat, social.CreateConnectionMutation{UserID: w.bob.UserID})
		conn, _ := w.svc.ConnectionWith(ctx, w.bob, w.cat.UserID)
		w.reject(w.bob, social.RemoveConnectionMutation{ConnectionID: conn.ID}, "connection_not_active")
		w.apply(w.bob, social.AcceptConnectionMutation{UserID: w.cat.UserID})
		w.apply(w.bob, social.RemoveConnectionMutation{ConnectionID: conn.ID})
		if got := w.connection(w.bob, w.cat); got != "none" {
			t.Fatalf("after remove_connection: %q", got)
		}
	})

	t.Run("chats_participants_and_admins", func(t *testing.T) {
		w := newWorld(t)
		direct := oid.New()
		w.apply(w.amy, social.CreateChatMutation{ChatID: direct, ParticipantIDs: []string{w.bob.UserID}})
		if ps := w.participants(w.bob, direct); len(ps) != 2 {
			t.Fatalf("one-to-one participants %v", ps)
		}
		g := w.group(w.amy, false, w.bob)
		w.apply(w.amy, social.FollowMutation{UserID: w.cat.UserID})
		w.apply(w.amy, social.AddParticipantMutation{ChatID: g, UserID: w.cat.UserID})
		if ps := w.participants(w.amy, g); len(ps) != 3 || !ps[w.amy.UserID] || ps[w.bob.UserID] {
			t.Fatalf("participants %v, want amy (admin), bob, cat", ps)
		}
		w.reject(w.bob, social.GrantAdminMutation{ChatID: g, UserID: w.cat.UserID}, "not_admin")
		w.apply(w.amy, social.GrantAdminMutation{ChatID: g, UserID: w.bob.UserID})
		w.reject(w.amy, social.GrantAdminMutation{ChatID: g, UserID: w.bob.UserID}, "already_admin")
		w.apply(w.bob, social.RevokeAdminMutation{ChatID: g, UserID: w.amy.UserID})
		w.reject(w.bob, social.RevokeAdminMutation{ChatID: g, UserID: w.bob.UserID}, "own_admin_access")
		w.apply(w.bob, social.RemoveParticipantMutation{ChatID: g, UserID: w.cat.UserID})
		w.apply(w.amy, social.LeaveChatMutation{ChatID: g})
		if ps := w.participants(w.bob, g); len(ps) != 1 || !ps[w.bob.UserID] {
			t.Fatalf("participants %v, want bob alone, admin", ps)
		}
		name := "Dawn walks"
		w.apply(w.bob, social.UpdateChatMutation{ChatID: g, Name: &name})
		if v, _ := w.svc.Chat(ctx, w.bob, g); v.Name != name {
			t.Fatalf("name %q", v.Name)
		}
		w.apply(w.cat, social.JoinChatMutation{ChatID: g})
		w.reject(w.cat, social.DeleteChatMutation{ChatID: g}, "not_admin")
		w.apply(w.bob, social.DeleteChatMutation{ChatID: g})
		if _, err := w.svc.Chat(ctx, w.bob, g); err == nil {
			t.Fatal("the chat outlived delete_chat")
		}
	})

	t.Run("event_attendance", func(t *testing.T) {
		w := newWorld(t)
		w.apply(w.amy, social.FollowMutation{UserID: w.bob.UserID})
		now := time.Now()
		ch, _, err := w.svc.CreateChat(ctx, w.amy, social.NewChat{IsGroup: true, Name: "Picnic", Category: "Event",
			Participants: &[]string{w.bob.UserID}, Event: &social.NewEvent{StartsAt: wireTime(now.Add(-time.Hour)), EndsAt: wireTime(now.Add(time.Hour))}})
		if err != nil {
			t.Fatal(err)
		}
		w.reject(w.amy, social.SetParticipantStatusMutation{ChatID: ch.ID, UserID: w.bob.UserID, Status: "maybe"}, "invalid_status")
		w.apply(w.amy, social.SetParticipantStatusMutation{ChatID: ch.ID, UserID: w.bob.UserID, Status: "accepted"})
		v, err := w.svc.Chat(context.Background(), w.amy, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		attendance := map[string]string{}
		for _, p := range v.Participants {
			attendance[p.User.ID] = p.Status
		}
		if got := attendance[w.bob.UserID]; got != "accepted" {
			t.Fatalf("bob's attendance after the mutation: %q, want \"accepted\"", got)
		}
	})

	t.Run("messages_and_reading", func(t *testing.T) {
		w := newWorld(t)
		g := w.group(w.amy, false, w.bob)
		id := oid.New()
		w.apply(w.amy, social.SendMessageMutation{ChatID: g, MessageID: id, Text: "Hello"})
		w.apply(w.amy, social.SendMessageMutation{ChatID: g, MessageID: id, Text: "Hello"}) // the same id again: nothing new
		msgs, n, err := w.svc.Messages(ctx, w.bob, g, social.MessageFilter{Limit: 10})
		if err != nil || n != 1 || msgs[0].ID != id || msgs[0].Text != "Hello" {
			t.Fatalf("messages %+v (%d), %v", msgs, n, err)
		}
		w.reject(w.cat, social.SendMessageMutation{ChatID: g, Text: "x"}, "not_participant")
		w.apply(w.bob, social.MarkReadMutation{ChatID: g})
		views, _, _ := w.svc.Chats(ctx, w.bob, social.ChatFilter{}, page)
		if len(views) != 1 || views[0].Unread != 0 {
			t.Fatalf("bob's chats after mark_read: %+v", views)
		}
		w.apply(w.amy, social.DeleteMessageMutation{ChatID: g, MessageID: id})
		if _, n, _ := w.svc.Messages(ctx, w.bob, g, social.MessageFilter{Limit: 10}); n != 0 {
			t.Fatalf("%d messages after delete_message", n)
		}
	})

	t.Run("join_requests", func(t *testing.T) {
		w := newWorld(t)
		g := w.group(w.amy, true)
		w.reject(w.bob, social.JoinChatMutation{ChatID: g}, "chat_restricted")
		first, second := oid.New(), oid.New()
		w.apply(w.bob, social.RequestToJoinMutation{RequestID: first, ChatID: g})
		w.apply(w.cat, social.RequestToJoinMutation{RequestID: second, ChatID: g})
		w.reject(w.bob, social.AcceptJoinRequestMutation{RequestID: first}, "not_participant")
		w.apply(w.amy, social.AcceptJoinRequestMutation{RequestID: first})
		w.apply(w.amy, social.RejectJoinRequestMutation{RequestID: second})
		w.reject(w.amy, social.AcceptJoinRequestMutation{RequestID: second}, "request_not_pending")
		ps := w.participants(w.amy, g)
		if _, in := ps[w.bob.UserID]; !in || len(ps) != 2 {
			t.Fatalf("participants %v, want amy and bob", ps)
		}
		r, err := w.svc.Request(ctx, w.cat, second)
		if err != nil || r.Status != "rejected" {
			t.Fatalf("cat's request %+v, %v", r, err)
		}
	})

	t.Run("notifications", func(t *testing.T) {
		w := newWorld(t)
		w.apply(w.amy, social.CreateConnectionMutation{UserID: w.bob.UserID})
		w.apply(w.cat, social.CreateConnectionMutation{UserID: w.bob.UserID})
		list, err := w.svc.Notifications(ctx, w.bob, social.NotificationQuery{}, page)
		if err != nil || list.Unread != 2 {
			t.Fatalf("bob's notifications %+v, %v", list, err)
		}
		w.apply(w.bob, social.MarkNotificationReadMutation{NotificationID: list.Items[0].ID})
		if list, _ := w.svc.Notifications(ctx, w.bob, social.NotificationQuery{}, page); list.Unread != 1 {
			t.Fatalf("unread %d after marking one read", list.Unread)
		}
		w.apply(w.bob, social.MarkAllNotificationsReadMutation{})
		if list, _ := w.svc.Notifications(ctx, w.bob, social.NotificationQuery{}, page); list.Unread != 0 {
			t.Fatalf("unread %d after marking all read", list.Unread)
		}
	})

	t.Run("reels_and_push_devices", func(t *testing.T) {
		w := newWorld(t)
		g := w.group(w.amy, false, w.bob)
		reel := oid.New()
		w.apply(w.amy, social.CreateReelMutation{ReelID: reel, ChatID: g, Description: "Sunrise", Video: "https://files.example/sunrise.mp4"})
		w.apply(w.bob, social.ReactToReelMutation{ReelID: reel, Reaction: "like"})
		w.reject(w.bob, social.ReactToReelMutation{ReelID: reel, Reaction: "love"}, "invalid_kind")
		views, _, err := w.svc.Explore(ctx, w.bob, social.ExploreFilter{Search: "Walks", ReelsLimit: 5}, page)
		if err != nil || len(views) != 1 || len(views[0].Reels) != 1 || views[0].Reels[0].Likes != 1 {
			t.Fatalf("explore after a like: %+v, %v", views, err)
		}
		devices := func() []string {
			var out []string
			if err := w.db.Read(ctx, func(tx *store.Tx) (err error) { out, err = tx.PushDevices(ctx, w.amy.UserID); return err }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		w.apply(w.amy, social.AddPushDeviceMutation{Token: "device-token-0123456789"})
		if got := devices(); len(got) != 1 || got[0] != "device-token-0123456789" {
			t.Fatalf("devices after adding one: %q", got)
		}
		w.apply(w.amy, social.RemovePushDeviceMutation{Token: "device-token-0123456789"})
		if got := devices(); len(got) != 0 {
			t.Fatalf("devices after removing it: %q", got)
		}
	})

	t.Run("unsupported", func(t *testing.T) {
		w := newWorld(t)
		w.reject(w.amy, social.UnsupportedMutation{}, "mutation_empty")
		w.reject(w.amy, social.UnsupportedMutation{Kind: "teleport"}, "mutation_unimplemented")
	})
}

func wireTime(t time.Time) wire.Time { return wire.T(t) }
