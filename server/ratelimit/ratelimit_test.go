package ratelimit

import (
	"net/http"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Limit{
		"20/m:20":  {Every: 3 * time.Second, Burst: 20},
		"10/h:5":   {Every: 6 * time.Minute, Burst: 5},
		"10/s":     {Every: 100 * time.Millisecond, Burst: 10},
		"1/90s:3":  {Every: 90 * time.Second, Burst: 3},
		"off":      {},
		" 60/h:20": {Every: time.Minute, Burst: 20},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if back, err := Parse(got.String()); err != nil || back != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v", in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "10", "x/m", "0/m", "-1/m", "10/week", "10/m:0", "10/m:x", "5/2ns"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestKeyed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := New(Limit{Every: time.Second, Burst: 2}, nil)
		for i := range 2 {
			if _, ok := k.Allow("a"); !ok {
				t.Fatalf("request %d within the burst refused", i+1)
			}
		}
		d, ok := k.Allow("a")
		if ok || d != time.Second {
			t.Fatalf("third request: ok=%v retry after %s, want refused for 1s", ok, d)
		}
		if _, ok := k.Allow("b"); !ok {
			t.Fatal("another key shares the bucket")
		}
		time.Sleep(time.Second)
		if _, ok := k.Allow("a"); !ok {
			t.Fatal("refilled token refused")
		}
		if _, ok := k.AllowN("c", 5); !ok {
			t.Fatal("AllowN over the burst must take the whole burst, not refuse for ever")
		}
	})
}

func TestKeyedForgetsFullBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := New(Limit{Every: time.Second, Burst: 1}, nil)
		for i := range 1024 {
			k.Allow(string(rune('a'+i%26)) + time.Duration(i).String())
		}
		time.Sleep(2 * time.Second)
		k.Allow("new")
		if n := k.Len(); n != 1 {
			t.Fatalf("%d keys remembered after every bucket refilled, want 1", n)
		}
	})
}

func TestSpendGrowsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := New(Limit{Every: time.Minute, Burst: 2}, nil)
		k.Spend("a")
		k.Spend("a")
		if d, ok := k.Check("a"); ok || d != time.Minute {
			t.Fatalf("after the burst: ok=%v wait %s, want 1m", ok, d)
		}
		k.Spend("a")
		if d, _ := k.Check("a"); d != 2*time.Minute {
			t.Fatalf("one more failure: wait %s, want 2m", d)
		}
		for range 10 {
			k.Spend("a")
		}
		if d, _ := k.Check("a"); d != 3*time.Minute {
			t.Fatalf("wait %s after many failures, want it capped at one burst of debt (3m)", d)
		}
	})
}

// TestLoginPolicy checks the sign-in budgets as docs/DECISIONS.md states
// them: per account and address, per account, and the owner's addresses
// exempt from the account-wide budget.
func TestLoginPolicy(t *testing.T) {
	cfg := Config{LoginFailures: Limit{Every: 6 * time.Minute, Burst: 5}, AccountFailures: Limit{Every: time.Minute, Burst: 20}}
	t.Run("one address is stopped after five wrong passwords", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := NewSet(cfg, nil)
			for i := range 5 {
				if err := s.LoginAllowed("amy", "10.0.0.1"); err != nil {
					t.Fatalf("attempt %d: %v", i+1, err)
				}
				s.LoginFailed("amy", "10.0.0.1")
			}
			err := s.LoginAllowed("AMY", "10.0.0.1")
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.RateLimited || e.Reason != "too_many_failed_logins" || e.RetryAfter != 6*time.Minute {
				t.Fatalf("sixth attempt: %v, want 429 too_many_failed_logins retry 6m", err)
			}
			if err := s.LoginAllowed("amy", "10.0.0.2"); err != nil {
				t.Fatalf("another address: %v", err)
			}
			time.Sleep(6 * time.Minute)
			if err := s.LoginAllowed("amy", "10.0.0.1"); err != nil {
				t.Fatalf("after the refill: %v", err)
			}
		})
	})
	t.Run("guessing from many addresses is bounded per account", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := NewSet(cfg, nil)
			for i := range 20 {
				addr := netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}).String()
				if err := s.LoginAllowed("amy", addr); err != nil {
					t.Fatalf("attempt %d: %v", i+1, err)
				}
				s.LoginFailed("amy", addr)
			}
			if err := s.LoginAllowed("amy", "10.2.0.1"); !apperr.Is(err, apperr.RateLimited) {
				t.Fatalf("21st guess from a fresh address: %v, want 429", err)
			}
			if err := s.LoginAllowed("bob", "10.2.0.1"); err != nil {
				t.Fatalf("another account: %v", err)
			}
		})
	})
	t.Run("the owner's address is not locked out by guessing elsewhere", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := NewSet(cfg, nil)
			s.LoginSucceeded("amy", "192.0.2.7")
			for i := range 100 {
				addr := netip.AddrFrom4([4]byte{10, 1, byte(i / 256), byte(i)}).String()
				s.LoginFailed("amy", addr)
			}
			if err := s.LoginAllowed("amy", "192.0.2.7"); err != nil {
				t.Fatalf("owner's address while the account budget is spent: %v", err)
			}
			if err := s.LoginAllowed("amy", "10.9.9.9"); !apperr.Is(err, apperr.RateLimited) {
				t.Fatalf("a fresh address: %v, want 429", err)
			}
			time.Sleep(30*24*time.Hour + time.Second)
			s.LoginFailed("amy", "10.1.0.0")
			if err := s.LoginAllowed("amy", "192.0.2.7"); err != nil {
				t.Fatalf("budget refilled after 30 days: %v", err)
			}
		})
	})
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, remote, xff string
		trusted           []netip.Prefix
		want              string
	}{
		{"the peer without proxies", "203.0.113.9:5000", "198.51.100.1", nil, "203.0.113.9"},
		{"X-Forwarded-For ignored from an untrusted peer", "203.0.113.9:5000", "198.51.100.1", proxies, "203.0.113.9"},
		{"the client behind a trusted proxy", "127.0.0.1:5000", "198.51.100.1", proxies, "198.51.100.1"},
		{"the right-most untrusted hop, not a forged left one", "10.0.0.2:5000", "1.1.1.1, 198.51.100.1, 10.0.0.3", proxies, "198.51.100.1"},
		{"only proxies: the left-most", "10.0.0.2:5000", "10.0.0.5", proxies, "10.0.0.5"},
		{"malformed hop: the last good one", "127.0.0.1:5000", "nonsense", proxies, "127.0.0.1"},
		{"IPv6 by /64", "[2001:db8:1:2:3:4:5:6]:443", "", nil, "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6 as IPv4", "[::ffff:203.0.113.9]:443", "", nil, "203.0.113.9"},
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ClientAddr(r, c.trusted); got != c.want {
			t.Errorf("%s: ClientAddr = %q, want %q", c.name, got, c.want)
		}
	}
	if _, err := ParseProxies("10.0.0.0/8, nonsense"); err == nil {
		t.Error("ParseProxies accepted nonsense")
	}
}
