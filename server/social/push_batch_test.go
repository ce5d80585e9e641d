package social_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/social"
)

// batchCounter counts write transactions.
type batchCounter struct {
	mu     sync.Mutex
	writes []int
}

func (b *batchCounter) ObserveWriteBatch(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes = append(b.writes, n)
}
func (b *batchCounter) ObserveWriterWait(time.Duration) {}

// The mutations of one push share write transactions instead of paying a
// commit each, and still run in order with one outcome each.
func TestPushSharesTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	chat := w.group(w.amy, false, w.bob)
	const n = 70
	p := social.Push{ClientID: "push-batch-client-0001"}
	for i := range n {
		p.Mutations = append(p.Mutations, social.PushedMutation{ID: int64(i + 1), Fingerprint: []byte{byte(i)},
			Mutation: social.SendMessageMutation{ChatID: chat, MessageID: oid.New(), Text: fmt.Sprintf("message %d", i)}})
	}
	var bc batchCounter
	w.db.Observe(&bc)
	res, err := w.svc.ApplyPush(ctx, w.amy, p)
	w.db.Observe(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != n || res.RetryLater {
		t.Fatalf("%d outcomes (retry later %v), want %d", len(res.Results), res.RetryLater, n)
	}
	for i, r := range res.Results {
		if r.ID != int64(i+1) || r.Err != nil || r.Duplicate {
			t.Fatalf("outcome %d: %+v", i, r)
		}
	}
	bc.mu.Lock()
	txs := len(bc.writes)
	bc.mu.Unlock()
	if txs > 3 { // 32 + 32 + 6
		t.Fatalf("%d write transactions for a push of %d mutations", txs, n)
	}
	msgs, _, err := w.svc.Messages(ctx, w.bob, chat, social.MessageFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs { // newest first
		if want := fmt.Sprintf("message %d", n-1-i); m.Text != want {
			t.Fatalf("message %d is %q, want %q", i, m.Text, want)
		}
	}
	// Pushed again: every one is a duplicate, none runs twice.
	again, err := w.svc.ApplyPush(ctx, w.amy, p)
	if err != nil || len(again.Results) != n {
		t.Fatalf("again: %d outcomes, %v", len(again.Results), err)
	}
	for _, r := range again.Results {
		if !r.Duplicate {
			t.Fatalf("second push of %d: %+v", r.ID, r)
		}
	}
}
