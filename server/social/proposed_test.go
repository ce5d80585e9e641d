package social_test

import (
	"context"
	"testing"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
)

func register(t *testing.T, svc *social.Service, username string) social.Caller {
	t.Helper()
	tok, err := svc.Register(context.Background(), social.Registration{Name: username, Username: username, Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	return social.Caller{UserID: tok.User.ID}
}

func apply(t *testing.T, svc *social.Service, c social.Caller, m social.Mutation) {
	t.Helper()
	if err := svc.Apply(context.Background(), c, m); err != nil {
		t.Fatalf("%T: %v", m, err)
	}
}

// wantReason checks err is the public error with code and reason.
func wantReason(t *testing.T, err error, code apperr.Code, reason string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code || e.Reason != reason {
		t.Fatalf("error %v, want %s %s", err, code, reason)
	}
}

func messageTexts(t *testing.T, svc *social.Service, c social.Caller, chatID string) []string {
	t.Helper()
	ms, _, err := svc.Messages(context.Background(), c, chatID, social.MessageFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.ID+" "+m.Text)
	}
	return out
}

func TestProposedIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, db := mustService(t)
	amy, bob, cat := register(t, svc, "amy"), register(t, svc, "bob"), register(t, svc, "cat")
	apply(t, svc, amy, social.FollowMutation{UserID: bob.UserID})
	apply(t, svc, amy, social.FollowMutation{UserID: cat.UserID})

	t.Run("group_keeps_its_proposed_id", func(t *testing.T) {
		id := oid.New()
		apply(t, svc, amy, social.CreateChatMutation{ChatID: id, Group: true, Name: "Hikers", Category: "Outdoors", ParticipantIDs: []string{bob.UserID}})
		ch, err := svc.Chat(ctx, bob, id)
		if err != nil || ch.Name != "Hikers" {
			t.Fatalf("chat %s: %+v %v", id, ch, err)
		}
		err = svc.Apply(ctx, cat, social.CreateChatMutation{ChatID: id, Group: true, Name: "Other", Category: "Outdoors", ParticipantIDs: []string{}})
		wantReason(t, err, apperr.Conflict, "id_taken")
		if e, _ := apperr.As(err); e.Field != social.FieldChatID {
			t.Fatalf("field %q", e.Field)
		}
		err = svc.Apply(ctx, cat, social.CreateChatMutation{ChatID: "not-an-id", Group: true, Name: "Other", Category: "Outdoors", ParticipantIDs: []string{}})
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Field != social.FieldChatID {
			t.Fatalf("malformed id: %v", err)
		}
	})
	t.Run("deleted_chat_id_stays_taken", func(t *testing.T) {
		id := oid.New()
		apply(t, svc, amy, social.CreateChatMutation{ChatID: id, Group: true, Name: "Brief", Category: "Outdoors", ParticipantIDs: []string{}})
		apply(t, svc, amy, social.DeleteChatMutation{ChatID: id})
		err := svc.Apply(ctx, amy, social.CreateChatMutation{ChatID: id, Group: true, Name: "Again", Category: "Outdoors", ParticipantIDs: []string{}})
		wantReason(t, err, apperr.Conflict, "id_taken")
	})
	t.Run("one_to_one_chats_of_a_pair_converge", func(t *testing.T) {
		first, second := oid.New(), oid.New()
		// Two devices create the pair's chat offline; amy's arrives first.
		apply(t, svc, amy, social.CreateChatMutation{ChatID: first, ParticipantIDs: []string{cat.UserID}})
		apply(t, svc, amy, social.SendMessageMutation{ChatID: first, MessageID: oid.New(), Text: "from amy"})
		apply(t, svc, cat, social.CreateChatMutation{ChatID: second, ParticipantIDs: []string{amy.UserID}})
		msg := oid.New()
		apply(t, svc, cat, social.SendMessageMutation{ChatID: second, MessageID: msg, Text: "from cat"})
		apply(t, svc, cat, social.MarkReadMutation{ChatID: second})
		if _, err := svc.Chat(ctx, cat, second); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("a second chat for the pair: %v", err)
		}
		got := messageTexts(t, svc, amy, first)
		if len(got) != 2 || got[0] != msg+" from cat" || got[1][25:] != "from amy" {
			t.Fatalf("the pair's chat holds %q", got)
		}
		// The alias is cat's: nobody else writes through it, and it is taken.
		err := svc.Apply(ctx, amy, social.SendMessageMutation{ChatID: second, MessageID: oid.New(), Text: "x"})
		wantReason(t, err, apperr.NotFound, "chat_not_found")
		err = svc.Apply(ctx, amy, social.CreateChatMutation{ChatID: second, Group: true, Name: "G", Category: "Outdoors", ParticipantIDs: []string{}})
		wantReason(t, err, apperr.Conflict, "id_taken")
		// Creating it again through the same alias changes nothing.
		apply(t, svc, cat, social.CreateChatMutation{ChatID: second, ParticipantIDs: []string{amy.UserID}})
	})
	t.Run("connection_request_keeps_its_id", func(t *testing.T) {
		id := oid.New()
		apply(t, svc, bob, social.CreateConnectionMutation{ConnectionID: id, UserID: cat.UserID})
		cn, err := svc.ConnectionWith(ctx, cat, bob.UserID)
		if err != nil || cn == nil || cn.ID != id {
			t.Fatalf("connection %+v %v, want id %s", cn, err, id)
		}
		err = svc.Apply(ctx, amy, social.CreateConnectionMutation{ConnectionID: id, UserID: bob.UserID})
		wantReason(t, err, apperr.Conflict, "id_taken")
		// Declined, then cat asks bob under a new id: the declined record
		// reopens and takes it.
		apply(t, svc, cat, social.DeclineConnectionMutation{UserID: bob.UserID})
		again := oid.New()
		apply(t, svc, cat, social.CreateConnectionMutation{ConnectionID: again, UserID: bob.UserID})
		if cn, err := svc.ConnectionWith(ctx, cat, bob.UserID); err != nil || cn.ID != again || cn.Status != "pending" {
			t.Fatalf("reopened connection %+v %v, want id %s", cn, err, again)
		}
		var old []store.Change
		if err := db.Read(ctx, func(tx *store.Tx) (err error) {
			old, err = tx.Changes(ctx, store.ChangeFilter{Buckets: []string{social.UserBucket(cat.UserID)}, Limit: 1000})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, ch := range old {
			if ch.EntityID == id && ch.Op != store.OpDelete {
				t.Fatalf("the old id is still live in cat's bucket: %+v", ch)
			}
		}
	})
	t.Run("join_request_and_reel_keep_their_ids", func(t *testing.T) {
		group := oid.New()
		restricted := true
		apply(t, svc, amy, social.CreateChatMutation{ChatID: group, Group: true, Name: "Closed", Category: "Outdoors", ParticipantIDs: []string{}})
		apply(t, svc, amy, social.UpdateChatMutation{ChatID: group, Restricted: &restricted})
		req := oid.New()
		apply(t, svc, bob, social.RequestToJoinMutation{RequestID: req, ChatID: group})
		if r, err := svc.Request(ctx, amy, req); err != nil || r.Status != "pending" {
			t.Fatalf("request %s: %+v %v", req, r, err)
		}
		err := svc.Apply(ctx, cat, social.RequestToJoinMutation{RequestID: req, ChatID: group})
		wantReason(t, err, apperr.Conflict, "id_taken")
		reel := oid.New()
		apply(t, svc, amy, social.CreateReelMutation{ReelID: reel, ChatID: group, Video: "https://videos.example/1.mp4"})
		apply(t, svc, bob, social.ReactToReelMutation{ReelID: reel, Reaction: "like"})
		err = svc.Apply(ctx, amy, social.CreateReelMutation{ReelID: reel, ChatID: group, Video: "https://videos.example/2.mp4"})
		wantReason(t, err, apperr.Conflict, "id_taken")
	})
}

func TestDeleteMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, db := mustService(t)
	amy, bob, cat := register(t, svc, "amy"), register(t, svc, "bob"), register(t, svc, "cat")
	apply(t, svc, amy, social.FollowMutation{UserID: bob.UserID})
	apply(t, svc, amy, social.FollowMutation{UserID: cat.UserID})
	group := oid.New()
	apply(t, svc, amy, social.CreateChatMutation{ChatID: group, Group: true, Name: "G", Category: "Outdoors", ParticipantIDs: []string{bob.UserID, cat.UserID}})
	fromBob, fromCat := oid.New(), oid.New()
	apply(t, svc, bob, social.SendMessageMutation{ChatID: group, MessageID: fromBob, Text: "bob's"})
	apply(t, svc, cat, social.SendMessageMutation{ChatID: group, MessageID: fromCat, Text: "cat's"})

	err := svc.Apply(ctx, bob, social.DeleteMessageMutation{ChatID: group, MessageID: fromCat})
	wantReason(t, err, apperr.Forbidden, "not_sender")
	apply(t, svc, bob, social.DeleteMessageMutation{ChatID: group, MessageID: fromBob}) // the sender
	apply(t, svc, amy, social.DeleteMessageMutation{ChatID: group, MessageID: fromCat}) // an admin
	if got := messageTexts(t, svc, amy, group); len(got) != 0 {
		t.Fatalf("messages left: %q", got)
	}
	err = svc.DeleteMessage(ctx, amy, group, fromCat)
	wantReason(t, err, apperr.NotFound, "message_not_found")
	var feed []store.Change
	if err := db.Read(ctx, func(tx *store.Tx) (err error) {
		feed, err = tx.Changes(ctx, store.ChangeFilter{Buckets: []string{social.ChatBucket(group)}, Limit: 1000})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tombstones := 0
	for _, ch := range feed {
		if ch.Entity == "message" {
			if ch.Op != store.OpDelete {
				t.Fatalf("message %s still live in the feed", ch.EntityID)
			}
			tombstones++
		}
	}
	if tombstones != 2 {
		t.Fatalf("%d message tombstones, want 2", tombstones)
	}
	// A stranger may not delete, whatever the message.
	stranger := register(t, svc, "dan")
	mine := oid.New()
	apply(t, svc, amy, social.SendMessageMutation{ChatID: group, MessageID: mine, Text: "amy's"})
	err = svc.Apply(ctx, stranger, social.DeleteMessageMutation{ChatID: group, MessageID: mine})
	wantReason(t, err, apperr.Forbidden, "not_participant")
}

func TestNewMutationKinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := mustService(t)
	amy, bob := register(t, svc, "amy"), register(t, svc, "bob")
	apply(t, svc, amy, social.FollowMutation{UserID: bob.UserID})
	group := oid.New()
	apply(t, svc, amy, social.CreateChatMutation{ChatID: group, Group: true, Name: "Open", Category: "Outdoors", ParticipantIDs: []string{}})
	name := "Renamed"
	apply(t, svc, amy, social.UpdateChatMutation{ChatID: group, Name: &name})
	apply(t, svc, bob, social.JoinChatMutation{ChatID: group})
	ch, err := svc.Chat(ctx, bob, group)
	if err != nil || ch.Name != "Renamed" {
		t.Fatalf("chat %+v %v", ch, err)
	}
	err = svc.Apply(ctx, bob, social.UpdateChatMutation{ChatID: group, Name: &name})
	wantReason(t, err, apperr.Forbidden, "not_admin")
	err = svc.Apply(ctx, amy, social.SetParticipantStatusMutation{ChatID: group, UserID: bob.UserID, Status: "accepted"})
	wantReason(t, err, apperr.Conflict, "no_event")

	conn := oid.New()
	apply(t, svc, amy, social.CreateConnectionMutation{ConnectionID: conn, UserID: bob.UserID})
	err = svc.Apply(ctx, bob, social.RemoveConnectionMutation{ConnectionID: conn})
	wantReason(t, err, apperr.Conflict, "connection_not_active")
	apply(t, svc, bob, social.AcceptConnectionMutation{UserID: amy.UserID})
	apply(t, svc, bob, social.RemoveConnectionMutation{ConnectionID: conn})
	if cn, err := svc.ConnectionWith(ctx, amy, bob.UserID); err != nil || cn != nil {
		t.Fatalf("connection after removal: %+v %v", cn, err)
	}
	apply(t, svc, amy, social.MarkAllNotificationsReadMutation{})
	list, err := svc.Notifications(ctx, amy, social.NotificationQuery{}, social.Page{Limit: 100})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("amy's notifications: %+v %v", list, err)
	}
	for _, n := range list.Items {
		if !n.Read {
			t.Fatalf("unread after reading all: %+v", n)
		}
	}
	photo, bad := "https://img.example/amy.jpg", "ftp://img.example/amy.jpg"
	apply(t, svc, amy, social.UpdateProfileMutation{Photo: &photo})
	if me, err := svc.Me(ctx, amy.UserID); err != nil || me.Photo != photo {
		t.Fatalf("photo %q %v", me.Photo, err)
	}
	err = svc.Apply(ctx, amy, social.UpdateProfileMutation{Photo: &bad})
	if e, ok := apperr.As(err); !ok || e.Field != "photo" {
		t.Fatalf("a photo that is no http(s) URL: %v", err)
	}
	apply(t, svc, amy, social.AddPushDeviceMutation{Token: "device-token-0123456789"})
	apply(t, svc, amy, social.RemovePushDeviceMutation{Token: "device-token-0123456789"})
	err = svc.Apply(ctx, amy, social.AddPushDeviceMutation{Token: ""})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid {
		t.Fatalf("empty push token: %v", err)
	}
}
