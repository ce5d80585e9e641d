package social_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
)

// TestProfileChangeWritesOneRowPerBucket: a profile change re-puts the
// user's profile once in each bucket that mentions them (their own, each
// chat they are in, each user they have a connection record with), however
// many messages, participants and records mention them there.
func TestProfileChangeWritesOneRowPerBucket(t *testing.T) {
	t.Parallel()
	svc, db := mustService(t)
	ctx := context.Background()
	reg := func(name string) string {
		t.Helper()
		out, err := svc.Register(ctx, social.Registration{Name: name, Username: name, Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		return out.User.ID
	}
	bob := reg("bob")
	bc := social.Caller{UserID: bob}
	var friends []string
	for i := range 3 {
		id := reg(fmt.Sprintf("friend%d", i))
		friends = append(friends, id)
		if _, _, err := svc.RequestConnection(ctx, social.Caller{UserID: id}, social.ConnectionRequest{To: bob}); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if _, err := svc.AcceptConnection(ctx, bc, social.ByUser(id)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// friend2's request stays pending: its record still mentions bob.
	accepted := friends[:2]
	var chats []string
	for i := range 2 {
		ch, _, err := svc.CreateChat(ctx, bc, social.NewChat{IsGroup: true, Name: fmt.Sprintf("Group %d", i), Category: "Study", Participants: &accepted})
		if err != nil {
			t.Fatal(err)
		}
		chats = append(chats, ch.ID)
		for j := range 5 {
			if _, err := svc.SendMessage(ctx, bc, ch.ID, social.NewMessage{Text: fmt.Sprintf("m%d", j)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	buckets := []string{social.UserBucket(bob)}
	for _, id := range friends {
		buckets = append(buckets, social.UserBucket(id))
	}
	for _, id := range chats {
		buckets = append(buckets, social.ChatBucket(id))
	}

	var head int64
	if err := db.Read(ctx, func(tx *store.Tx) (err error) { head, err = tx.FeedHead(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	name := "Robert"
	if _, err := svc.UpdateProfile(ctx, bc, social.ProfileUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	var rows []store.Change
	if err := db.Read(ctx, func(tx *store.Tx) (err error) {
		rows, err = tx.Changes(ctx, store.ChangeFilter{Buckets: buckets, After: head, Limit: 1000})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rows {
		if r.Entity != social.EntityUser || r.EntityID != bob || r.Op != store.OpUpsert {
			t.Errorf("the profile change wrote %s %s/%s in %s", r.Op, r.Entity, r.EntityID, r.Bucket)
			continue
		}
		var u social.User
		if err := json.Unmarshal(r.Data, &u); err != nil || u.Name != name {
			t.Errorf("%s holds %s, %v", r.Bucket, r.Data, err)
		}
		if got[r.Bucket] {
			t.Errorf("two rows in %s", r.Bucket)
		}
		got[r.Bucket] = true
	}
	if len(rows) != len(buckets) {
		t.Fatalf("the profile change wrote %d rows, want one per bucket (%d: %v)", len(rows), len(buckets), buckets)
	}
	var after int64
	if err := db.Read(ctx, func(tx *store.Tx) (err error) { after, err = tx.FeedHead(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	if after-head != int64(len(buckets)) {
		t.Fatalf("the feed moved by %d rows in all buckets, want %d", after-head, len(buckets))
	}
}
