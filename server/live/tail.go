package live

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vibesync/vibesync/server/store"
)

// Page sizes of one tailer read.
const (
	eventPage  = 500
	movePage   = 1000
	memberPage = 1000
)

// backstopPoll is how often a tailer that hears commits through
// store.DB.CommitSignal still polls: writes of a process that does not
// signal (an older version sharing the file) are seen within it.
const backstopPoll = time.Second

// pollGrace is how long an unsignalled tailer keeps polling every
// PollInterval after it last saw a write (its own process's or another
// instance's) before its interval starts to back off.
const pollGrace = 2 * time.Second

// tail delivers new events and feed positions whenever this process
// commits, and when other instances commit: as soon as their commit is
// signalled, or by polling where commits are not signalled.
func (h *Hub) tail() {
	defer h.loops.Done()
	// Where the database signals commits (an embedded file on Linux), the
	// tailer reads when told and polls only as a backstop, for a writer
	// that does not signal. Elsewhere (a libSQL server) it polls every
	// PollInterval while writes come, and backs off while none do: after
	// pollGrace without one, each empty poll doubles the interval up to
	// IdlePollInterval; a write seen (a poll that found the heads moved,
	// or a commit of this process) brings it back to PollInterval at once.
	// So an instance under load delivers other instances' writes as
	// before, and an idle one sends about one read a second.
	var signal <-chan struct{}
	if !h.opts.Poll {
		signal = h.db.CommitSignal(h.opts.PollInterval)
	}
	fastest, slowest := h.opts.PollInterval, h.opts.IdlePollInterval
	if signal != nil {
		fastest = max(fastest, backstopPoll)
		slowest = fastest
	}
	every := fastest
	t := time.NewTimer(every)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.done
		cancel()
	}()
	failing := false
	lastWrite := time.Now()
	for {
		poll, fired := false, false
		select {
		case <-h.done:
			return
		case <-h.wake:
		case <-t.C:
			poll, fired = true, true
		case _, ok := <-signal:
			if !ok {
				signal = nil // the database closed: shutdown follows
				continue
			}
			poll = true
		}
		moved, err := h.catchUp(ctx, poll)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			h.log.Error("live: tail", "err", err) // logged once per outage
			failing = true
		case err == nil && failing:
			h.log.Info("live: tail recovered")
			failing = false
		}
		next := every
		if moved || !poll {
			lastWrite, next = time.Now(), fastest
		} else if fired && time.Since(lastWrite) >= pollGrace {
			next = min(every*2, slowest)
		}
		h.pollEvery.Store(int64(next))
		if fired || next != every {
			every = next
			t.Reset(every)
		}
	}
}

// catchUp reads, in one snapshot, the membership changes, live events and
// moved buckets since the last round, and hands them to local sockets. A
// poll (rather than a wake-up after this process committed) first asks
// whether anything committed at all (store.DB.Changed: PRAGMA
// data_version on an embedded file, a few microseconds), then reads the
// three tables' heads with one small statement and stops there when none
// moved: an idle instance on an embedded database costs almost nothing,
// and one on a libSQL server one cheap read per PollInterval.
//
// It reports whether it found anything written since the last round (a
// wake-up after this process's commit always counts).
func (h *Hub) catchUp(ctx context.Context, poll bool) (bool, error) {
	var heads store.Heads
	if poll {
		changed, err := h.db.Changed(ctx)
		if err != nil {
			return false, err
		}
		if !changed {
			return false, nil
		}
		if heads, err = h.db.Heads(ctx); err != nil {
			return false, err
		}
		if heads == h.heads {
			return false, nil
		}
	}
	if h.idle() {
		// No socket and no subscriber here: nothing read would be
		// delivered, so jump to the heads instead of reading what moved.
		// The heads are read before the second look at the sockets: a
		// socket that registers after it owes nothing committed before.
		if !poll {
			var err error
			if heads, err = h.db.Heads(ctx); err != nil {
				return true, err
			}
		}
		if h.idle() {
			h.memberSeq, h.eventSeq, h.feedSeq = heads.Members, heads.Events, heads.Feed
			clear(h.audience) // membership changes were skipped with the rest
			h.tailSeq.Store(h.feedSeq)
			h.heads = heads
			return true, nil
		}
	}
	err := h.db.ReadUncounted(ctx, func(tx *store.Tx) error {
		// The first page of each table comes in one read (one round trip
		// to a libSQL server); further pages only when one was full.
		t, err := tx.Tail(ctx, store.TailFrom{MemberSeq: h.memberSeq, EventSeq: h.eventSeq, FeedSeq: h.feedSeq,
			MemberLimit: memberPage, EventLimit: eventPage, MoveLimit: movePage})
		if err != nil {
			return err
		}
		changes := t.Members
		for {
			for _, c := range changes {
				delete(h.audience, c.Bucket)
				h.memberSeq = c.Seq
			}
			if len(changes) < memberPage {
				break
			}
			if changes, err = tx.MemberChanges(ctx, h.memberSeq, memberPage); err != nil {
				return err
			}
		}
		events := t.Events
		for {
			for _, e := range events {
				if err := h.fanOut(ctx, tx, e); err != nil {
					return err
				}
				h.eventSeq = e.Seq
			}
			if len(events) < eventPage {
				break
			}
			if events, err = tx.Events(ctx, h.eventSeq, eventPage); err != nil {
				return err
			}
		}
		moves := t.Moves
		for len(moves) > 0 {
			for _, m := range moves {
				if err := h.notifyMove(ctx, tx, m); err != nil {
					return err
				}
			}
			h.feedSeq = moves[len(moves)-1].Seq
			if h.feedSeq >= t.FeedHead {
				break // read up to the head this snapshot saw
			}
			if moves, err = tx.MovedBuckets(ctx, h.feedSeq, movePage); err != nil {
				return err
			}
		}
		h.tailSeq.Store(h.feedSeq)
		return nil
	})
	if err == nil && poll {
		h.heads = heads
	}
	return true, err
}

