package social_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/server/store/storetest"
)

func mustService(t *testing.T) (*social.Service, *store.DB) {
	t.Helper()
	db := storetest.Open(t, nil)
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

func TestApplyMutation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const client = "client-aaaaaaaaaaaa"
	t.Run("a_failing_mutation_is_rolled_back_and_recorded", func(t *testing.T) {
		svc, _ := mustService(t)
		a, err := svc.Register(ctx, social.Registration{Name: "A", Username: "aaa", Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Register(ctx, social.Registration{Name: "B", Username: "bbb", Password: "password1"}); err != nil {
			t.Fatal(err)
		}
		amy := social.Caller{UserID: a.User.ID}
		taken, bio := "BBB", "kept?"
		m := social.UpdateProfileMutation{Bio: &bio, Username: &taken}
		out, err := svc.ApplyMutation(ctx, amy, client, 1, []byte("f1"), m)
		if err != nil || out.Err == nil || out.Err.Code != apperr.Conflict || out.Duplicate {
			t.Fatalf("taken username: %+v, %v; want a recorded conflict", out, err)
		}
		me, _ := svc.Me(ctx, amy.UserID)
		if me.Bio == bio || me.Username != "aaa" {
			t.Fatalf("the failed mutation left writes behind: %+v", me)
		}
		again, err := svc.ApplyMutation(ctx, amy, client, 1, []byte("f1"), m)
		if err != nil || !again.Duplicate || again.Err == nil || again.Err.Reason != out.Err.Reason {
			t.Fatalf("the same mutation again: %+v, %v; want its recorded outcome", again, err)
		}
		good := "a.new"
		if out, err := svc.ApplyMutation(ctx, amy, client, 2, []byte("f2"), social.UpdateProfileMutation{Username: &good}); err != nil || out.Err != nil {
			t.Fatalf("the next mutation: %+v, %v", out, err)
		}
		if me, _ := svc.Me(ctx, amy.UserID); me.Username != good {
			t.Fatalf("username %q, want %q", me.Username, good)
		}
	})
	t.Run("cancelled_request_is_retried_not_recorded", func(t *testing.T) {
		svc, _ := mustService(t)
		a, err := svc.Register(ctx, social.Registration{Name: "A", Username: "aaa", Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		amy := social.Caller{UserID: a.User.ID}
		cctx, cancel := context.WithCancel(ctx)
		_, err = svc.ApplyMutation(cctx, amy, client, 1, nil, social.FuncMutation{Fn: func(context.Context, *store.Tx) error {
			cancel()
			return errors.New("interrupted (9)") // what the driver says, without context.Canceled
		}})
		if !social.Transient(err) {
			t.Fatalf("err %v, want a transient one", err)
		}
		bio := "retried"
		out, err := svc.ApplyMutation(ctx, amy, client, 1, nil, social.UpdateProfileMutation{Bio: &bio})
		if err != nil || out.Duplicate || out.Err != nil {
			t.Fatalf("retry after a cancelled push: %+v, %v", out, err)
		}
	})
	t.Run("transient_failure_is_not_recorded", func(t *testing.T) {
		svc, _ := mustService(t)
		a, err := svc.Register(ctx, social.Registration{Name: "A", Username: "aaa", Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		amy := social.Caller{UserID: a.User.ID}
		half := "half"
		_, err = svc.ApplyMutation(ctx, amy, client, 1, nil, social.FuncMutation{Fn: func(ctx context.Context, tx *store.Tx) error {
			if err := tx.UpdateUser(ctx, amy.UserID, store.UserUpdate{Bio: &half}); err != nil {
				return err
			}
			return apperr.New(apperr.Unavailable, "database_busy", "busy")
		}})
		if !social.Transient(err) {
			t.Fatalf("err %v, want a transient one", err)
		}
		if me, _ := svc.Me(ctx, amy.UserID); me.Bio == half {
			t.Fatal("a failed mutation left its writes behind")
		}
		bio := "retried"
		out, err := svc.ApplyMutation(ctx, amy, client, 1, nil, social.UpdateProfileMutation{Bio: &bio})
		if err != nil || out.Duplicate || out.Err != nil {
			t.Fatalf("retry after a transient failure: %+v, %v", out, err)
		}
	})
}
