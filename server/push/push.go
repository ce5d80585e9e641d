// Package push delivers the push notifications that writes queue in the
// push outbox (store.Push rows, written in the same transaction as the
// write that caused them). A Worker claims due rows, hands each to a
// Sender, and records success or schedules a retry with backoff; several
// instances may drain one outbox, since claiming leases the rows.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vibesync/vibesync/server/store"
)

// Message is one notification for one user, with their device tokens.
type Message struct {
	UserID string
	Event  string
	Title  string
	Body   string
	Data   map[string]string
	Tokens []string
}

// Sender delivers a message to the user's devices. A returned error means
// "try again later", unless it wraps ErrPermanent; Gone reports tokens the
// push service says are dead.
type Sender interface {
	Send(ctx context.Context, m Message) (Result, error)
}

// ErrPermanent marks a Sender's error that trying again cannot fix (the
// push service refused the message itself): the push is given up at once.
var ErrPermanent = errors.New("permanent failure")

// Result is what a delivery learned.
type Result struct {
	// Gone lists device tokens the push service no longer knows; they are
	// forgotten.
	Gone []string
}

// LogSender is the default Sender: it logs each message and delivers
// nothing. Useful in development and where no push service is configured.
type LogSender struct {
	Log *slog.Logger
}

// Send logs m.
func (s LogSender) Send(ctx context.Context, m Message) (Result, error) {
	if s.Log != nil {
		s.Log.InfoContext(ctx, "push", "user", m.UserID, "event", m.Event, "title", m.Title, "body", m.Body, "devices", len(m.Tokens))
	}
	return Result{}, nil
}

// Worker drains the outbox. Run claims due rows a batch at a time and
// sends up to Concurrency of them at once; while batches come back full it
// claims the next one straight away, and it waits Interval only when the
// outbox has nothing due or a whole batch failed (the push service is down:
// each failed row already waits its own backoff).
type Worker struct {
	DB     *store.DB
	Sender Sender
	Log    *slog.Logger
	// MaxAttempts is how many deliveries are tried before giving up
	// (default 5).
	MaxAttempts int
	// Backoff is the wait after the first failure; it doubles per attempt
	// up to an hour (default 30s).
	Backoff time.Duration
	// Interval is how long Run waits when nothing was due or every send of
	// a pass failed (default 1s).
	Interval time.Duration
	// Batch is how many rows one pass claims (default 200).
	Batch int
	// Concurrency is how many sends are in flight at once (default 16).
	Concurrency int
	// Lease is how long a claimed row is hidden from other workers while
	// it is being sent (default 2m).
	Lease time.Duration
	// Observer is told what became of each delivery attempt (default:
	// nobody).
	Observer Observer
}

// Outcome is what became of one delivery attempt.
type Outcome string

// Delivery outcomes.
const (
	Sent   Outcome = "sent"   // delivered
	Retry  Outcome = "retry"  // failed; tried again after a backoff
	Failed Outcome = "failed" // failed for the last time; given up
)

// Observer is told the outcome of each delivery attempt (metrics). It must
// be fast.
type Observer interface {
	ObservePush(Outcome)
}

func (w *Worker) defaults() {
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = 5
	}
	if w.Backoff <= 0 {
		w.Backoff = 30 * time.Second
	}
	if w.Interval <= 0 {
		w.Interval = time.Second
	}
	if w.Batch <= 0 {
		w.Batch = 200
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 16
	}
	if w.Lease <= 0 {
		w.Lease = 2 * time.Minute
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	if w.Sender == nil {
		w.Sender = LogSender{Log: w.Log}
	}
}

// Run drains the outbox until ctx ends: pass after pass while there is
// work and sends succeed, then every Interval.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p, err := w.pass(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.WarnContext(ctx, "push outbox", "err", err)
		}
		wait := w.Interval
		if err == nil && p.claimed == w.Batch && p.sent > 0 {
			wait = 0 // a full batch that went out: more is probably due
		}
		t.Reset(wait)
	}
}