// idle reports whether no socket and no subscriber is open here.
func (h *Hub) idle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count == 0 && len(h.subs) == 0
}

// members is the audience of bucket: its user for "user:<id>", else the
// bucket's members, cached until the bucket's membership changes.
func (h *Hub) members(ctx context.Context, tx *store.Tx, bucket string) ([]string, error) {
	if id, ok := strings.CutPrefix(bucket, "user:"); ok {
		return []string{id}, nil
	}
	if m, ok := h.audience[bucket]; ok {
		return m, nil
	}
	m, err := tx.BucketMembers(ctx, bucket)
	if err != nil {
		return nil, err
	}
	if len(h.audience) >= h.opts.AudienceCache {
		for k := range h.audience { // evict one at random
			delete(h.audience, k)
			break
		}
	}
	h.audience[bucket] = m
	return m, nil
}

// fanOut queues event e to every local socket of its audience except the
// socket that caused it. The frame is encoded once.
func (h *Hub) fanOut(ctx context.Context, tx *store.Tx, e store.Event) error {
	h.mu.Lock()
	idle := h.count == 0
	h.mu.Unlock()
	if idle {
		return nil
	}
	users, err := h.members(ctx, tx, e.Target)
	if err != nil {
		return err
	}
	var msg *websocket.PreparedMessage
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range users {
		for s := range h.users[u] {
			if e.Socket != "" && s.origin == e.Socket {
				continue
			}
			if msg == nil {
				if msg, err = frame(e.Name, e.Data); err != nil {
					h.log.Error("live: encode event", "seq", e.Seq, "event", e.Name, "err", err)
					return nil
				}
			}
			h.deliver(s, msg)
		}
	}
	return nil
}

// notifyMove tells the sync sockets and subscribers of m's audience that
// their feed moved to m.Seq.
func (h *Hub) notifyMove(ctx context.Context, tx *store.Tx, m store.BucketMove) error {
	h.mu.Lock()
	idle := h.count == 0 && len(h.subs) == 0
	h.mu.Unlock()
	if idle {
		return nil
	}
	users, err := h.members(ctx, tx, m.Bucket)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range users {
		for s := range h.users[u] {
			if s.sync {
				offer(s.syncC, m.Seq)
			}
		}
		for sub := range h.subs[u] {
			offer(sub.c, m.Seq)
		}
	}
	return nil
}

// Subscription tells one consumer (a Connect Subscribe stream) that a
// user's buckets moved. C yields the newest feed position; positions not
// yet taken are replaced by newer ones, so a slow consumer never blocks the
// hub and never misses that something moved. C is closed when the hub shuts
// down. Ended is closed when the login session the subscription was opened
// with has ended (logout, or a reused refresh token): the heartbeat checks
// it with the sockets' sessions, every PresenceTTL/3.
type Subscription struct {
	C       <-chan int64
	Ended   <-chan struct{}
	c       chan int64
	ended   chan struct{}
	endOnce sync.Once
	hub     *Hub
	user    string
	session string
}

// Subscribe returns a Subscription for userID's buckets, without a
// session to watch. Call Close when done. After shutdown it returns a
// subscription whose C is closed.
func (h *Hub) Subscribe(userID string) *Subscription {
	return h.SubscribeSession(userID, "")
}

