// Package ratelimit holds vibesync's request budgets: token buckets
// (golang.org/x/time/rate) kept per key (a client address, an account, a
// user), and the policy that uses them on sign-in (Set).
//
// Budgets live in the instance's memory: with several instances behind a
// load balancer each one keeps its own, so a client may get up to N times
// a budget from N instances. The limits are about bounding abuse, not
// about exact quotas, and that trade keeps instances stateless.
//
// A refused request gets an *apperr.Error with Code RateLimited (429) and
// a RetryAfter: the time until the bucket holds a token again.
package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/vibesync/vibesync/server/apperr"
)

// Limit is a token bucket: Burst requests at once, refilled by one every
// Every. The zero Limit (Every 0) means no limit.
type Limit struct {
	Every time.Duration
	Burst int
}

// Off reports whether l limits nothing.
func (l Limit) Off() bool { return l.Every <= 0 || l.Burst <= 0 }

// String is l in the form Parse reads: "30/m:10", or "off".
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	out := fmt.Sprintf("1/%s:%d", l.Every, l.Burst)
	for _, u := range units { // the first unit that reads as 10 or more, else the last that divides
		if l.Every <= u.d && u.d%l.Every == 0 {
			out = fmt.Sprintf("%d/%s:%d", u.d/l.Every, u.name, l.Burst)
			if u.d/l.Every >= 10 {
				break
			}
		}
	}
	return out
}

var units = []struct {
	name string
	d    time.Duration
}{{"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}

// Parse reads a Limit written "N/UNIT:BURST" — N requests per second (s),
// minute (m) or hour (h), with up to BURST at once — or "1/DURATION:BURST"
// (e.g. "1/90s:5"), or "off". Without ":BURST" the burst is N.
func Parse(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	spec, burstText, hasBurst := strings.Cut(s, ":")
	countText, unit, ok := strings.Cut(spec, "/")
	if !ok {
		return Limit{}, fmt.Errorf("rate limit %q: want N/s, N/m or N/h, optionally :BURST, or off", s)
	}
	n, err := strconv.Atoi(countText)
	if err != nil || n <= 0 {
		return Limit{}, fmt.Errorf("rate limit %q: %q is not a positive count", s, countText)
	}
	var per time.Duration
	for _, u := range units {
		if unit == u.name {
			per = u.d
		}
	}
	if per == 0 {
		if per, err = time.ParseDuration(unit); err != nil || per <= 0 {
			return Limit{}, fmt.Errorf("rate limit %q: unit %q is not s, m, h or a duration", s, unit)
		}
	}
	l := Limit{Every: per / time.Duration(n), Burst: n}
	if hasBurst {
		if l.Burst, err = strconv.Atoi(burstText); err != nil || l.Burst <= 0 {
			return Limit{}, fmt.Errorf("rate limit %q: burst %q is not a positive count", s, burstText)
		}
	}
	if l.Every <= 0 {
		return Limit{}, fmt.Errorf("rate limit %q: more than one request per nanosecond", s)
	}
	return l, nil
}

// MaxKeys bounds how many keys a Keyed remembers. Past it, buckets that
// are full again are forgotten first (they equal a fresh one), then any.
const MaxKeys = 1 << 20

// Keyed is one token bucket per key, all with the same Limit. A nil or
// unlimited Keyed allows everything. Safe for concurrent use.
type Keyed struct {
	limit Limit
	now   func() time.Time
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
	sweep int // len(keys) at which the next sweep runs
}

// New returns a Keyed for l; now is the clock (nil: time.Now).
func New(l Limit, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	return &Keyed{limit: l, now: now, keys: map[string]*rate.Limiter{}, sweep: 1024}
}

// Limit is k's limit.
func (k *Keyed) Limit() Limit {
	if k == nil {
		return Limit{}
	}
	return k.limit
}

// Allow takes one token from key's bucket. When there is none it takes
// nothing and reports how long until there is one.
func (k *Keyed) Allow(key string) (retryAfter time.Duration, ok bool) {
	return k.AllowN(key, 1)
}

// AllowN takes n tokens (at most the burst) from key's bucket, or none.
func (k *Keyed) AllowN(key string, n int) (retryAfter time.Duration, ok bool) {
	if k == nil || k.limit.Off() {
		return 0, true
	}
	n = min(n, k.limit.Burst)
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	r := k.bucket(key, now).ReserveN(now, n)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// Check reports whether key's bucket holds a token, without taking it,
// and if not, how long until it does.
func (k *Keyed) Check(key string) (retryAfter time.Duration, ok bool) {
	if k == nil || k.limit.Off() {
		return 0, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	lim, found := k.keys[key]
	if !found {
		return 0, true
	}
	now := k.now()
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, true
	}
	return time.Duration((1 - tokens) * float64(k.limit.Every)), false
}

// Spend takes a token from key's bucket even when it is empty (the
// bucket goes into debt, so the wait grows with each further spend, up
// to one burst's worth of refill).
func (k *Keyed) Spend(key string) {
	if k == nil || k.limit.Off() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	lim := k.bucket(key, now)
	if lim.TokensAt(now) > -float64(k.limit.Burst) {
		lim.ReserveN(now, 1)
	}
}

// bucket returns key's limiter, creating it. k.mu is held.
func (k *Keyed) bucket(key string, now time.Time) *rate.Limiter {
	if lim, ok := k.keys[key]; ok {
		return lim
	}
	if len(k.keys) >= k.sweep {
		k.forgetFull(now)
	}
	lim := rate.NewLimiter(rate.Every(k.limit.Every), k.limit.Burst)
	k.keys[key] = lim
	return lim
}

// forgetFull drops the buckets that refilled completely, then, if still
// at MaxKeys, arbitrary ones; the next sweep runs when the map doubled.
func (k *Keyed) forgetFull(now time.Time) {
	for key, lim := range k.keys {
		if lim.TokensAt(now) >= float64(k.limit.Burst) {
			delete(k.keys, key)
		}
	}
	for key := range k.keys {
		if len(k.keys) < MaxKeys {
			break
		}
		delete(k.keys, key)
	}
	k.sweep = min(max(1024, 2*len(k.keys)), MaxKeys)
}

// Len is how many keys k remembers (for tests).
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// Err is the 429 error for a request refused for retryAfter, with a
// machine-readable reason ("rate_limited", "too_many_failed_logins", …).
func Err(reason string, retryAfter time.Duration) error {
	return apperr.RetryLater(apperr.RateLimited, reason, retryAfter,
		"Too many requests; try again in %s", RetryAfterSeconds(retryAfter)+"s")
}

// RetryAfterSeconds is d as a Retry-After value: whole seconds, rounded
// up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}
