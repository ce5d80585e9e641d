package auth

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
)

func TestHasherBoundsConcurrentHashes(t *testing.T) {
	t.Run("a free slot runs at once", func(t *testing.T) {
		h := NewHasher(HasherConfig{Params: cheap, Concurrency: 1, Wait: time.Second})
		enc, err := h.Hash(context.Background(), "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := h.Check(context.Background(), "correct horse", enc); err != nil || !ok {
			t.Fatalf("check: ok=%v err=%v", ok, err)
		}
	})
	t.Run("all slots busy past the wait is 503 password_checks_busy with Retry-After 1s", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := NewHasher(HasherConfig{Params: cheap, Concurrency: 2, Wait: 2 * time.Second})
			r1, _ := h.acquire(context.Background())
			r2, _ := h.acquire(context.Background())
			defer r1()
			defer r2()
			start := time.Now()
			_, err := h.Check(context.Background(), "x", "$argon2id$v=19$m=1024,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Unavailable || e.Reason != "password_checks_busy" || e.RetryAfter != time.Second {
				t.Fatalf("err = %#v, want unavailable password_checks_busy retry 1s", err)
			}
			if waited := time.Since(start); waited != 2*time.Second {
				t.Fatalf("waited %s, want the 2s wait", waited)
			}
		})
	})
	t.Run("a slot freed during the wait is taken", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := NewHasher(HasherConfig{Params: cheap, Concurrency: 1, Wait: 2 * time.Second})
			release, _ := h.acquire(context.Background())
			time.AfterFunc(time.Second, release)
			if _, err := h.Hash(context.Background(), "correct horse"); err != nil {
				t.Fatalf("hash after a slot freed: %v", err)
			}
		})
	})
	t.Run("a caller that leaves stops waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := NewHasher(HasherConfig{Params: cheap, Concurrency: 1, Wait: time.Minute})
			release, _ := h.acquire(context.Background())
			defer release()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if _, err := h.Hash(ctx, "x"); err != context.DeadlineExceeded {
				t.Fatalf("err = %v, want the context's", err)
			}
		})
	})
}
