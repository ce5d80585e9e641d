package auth

import (
	"context"
	"runtime"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
)

// Hasher hashes and checks passwords with bounded concurrency. Each
// argon2id run holds Params.Memory (19 MiB by default) for its duration,
// and a login for an unknown username is hashed too (so timing does not
// reveal which usernames exist): without a bound, a flood of logins that
// needs no account grows memory without limit. A Hasher runs at most
// Concurrency hashes at once; a caller that finds every slot busy waits up
// to Wait, then gets an Unavailable error ("password_checks_busy", 503)
// with a RetryAfter. So memory stays near Concurrency × Params.Memory
// whatever arrives, and a waiting request never waits long. Safe for
// concurrent use.
type Hasher struct {
	params PasswordParams
	slots  chan struct{}
	wait   time.Duration
}

// HasherConfig sets up a Hasher. Zero values take the defaults.
type HasherConfig struct {
	// Params is the cost of new hashes (default DefaultPasswordParams).
	// Checks use the parameters stored in each hash.
	Params PasswordParams
	// Concurrency is how many hashes may run at once (default the number
	// of CPUs: a hash is CPU-bound, so more would only share the cores).
	Concurrency int
	// Wait is how long a request waits for a free slot before it is
	// turned away (default 2s).
	Wait time.Duration
}

// BusyRetryAfter is the Retry-After of a request turned away because
// every password slot stayed busy.
const BusyRetryAfter = time.Second

// NewHasher returns a Hasher for cfg.
func NewHasher(cfg HasherConfig) *Hasher {
	if cfg.Params == (PasswordParams{}) {
		cfg.Params = DefaultPasswordParams
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.NumCPU()
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 2 * time.Second
	}
	return &Hasher{params: cfg.Params, slots: make(chan struct{}, cfg.Concurrency), wait: cfg.Wait}
}

// Params is the cost of new hashes.
func (h *Hasher) Params() PasswordParams { return h.params }

// Hash is HashPassword with h's parameters, once a slot is free.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, h.params)
}

// Check is CheckPassword, once a slot is free.
func (h *Hasher) Check(ctx context.Context, password, encoded string) (bool, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return CheckPassword(password, encoded)
}

// acquire takes a slot, waiting up to h.wait.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return h.release, nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return h.release, nil
	case <-t.C:
		return nil, apperr.RetryLater(apperr.Unavailable, "password_checks_busy", BusyRetryAfter,
			"Too many sign-ins at once; try again in a moment")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }
