package rest_test

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/servertest"
)

// doFrom sends a JSON request with extra headers (X-Forwarded-For).
func doFrom(t *testing.T, env *servertest.Env, method, path, token string, body any, header map[string]string) *servertest.Response {
	t.Helper()
	req, err := servertest.NewRequest(context.Background(), method, env.URL+path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return servertest.NewResponse(t, method+" "+path, res.StatusCode, res.Header, data)
}

// wantRetryAfter fails unless r carries Retry-After with value want.
func wantRetryAfter(t *testing.T, r *servertest.Response, want string) {
	t.Helper()
	if got := r.Header.Get("Retry-After"); got != want {
		t.Fatalf("Retry-After %q, want %q; body %s", got, want, r.Body)
	}
}

func TestRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	localhost := netip.MustParsePrefix("127.0.0.1/32")
	env := servertest.New(t, servertest.WithRateLimits(ratelimit.Config{
		Auth: ratelimit.Limit{Every: 3 * time.Second, Burst: 3}, TrustedProxies: []netip.Prefix{localhost}}))
	reg := func(username string, xff string) *servertest.Response {
		h := map[string]string{}
		if xff != "" {
			h["X-Forwarded-For"] = xff
		}
		return doFrom(t, env, "POST", "/auth/register", "", map[string]string{"name": "N", "username": username, "password": "correct horse battery"}, h)
	}
	t.Run("register: the burst passes, then 429 with Retry-After and the JSON error", func(t *testing.T) {
		for i, u := range []string{"reg.one", "reg.two", "reg.three"} {
			if r := reg(u, "198.51.100.1"); r.Status != http.StatusCreated {
				t.Fatalf("registration %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		r := reg("reg.four", "198.51.100.1").WantError(http.StatusTooManyRequests, "rate_limited")
		wantRetryAfter(t, r, "3")
	})
	t.Run("another client behind the trusted proxy has its own budget", func(t *testing.T) {
		reg("reg.five", "198.51.100.2").Want(http.StatusCreated)
	})
	t.Run("a forged left-most X-Forwarded-For does not buy a new budget", func(t *testing.T) {
		reg("reg.six", "203.0.113.50, 198.51.100.1").WantError(http.StatusTooManyRequests, "rate_limited")
	})
	t.Run("login and refresh keep budgets of their own", func(t *testing.T) {
		for range 3 {
			doFrom(t, env, "POST", "/auth/login", "", map[string]string{"username": "reg.one", "password": "correct horse battery"},
				map[string]string{"X-Forwarded-For": "198.51.100.1"}).Want(http.StatusOK)
		}
		r := doFrom(t, env, "POST", "/auth/login", "", map[string]string{"username": "reg.one", "password": "correct horse battery"},
			map[string]string{"X-Forwarded-For": "198.51.100.1"}).WantError(http.StatusTooManyRequests, "rate_limited")
		wantRetryAfter(t, r, "3")
		doFrom(t, env, "POST", "/auth/refresh", "", map[string]string{"refreshToken": "nope"},
			map[string]string{"X-Forwarded-For": "198.51.100.1"}).WantError(http.StatusUnauthorized, "refresh_token_invalid")
	})
}

func TestRateLimitFailedLogins(t *testing.T) {
	t.Parallel()
	localhost := netip.MustParsePrefix("127.0.0.1/32")
	env := servertest.New(t, servertest.WithRateLimits(ratelimit.Config{
		LoginFailures:   ratelimit.Limit{Every: 6 * time.Minute, Burst: 5},
		AccountFailures: ratelimit.Limit{Every: time.Minute, Burst: 7},
		TrustedProxies:  []netip.Prefix{localhost}}))
	amy := env.Register("Amy")
	login := func(password, from string) *servertest.Response {
		return doFrom(t, env, "POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": password},
			map[string]string{"X-Forwarded-For": from})
	}
	login(amy.Password, "192.0.2.1").Want(http.StatusOK) // the owner's usual address
	t.Run("five wrong passwords from one address, then 429 too_many_failed_logins", func(t *testing.T) {
		for range 5 {
			login("wrong password", "203.0.113.1").WantError(http.StatusUnauthorized, "invalid_credentials")
		}
		r := login("wrong password", "203.0.113.1").WantError(http.StatusTooManyRequests, "too_many_failed_logins")
		wantRetryAfter(t, r, "360")
		login(amy.Password, "203.0.113.1").WantError(http.StatusTooManyRequests, "too_many_failed_logins")
	})
	t.Run("guesses from other addresses fill the account budget", func(t *testing.T) {
		login("wrong password", "203.0.113.2").WantError(http.StatusUnauthorized, "invalid_credentials")
		login("wrong password", "203.0.113.3").WantError(http.StatusUnauthorized, "invalid_credentials")
		login("wrong password", "203.0.113.4").WantError(http.StatusTooManyRequests, "too_many_failed_logins")
	})
	t.Run("the owner still signs in from their own address", func(t *testing.T) {
		login(amy.Password, "192.0.2.1").Want(http.StatusOK)
	})
	t.Run("another account is not affected", func(t *testing.T) {
		bob := env.Register("Bob")
		doFrom(t, env, "POST", "/auth/login", "", map[string]string{"username": bob.Username, "password": bob.Password},
			map[string]string{"X-Forwarded-For": "203.0.113.1"}).Want(http.StatusOK)
	})
}

func TestRateLimitWrites(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithRateLimits(ratelimit.Config{Writes: ratelimit.Limit{Every: time.Minute, Burst: 4}}))
	amy := env.Register("Amy")
	bob := env.Register("Bob")
	chat := group(t, env, amy, "Limits", nil, bob) // two writes: follow, create
	for range 2 {
		env.Do("POST", "/chats/"+chat.ID+"/messages", amy.Token, map[string]any{"text": "hi"}).Want(http.StatusCreated)
	}
	r := env.Do("POST", "/chats/"+chat.ID+"/messages", amy.Token, map[string]any{"text": "one too many"}).
		WantError(http.StatusTooManyRequests, "rate_limited")
	wantRetryAfter(t, r, "60")
	env.Do("GET", "/chats/"+chat.ID+"/messages", amy.Token, nil).Want(http.StatusOK)
	env.Do("POST", "/chats/"+chat.ID+"/messages", bob.Token, map[string]any{"text": "mine"}).Want(http.StatusCreated)
}

func TestLoginFloodIsTurnedAway(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, func(c *server.Config) {
		c.Password = auth.PasswordParams{Memory: 8 * 1024, Time: 3, Threads: 1}
		c.PasswordConcurrency = 1
		c.PasswordWait = time.Nanosecond
	})
	amy := env.Register("Amy")
	statuses := make([]*servertest.Response, 16)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = doFrom(t, env, "POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": "wrong password"}, nil)
		}()
	}
	wg.Wait()
	busy := 0
	for _, r := range statuses {
		switch r.Status {
		case http.StatusUnauthorized:
			r.WantError(http.StatusUnauthorized, "invalid_credentials")
		case http.StatusServiceUnavailable:
			r.WantError(http.StatusServiceUnavailable, "password_checks_busy")
			wantRetryAfter(t, r, "1")
			busy++
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
	if busy == 0 {
		t.Fatal("16 concurrent logins with one password slot and no wait: none turned away")
	}
}