// RunOnce claims the due rows once (at most Batch) and tries each; it
// returns how many were delivered.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	p, err := w.pass(ctx)
	return p.sent, err
}

// passResult is what one pass did.
type passResult struct {
	claimed, sent int
}

func (w *Worker) pass(ctx context.Context) (passResult, error) {
	var waiting bool
	if err := w.DB.Read(ctx, func(tx *store.Tx) (err error) { waiting, err = tx.HasDuePushes(ctx); return err }); err != nil || !waiting {
		return passResult{}, err
	}
	var due []store.Push
	err := w.DB.Write(ctx, func(tx *store.Tx) (err error) {
		due, err = tx.ClaimPushes(ctx, w.Batch, w.Lease)
		return err
	})
	if err != nil {
		return passResult{}, err
	}
	// Concurrency senders share the claimed rows; their bookkeeping writes
	// commit together (the store's group commit). A row whose bookkeeping
	// failed stays leased and is tried again once the lease ends.
	// After a failure no further row is started; those in flight finish.
	var (
		g      errgroup.Group
		sent   atomic.Int64
		failed atomic.Bool
	)
	g.SetLimit(w.Concurrency)
	for _, p := range due {
		if failed.Load() || ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			ok, err := w.deliver(ctx, p)
			if ok {
				sent.Add(1)
			}
			if err != nil {
				failed.Store(true)
			}
			return err
		})
	}
	err = g.Wait()
	return passResult{claimed: len(due), sent: int(sent.Load())}, err
}

func (w *Worker) deliver(ctx context.Context, p store.Push) (bool, error) {
	m := Message{UserID: p.UserID, Event: p.Event, Title: p.Title, Body: p.Body, Data: map[string]string{}}
	if err := json.Unmarshal([]byte(p.Data), &m.Data); err != nil {
		return false, w.fail(ctx, p, fmt.Errorf("bad data: %w", err), true)
	}
	err := w.DB.Read(ctx, func(tx *store.Tx) (err error) {
		m.Tokens, err = tx.PushDevices(ctx, p.UserID)
		return err
	})
	if err != nil {
		return false, err
	}
	res, sendErr := w.Sender.Send(ctx, m)
	return sendErr == nil, w.DB.Write(ctx, func(tx *store.Tx) error {
		for _, tok := range res.Gone {
			if err := tx.RemovePushDevice(ctx, tok); err != nil {
				return err
			}
		}
		if sendErr != nil {
			giveUp := p.Attempts+1 >= w.MaxAttempts || errors.Is(sendErr, ErrPermanent)
			w.Log.WarnContext(ctx, "push failed", "push", p.ID, "attempt", p.Attempts+1, "give_up", giveUp, "err", sendErr)
			if err := tx.MarkPushFailed(ctx, p.ID, sendErr.Error(), tx.Now.Add(w.backoff(p.Attempts)), giveUp); err != nil {
				return err
			}
			tx.AfterCommit(func() { w.report(failure(giveUp)) })
			return nil
		}
		if err := tx.MarkPushSent(ctx, p.ID); err != nil {
			return err
		}
		tx.AfterCommit(func() { w.report(Sent) })
		return nil
	})
}

func (w *Worker) fail(ctx context.Context, p store.Push, err error, giveUp bool) error {
	return w.DB.Write(ctx, func(tx *store.Tx) error {
		if err := tx.MarkPushFailed(ctx, p.ID, err.Error(), tx.Now.Add(w.backoff(p.Attempts)), giveUp); err != nil {
			return err
		}
		tx.AfterCommit(func() { w.report(failure(giveUp)) })
		return nil
	})
}

// backoff is the wait after the given number of earlier attempts.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.Backoff
	for i := 0; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// failure is the outcome of a failed attempt.
func failure(giveUp bool) Outcome {
	if giveUp {
		return Failed
	}
	return Retry
}

func (w *Worker) report(o Outcome) {
	if w.Observer != nil {
		w.Observer.ObservePush(o)
	}
}
