package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxBatch bounds how many queued writes one transaction commits together.
const maxBatch = 128

// writeReq is one Write waiting for the writer.
type writeReq struct {
	ctx      context.Context
	fn       func(*Tx) error
	err      error
	queued   time.Time // when it joined the queue
	panicked any       // what fn panicked with, re-raised in the caller's goroutine
	done     chan struct{}
}

// errPanicked stands for a panicking fn while its writes are rolled back.
var errPanicked = errors.New("store: write panicked")

// groupWrite is Write: group commit. Each call
// queues its fn; whichever caller holds the writer takes everything queued
// and runs it in one transaction, each fn inside its own savepoint, so a fn
// that fails rolls back only what it wrote and the others still commit
// together: one commit (one WAL append, one fsync under synchronous=FULL)
// for many writes. On a libSQL server it saves round trips: one BEGIN and
// one COMMIT for the group, and each write's queued statements ride with
// the next write's first read (see remote.go). A batch of one runs exactly as a lone transaction (no
// savepoint). Every fn of a batch sees the same tx.Now. Each caller returns
// after the batch's commit and its commit hooks. A fn that panics is rolled
// back alone and its panic is raised again in its own caller's goroutine.
func (db *DB) groupWrite(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, done: make(chan struct{}), queued: time.Now()}
	req.fn = func(tx *Tx) (err error) {
		defer func() {
			if p := recover(); p != nil {
				req.panicked, err = p, errPanicked
			}
		}()
		return fn(tx)
	}
	db.qmu.Lock()
	db.queue = append(db.queue, req)
	db.qmu.Unlock()
	for {
		select {
		case <-req.done:
			if req.panicked != nil {
				panic(req.panicked)
			}
			return req.err
		default:
		}
		db.wmu.Lock()
		db.qmu.Lock()
		n := min(len(db.queue), maxBatch)
		batch := append([]*writeReq(nil), db.queue[:n]...)
		db.queue = append(db.queue[:0], db.queue[n:]...)
		db.qmu.Unlock()
		var commit Commit
		var after []func()
		if len(batch) > 0 {
			commit, after = db.runBatch(batch)
		}
		db.wmu.Unlock()
		if len(batch) > 0 {
			db.notifier.notify()
			db.fireHooks(commit, after)
			for _, r := range batch {
				close(r.done)
			}
		}
	}
}

// runBatch runs batch in one write transaction and sets each request's
// err. It returns what the transaction appended and what its writes
// registered with AfterCommit.
func (db *DB) runBatch(batch []*writeReq) (Commit, []func()) {
	if db.observer.Load() != nil {
		queued := make([]time.Time, len(batch))
		for i, r := range batch {
			queued[i] = r.queued
		}
		db.observeBatch(queued...)
	}
	if len(batch) == 1 {
		r := batch[0]
		commit, after, err := db.runWrite(r.ctx, r.fn)
		r.err = err
		return commit, after
	}
	commit, after, err := db.runWrite(context.WithoutCancel(batch[0].ctx), func(tx *Tx) error {
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				r.err = err
				continue
			}
			err, fatal := tx.batchStep(r.ctx, r.fn)
			if fatal != nil {
				return fatal
			}
			r.err = err
		}
		return nil
	})
	if err != nil {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
		return Commit{}, nil
	}
	return commit, after
}

// batchStep runs fn in a savepoint of tx, like Savepoint. err is fn's own
// failure (its writes and AfterCommit functions dropped, its AfterRollback
// functions run); fatal means the transaction itself can no longer be
// trusted and the whole batch must roll back.
func (tx *Tx) batchStep(ctx context.Context, fn func(*Tx) error) (err, fatal error) {
	if tx.rt != nil {
		return tx.remoteSavepoint(ctx, "batch_step", fn)
	}
	feed, events, after, undo := tx.feedSeq, tx.eventSeq, len(tx.after), len(tx.undo)
	if _, err := tx.exec(ctx, `SAVEPOINT batch_step`); err != nil {
		return nil, fmt.Errorf("store: savepoint: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.feedSeq, tx.eventSeq = feed, events
		clear(tx.after[after:])
		tx.after = tx.after[:after]
		tx.rollBack(undo)
		bg := context.WithoutCancel(ctx)
		if _, rbErr := tx.exec(bg, `ROLLBACK TO batch_step`); rbErr != nil {
			return err, errors.Join(err, fmt.Errorf("store: rollback to savepoint: %w", rbErr))
		}
		if _, rErr := tx.exec(bg, `RELEASE batch_step`); rErr != nil {
			return err, errors.Join(err, fmt.Errorf("store: release savepoint: %w", rErr))
		}
		return err, nil
	}
	if _, err := tx.exec(ctx, `RELEASE batch_step`); err != nil {
		return nil, fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil, nil
}

// fireHooks runs what a committed transaction registered with
// AfterCommit, then the commit hooks if it wrote feed rows or live events.
func (db *DB) fireHooks(commit Commit, after []func()) {
	for _, f := range after {
		f()
	}
	if commit.FeedSeq == 0 && commit.EventSeq == 0 {
		return
	}
	db.hookMu.RLock()
	hooks := db.hooks
	db.hookMu.RUnlock()
	for _, h := range hooks {
		h(commit)
	}
}
