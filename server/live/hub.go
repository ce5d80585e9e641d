// Package live is vibesync's WebSocket channel: it upgrades GET /ws, gives
// each socket an id, records presence, and fans live events and change-feed
// positions out to the sockets this instance holds.
//
// Delivery works the same with one instance or many: writes append live
// events (and feed rows) in their own transaction; every instance tails those
// tables from the database, woken at once by its own commits (store.DB
// OnCommit) and polling otherwise, so instances share nothing but the
// database. A new instance starts at the current head and never replays
// history; a client that was away pulls the change feed.
//
// Audiences. An event's target is a bucket: "user:<id>" reaches every socket
// of that user; any other bucket ("chat:<id>") reaches the sockets of its
// members in bucket_members, resolved when the event is delivered. The hub
// caches each bucket's member list and drops it as soon as the tailer sees
// that bucket's membership change (bucket_member_changes, filled by
// triggers), so a socket stops getting a chat's events once its user left.
// A user who leaves a chat in the same write that records a chat event does
// not get it: address what a leaving user must hear (removed, chat deleted)
// to "user:<id>".
//
// Frames are JSON text: {"event": name, "data": payload}. The first frame
// is {"event":"connected","data":{"socket":"<id>"}}; a write that carries
// that socket id skips it (the user's other sockets still get the event).
// Sockets opened with ?sync=1 also get {"event":"sync","data":{"seq":N}}
// when one of their user's buckets moved to feed position N: a position,
// not data; the client pulls. Sync frames are coalesced, never queued.
//
// Limits: client frames above 64 KiB close the socket (1009); a socket whose
// send queue is full is closed with 1013 and is expected to reconnect and
// pull; a user holds at most MaxSocketsPerUser sockets per instance (429
// before the upgrade); shutdown closes every socket with 1001.
//
// Auth is checked at the upgrade. A socket outlives its access token (the
// token only opened it) but not its login: the heartbeat closes sockets of
// revoked sessions with 1008, and ends Subscribe streams opened with them
// (Subscription.Ended), within PresenceTTL/3.
//
// Presence: each socket has a row in the presence table, refreshed by its
// instance's heartbeat and deleted when it closes; a crashed instance's rows
// expire after PresenceTTL. store.Tx.Online and social.Service.Online read
// it in one query.
//
// Change-feed subscribers (sync sockets, Subscribe streams) are told
// positions, never data, and positions coalesce in a one-slot buffer, so a
// slow subscriber costs nothing and cannot fall behind: it just sees the
// newest position when it next looks. Event frames cannot coalesce, hence
// the bounded queue and 1013 for sockets.
package live

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vibesync/vibesync/server/store"
)

// Options tune the hub. Zero values take the defaults documented on each
// field.
type Options struct {
	// AllowedOrigins are browser origins ("https://app.example.com") that may
	// open sockets besides the server's own origin; clients that send no
	// Origin (native apps) are always allowed. "*" allows any origin.
	AllowedOrigins []string
	// MaxSocketsPerUser bounds one user's sockets on one instance (default 10).
	MaxSocketsPerUser int
	// SendQueue is how many frames may wait for a slow socket before it is
	// closed with 1013 (default 256).
	SendQueue int
	// PingInterval is how often the server pings; a socket that sends nothing
	// (not even a pong) for twice as long is closed (default 25s).
	PingInterval time.Duration
	// WriteTimeout bounds one frame's write (default 10s).
	WriteTimeout time.Duration
	// PollInterval is how often the tailer looks for other instances' writes
	// (default 25ms; at most 50ms is sensible).
	PollInterval time.Duration
	// IdlePollInterval is how far the tailer's interval backs off where
	// commits are not signalled (a libSQL server): after pollGrace without
	// a write seen, the interval doubles from PollInterval up to this; the
	// first write seen brings it back to PollInterval (default 1s, never
	// below PollInterval).
	IdlePollInterval time.Duration
	// Poll makes the tailer poll every PollInterval and never listen for the
	// database's commit signal (store.DB.CommitSignal). For tests in a
	// testing/synctest bubble, where a goroutine waiting on a file watch
	// never counts as blocked and the fake clock could not move.
	Poll bool
	// PresenceTTL is how long a presence row lives without a heartbeat; the
	// instance refreshes its rows every PresenceTTL/3 (default 60s).
	PresenceTTL time.Duration
	// EventRetention is how long live events and membership changes are
	// kept for tailing instances before Prune deletes them (default 10m).
	EventRetention time.Duration
	// PruneInterval is how often the hub prunes (default 1m).
	PruneInterval time.Duration
	// AudienceCache bounds how many buckets' member lists are cached
	// (default 4096).
	AudienceCache int
}

func (o Options) withDefaults() Options {
	if o.MaxSocketsPerUser <= 0 {
		o.MaxSocketsPerUser = 10
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 256
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 25 * time.Millisecond
	}
	if o.IdlePollInterval <= 0 {
		o.IdlePollInterval = time.Second
	}
	o.IdlePollInterval = max(o.IdlePollInterval, o.PollInterval)
	if o.PresenceTTL <= 0 {
		o.PresenceTTL = time.Minute
	}
	if o.EventRetention <= 0 {
		o.EventRetention = 10 * time.Minute
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = time.Minute
	}
	if o.AudienceCache <= 0 {
		o.AudienceCache = 4096
	}
	return o
}

// Config wires a Hub.
type Config struct {
	DB      *store.DB
	Log     *slog.Logger     // default: discarded
	Now     func() time.Time // default time.Now
	Options Options
}

// MaxFrame is the largest frame a client may send.
const MaxFrame = 64 << 10

// Close codes the hub sends.
const (
	CloseGoingAway = websocket.CloseGoingAway     // 1001: the server is shutting down
	CloseTryLater  = websocket.CloseTryAgainLater // 1013: the socket fell behind
	// CloseSessionEnded (1008) closes sockets whose login was revoked.
	CloseSessionEnded = websocket.ClosePolicyViolation
	closeGrace        = time.Second
	presenceTimeout   = 5 * time.Second
)

// Hub holds this instance's sockets and delivers events to them. Safe for
// concurrent use; Close (or Shutdown) stops it.
type Hub struct {
	db       *store.DB
	log      *slog.Logger
	now      func() time.Time
	opts     Options
	instance string
	upgrader websocket.Upgrader

	mu      sync.Mutex
	users   map[string]map[*socket]struct{}
	subs    map[string]map[*Subscription]struct{}
	count   int
	closing bool
	orphans []string // presence rows whose removal failed; retried by the heartbeat

	wake     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	loops    sync.WaitGroup // tailer and maintenance
	conns    sync.WaitGroup // socket handlers

	// Owned by the tailer goroutine.
	eventSeq, feedSeq, memberSeq int64
	heads                        store.Heads // as the last poll saw them (tailer only)
	audience                     map[string][]string

	dropped   atomic.Int64
	delivered atomic.Int64
	sent      atomic.Int64 // frames written to sockets
	tailSeq   atomic.Int64 // the tailer's feed position, for monitoring
	pollEvery atomic.Int64 // the tailer's poll interval now (a time.Duration)
}

// New starts a hub at the current head of the live-event table, the change
// feed and the membership log, and registers a commit hook on cfg.DB.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	if cfg.DB == nil {
		return nil, errors.New("live: DB is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Hub{
		db: cfg.DB, log: cfg.Log, now: cfg.Now, opts: cfg.Options.withDefaults(),
		instance: newID(),
		users:    map[string]map[*socket]struct{}{},
		subs:     map[string]map[*Subscription]struct{}{},
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		audience: map[string][]string{},
	}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
		CheckOrigin:      func(*http.Request) bool { return true }, // checked before, with a JSON answer
	}
	err := h.db.Read(ctx, func(tx *store.Tx) (err error) {
		if h.eventSeq, err = tx.EventHead(ctx); err != nil {
			return err
		}
		if h.feedSeq, err = tx.FeedHead(ctx); err != nil {
			return err
		}
		h.memberSeq, err = tx.MemberChangeHead(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("live: read heads: %w", err)
	}
	h.tailSeq.Store(h.feedSeq)
	h.pollEvery.Store(int64(h.opts.PollInterval))
	h.db.OnCommit(func(store.Commit) { h.poke() })
	h.loops.Add(2)
	go h.tail()
	go h.maintain()
	return h, nil
}

// poke wakes the tailer without blocking.
func (h *Hub) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Stats are counters for monitoring and tests.
type Stats struct {
	Sockets     int   // open on this instance
	Users       int   // users with at least one socket open on this instance (online here)
	Subscribers int   // change-feed Subscribe streams open on this instance
	Delivered   int64 // event frames queued to sockets
	Sent        int64 // frames written (or being written) to sockets: events, sync positions, "connected"
	Dropped     int64 // sockets closed with 1013 for falling behind
	// TailSeq is the change-feed position this instance's tailer has
	// delivered up to; the feed head minus TailSeq is how far it lags.
	TailSeq int64
	// PollInterval is how often the tailer polls now: PollInterval while
	// writes come, backed off towards IdlePollInterval while none do
	// (where commits are signalled, the backstop poll's interval).
	PollInterval time.Duration
}

// Stats reports the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	n, users, subs := h.count, len(h.users), 0
	for _, set := range h.subs {
		subs += len(set)
	}
	h.mu.Unlock()
	return Stats{Sockets: n, Users: users, Subscribers: subs, Delivered: h.delivered.Load(),
		Sent: h.sent.Load(), Dropped: h.dropped.Load(), TailSeq: h.tailSeq.Load(), PollInterval: time.Duration(h.pollEvery.Load())}
}

// Shutdown closes every socket with 1001, stops the tailer and forgets this
// instance's presence rows (if the database still answers; otherwise they
// expire). It waits for the sockets' goroutines until ctx ends and returns
// ctx's error if they did not finish. Later calls return at once.
func (h *Hub) Shutdown(ctx context.Context) error {
	first := false
	h.stopOnce.Do(func() {
		first = true
		h.mu.Lock()
		h.closing = true
		for _, set := range h.users {
			for s := range set {
				s.kick(CloseGoingAway, "server shutting down")
			}
		}
		for _, set := range h.subs {
			for sub := range set {
				sub.close()
			}
		}
		h.subs = map[string]map[*Subscription]struct{}{}
		h.mu.Unlock()
		close(h.done)
	})
	if !first {
		return nil
	}
	waited := make(chan struct{})
	go func() {
		h.conns.Wait()
		h.loops.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		return fmt.Errorf("live: shutdown: %w", ctx.Err())
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), presenceTimeout)
	defer cancel()
	if err := h.db.Write(dctx, func(tx *store.Tx) error { return tx.DropPresence(dctx, h.instance) }); err != nil {
		// Not fatal: without heartbeats the rows expire within PresenceTTL.
		h.log.Warn("live: drop presence at shutdown", "err", err)
	}
	return nil
}

// Close is Shutdown with a short grace period.
func (h *Hub) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.Shutdown(ctx)
}

// newID returns a socket id: 15 random bytes, URL-safe base64, 20
// characters of [A-Za-z0-9_-].
func newID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
