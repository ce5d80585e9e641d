package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vibesync/vibesync/server/store"
)

// TestProfileBackfill: migrating a database written before profiles were
// replicated gives each chat bucket the profiles of its participants and
// message senders, and each user bucket those of the users it has a
// connection record with or a join request from, except across a block.
func TestProfileBackfill(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(t.TempDir(), "old.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return fmt.Sprintf("%024x", i) }
	amy, bob, cat, dan, eve := id(1), id(2), id(3), id(4), id(5)
	chat := id(100)
	write(t, db, func(tx *store.Tx) error {
		for i, name := range []string{"Amy", "Bob", "Cat", "Dan", "Eve"} {
			u := store.User{ID: id(i + 1), Name: name, Username: "u" + name, CreatedAt: tx.Now, UpdatedAt: tx.Now}
			if name == "Amy" {
				u.Bio = "Hi"
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		if err := tx.CreateChat(ctx, store.Chat{ID: chat, CreatorID: amy, IsGroup: true, Name: "Club", Restricted: true, Tags: "[]",
			LastActivityAt: tx.Now, CreatedAt: tx.Now, UpdatedAt: tx.Now}); err != nil {
			return err
		}
		for i, u := range []string{amy, bob} {
			if err := tx.AddParticipant(ctx, store.Participant{ID: id(200 + i), ChatID: chat, UserID: u, IsAdmin: u == amy, LastReadAt: tx.Now, JoinedAt: tx.Now}); err != nil {
				return err
			}
		}
		// Cat wrote in the chat and left; she asks to join again.
		if err := tx.InsertMessage(ctx, store.Message{ID: id(300), ChatID: chat, UserID: cat, Text: "bye", Files: "[]", CreatedAt: tx.Now}); err != nil {
			return err
		}
		if err := tx.CreateRequest(ctx, store.JoinRequest{ID: id(400), ChatID: chat, UserID: cat, Status: "pending", CreatedAt: tx.Now, UpdatedAt: tx.Now}); err != nil {
			return err
		}
		for i, other := range []string{dan, eve} {
			if _, err := tx.InsertConnection(ctx, store.Connection{ID: id(500 + i), FromID: amy, ToID: other, Status: store.ConnAccepted,
				CreatedAt: tx.Now, AcceptedAt: tx.Now, RespondedAt: tx.Now}); err != nil {
				return err
			}
		}
		_, err := tx.Block(ctx, eve, amy)
		return err
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	buckets := []string{"chat:" + chat, "user:" + amy, "user:" + bob, "user:" + cat, "user:" + dan, "user:" + eve}
	got := map[string][]string{}
	var amyRow []byte
	for _, c := range changes(t, db, store.ChangeFilter{Buckets: buckets, Limit: 1000}) {
		if c.Entity != "user" || c.Op != store.OpUpsert {
			continue
		}
		got[c.Bucket] = append(got[c.Bucket], c.EntityID)
		if c.EntityID == amy {
			amyRow = c.Data
		}
	}
	want := map[string][]string{
		"chat:" + chat: {amy, bob, cat},
		"user:" + amy:  {cat, dan}, // not Eve, who blocks Amy
		"user:" + dan:  {amy},
	}
	for _, b := range buckets {
		g := got[b]
		slices.Sort(g)
		if !slices.Equal(g, want[b]) {
			t.Errorf("%s holds the profiles of %v, want %v", b, g, want[b])
		}
	}
	var u map[string]any
	if err := json.Unmarshal(amyRow, &u); err != nil {
		t.Fatalf("amy's row %s: %v", amyRow, err)
	}
	if u["_id"] != amy || u["name"] != "Amy" || u["username"] != "uAmy" || u["bio"] != "Hi" || len(u) != 4 {
		t.Fatalf("amy's row = %s", amyRow)
	}
	var n int
	if err := db.Read(ctx, func(tx *store.Tx) (err error) {
		bs, err := tx.LiveBuckets(ctx, amy)
		n = len(bs)
		return err
	}); err != nil || n != 2 {
		t.Fatalf("amy's profile is live in %d buckets (%v), want 2", n, err)
	}
}
