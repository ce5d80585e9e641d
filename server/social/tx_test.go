package social_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
)

func mustService(t *testing.T) (*social.Service, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens([]byte(strings.Repeat("k", 32)), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := social.New(social.Config{DB: db, Tokens: tokens, Password: auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, db
}

func TestWritesJoinTheCallersTransaction(t *testing.T) {
	svc, db := mustService(t)
	ctx := context.Background()
	a, err := svc.Register(ctx, social.Registration{Name: "A", Username: "aaa", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Register(ctx, social.Registration{Name: "B", Username: "bbb", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	good, taken := "a.new", "BBB"
	err = db.Write(ctx, func(tx *store.Tx) error {
		in := social.WithinTx(ctx, tx)
		if _, err := svc.UpdateProfile(in, social.Caller{UserID: a.User.ID}, social.ProfileUpdate{Username: &taken}); !apperr.Is(err, apperr.Conflict) {
			t.Errorf("taken username inside a transaction: %v, want conflict", err)
		}
		// The failed step rolled back to its savepoint; the transaction goes on.
		_, err := svc.UpdateProfile(in, social.Caller{UserID: a.User.ID}, social.ProfileUpdate{Username: &good})
		return err
	})
	if err != nil {
		t.Fatalf("outer transaction: %v", err)
	}
	me, err := svc.Me(ctx, a.User.ID)
	if err != nil || me.Username != good {
		t.Fatalf("after the batch: %+v, %v", me, err)
	}
	other, _ := svc.Me(ctx, b.User.ID)
	if other.Username != "bbb" {
		t.Fatalf("other user changed: %+v", other)
	}
}