// SubscribeSession is Subscribe for a consumer authenticated by login
// session sessionID: its Ended closes when that session ends.
func (h *Hub) SubscribeSession(userID, sessionID string) *Subscription {
	c := make(chan int64, 1)
	ended := make(chan struct{})
	sub := &Subscription{C: c, c: c, Ended: ended, ended: ended, hub: h, user: userID, session: sessionID}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		close(c)
		return sub
	}
	set := h.subs[userID]
	if set == nil {
		set = map[*Subscription]struct{}{}
		h.subs[userID] = set
	}
	set[sub] = struct{}{}
	return sub
}

// Watch is SubscribeSession in the shape rpc.Watcher wants.
func (h *Hub) Watch(userID, sessionID string) (<-chan int64, <-chan struct{}, func()) {
	sub := h.SubscribeSession(userID, sessionID)
	return sub.C, sub.Ended, sub.Close
}

// Close stops the subscription (idempotent).
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	set, ok := h.subs[s.user]
	if _, in := set[s]; !ok || !in {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(h.subs, s.user)
	}
	s.close()
}

func (s *Subscription) close() { close(s.c) }

// end tells the consumer its session ended (idempotent).
func (s *Subscription) end() { s.endOnce.Do(func() { close(s.ended) }) }

// maintain refreshes this instance's presence rows and prunes old rows.
func (h *Hub) maintain() {
	defer h.loops.Done()
	beat := time.NewTicker(h.opts.PresenceTTL / 3)
	defer beat.Stop()
	prune := time.NewTicker(h.opts.PruneInterval)
	defer prune.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		select {
		case <-h.done:
			return
		case <-beat.C:
			if err := h.Heartbeat(ctx); err != nil {
				h.log.Warn("live: presence heartbeat", "err", err)
			}
		case <-prune.C:
			if err := h.Prune(ctx); err != nil {
				h.log.Warn("live: prune", "err", err)
			}
		}
	}
}

// Heartbeat extends this instance's presence rows by PresenceTTL, retries
// removing rows of sockets that closed while the database was unavailable,
// and closes (1008) sockets whose login session has ended (logout, ended
// by the user, a password change, a reused refresh token: reason "session
// ended; log in again"; the account was deleted: reason "account
// deleted") and ends the subscriptions of such sessions. The
// hub calls it every PresenceTTL/3.
func (h *Hub) Heartbeat(ctx context.Context) error {
	h.mu.Lock()
	orphans := h.orphans
	h.orphans = nil
	sessions := map[string][]*socket{}
	for _, set := range h.users {
		for s := range set {
			if s.session != "" {
				sessions[s.session] = append(sessions[s.session], s)
			}
		}
	}
	subs := map[string][]*Subscription{}
	for _, set := range h.subs {
		for sub := range set {
			if sub.session != "" {
				subs[sub.session] = append(subs[sub.session], sub)
			}
		}
	}
	h.mu.Unlock()
	if len(orphans) == 0 && len(sessions) == 0 && len(subs) == 0 && h.Stats().Sockets == 0 {
		return nil // nothing of this instance to refresh
	}
	ids := make([]string, 0, len(sessions)+len(subs))
	for id := range sessions {
		ids = append(ids, id)
	}
	for id := range subs {
		if _, dup := sessions[id]; !dup {
			ids = append(ids, id)
		}
	}
	var ended map[string]string
	err := h.db.Write(ctx, func(tx *store.Tx) (err error) {
		for _, id := range orphans {
			if err := tx.RemovePresence(ctx, id); err != nil {
				return err
			}
		}
		if _, err := tx.TouchPresence(ctx, h.instance, tx.Now.Add(h.opts.PresenceTTL)); err != nil {
			return err
		}
		ended, err = tx.EndedSessions(ctx, ids)
		return err
	})
	if err != nil {
		h.mu.Lock()
		h.orphans = append(h.orphans, orphans...)
		h.mu.Unlock()
		return err
	}
	for id, why := range ended {
		reason := "session ended; log in again"
		if why == store.EndAccountDeleted {
			reason = "account deleted"
		}
		for _, s := range sessions[id] {
			s.kick(CloseSessionEnded, reason)
		}
		for _, sub := range subs[id] {
			sub.end()
		}
	}
	return nil
}

// Prune deletes live events and membership changes older than
// EventRetention and presence rows that expired. The hub calls it every
// PruneInterval; any instance may.
func (h *Hub) Prune(ctx context.Context) error {
	return h.db.Write(ctx, func(tx *store.Tx) error {
		cutoff := tx.Now.Add(-h.opts.EventRetention)
		if _, err := tx.PruneEvents(ctx, cutoff); err != nil {
			return err
		}
		if _, err := tx.PruneMemberChanges(ctx, cutoff); err != nil {
			return err
		}
		_, err := tx.PrunePresence(ctx)
		return err
	})
}
