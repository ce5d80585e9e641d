package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/servertest"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("a push over the write budget keeps the rest queued and reports the server's Retry-After", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t, servertest.WithRateLimits(ratelimit.Config{Writes: ratelimit.Limit{Every: time.Minute, Burst: 3}}))
		amy := env.Register("Amy")
		d := openDevice(t, env, "")
		login(t, env, d, amy)
		for i := range 5 {
			bio := string(rune('a' + i))
			if _, err := d.UpdateProfile(ctx, client.ProfileUpdate{Bio: &bio}); err != nil {
				t.Fatal(err)
			}
		}
		res := mustSync(t, d)
		if res.Pushed != 3 || res.Pending != 2 || res.RetryAfter != time.Minute {
			t.Fatalf("sync: pushed %d, pending %d, retry after %s; want 3, 2, 1m", res.Pushed, res.Pending, res.RetryAfter)
		}
		_, err := d.Sync(ctx)
		if got := client.RetryAfterOf(err); got != time.Minute {
			t.Fatalf("sync with the budget spent: err %v, Retry-After %s, want 1m", err, got)
		}
	})
	t.Run("a long Retry-After comes back on the REST error", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t, servertest.WithRateLimits(ratelimit.Config{Auth: ratelimit.Limit{Every: time.Hour, Burst: 1}}))
		d := openDevice(t, env, "")
		if _, err := d.Register(ctx, "Amy", "amy.retry", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		_, err := d.Register(ctx, "Bob", "bob.retry", "correct horse battery")
		var api *client.APIError
		if !errors.As(err, &api) || api.Status != http.StatusTooManyRequests || api.RetryAfter != time.Hour {
			t.Fatalf("second registration: %v, want a 429 with Retry-After 1h", err)
		}
	})
	t.Run("a short Retry-After is waited out and the call made again", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			env := servertest.NewInBubble(t, servertest.WithRateLimits(ratelimit.Config{Auth: ratelimit.Limit{Every: time.Second, Burst: 1}}))
			// The server's clock is the test's: each refusal moves it past
			// the Retry-After while the client waits its second on the
			// bubble's fake clock.
			tr := &advanceOn429{env: env, base: env.HTTP.Client().Transport}
			c, err := client.Open(ctx, client.Options{Server: env.URL, Dir: t.TempDir(), HTTPClient: &http.Client{Transport: tr}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Register(ctx, "Amy", "amy.wait", "correct horse battery"); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := c.Register(ctx, "Bob", "bob.wait", "correct horse battery"); err != nil {
				t.Fatalf("registration after a 1s Retry-After: %v", err)
			}
			if waited := time.Since(start); waited < time.Second {
				t.Fatalf("made again after %v, before the 1s Retry-After", waited)
			}
			if tr.refused != 1 || tr.sent != 3 {
				t.Fatalf("%d requests, %d refused; want 3 and 1 (refused, then made again)", tr.sent, tr.refused)
			}
		})
	})
}

// advanceOn429 counts requests and moves the server's clock by a second
// whenever one is refused with 429.
type advanceOn429 struct {
	env           *servertest.Env
	base          http.RoundTripper
	sent, refused int
}

func (a *advanceOn429) RoundTrip(r *http.Request) (*http.Response, error) {
	a.sent++
	res, err := a.base.RoundTrip(r)
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		a.refused++
		a.env.Clock.Advance(time.Second)
	}
	return res, err
}
