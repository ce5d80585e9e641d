package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/push"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

func TestMutationOutcomes(t *testing.T) {
	t.Parallel()
	t.Run("retry_later_counts_the_mutations_left_unanswered", func(t *testing.T) {
		m := New()
		req := &syncv1.PushRequest{Mutations: make([]*syncv1.Mutation, 5)}
		res := &syncv1.PushResponse{RetryLater: true, Results: []*syncv1.MutationResult{
			{Id: 1, Status: syncv1.MutationStatus_MUTATION_STATUS_APPLIED},
			{Id: 2, Status: syncv1.MutationStatus_MUTATION_STATUS_APPLIED, Duplicate: true},
		}}
		m.observeSync(req, res)
		for outcome, want := range map[string]float64{"applied": 1, "duplicate": 1, "retry_later": 3} {
			if got := testutil.ToFloat64(m.mutations.WithLabelValues(outcome, "")); got != want {
				t.Errorf("%s = %v, want %v", outcome, got, want)
			}
		}
	})
	t.Run("a_reason_that_is_not_a_code_is_other", func(t *testing.T) {
		m := New()
		m.observeSync(&syncv1.PushRequest{}, &syncv1.PushResponse{Results: []*syncv1.MutationResult{
			{Id: 1, Status: syncv1.MutationStatus_MUTATION_STATUS_REJECTED, Reason: "user 65f0c0ffee is gone"},
			{Id: 2, Status: syncv1.MutationStatus_MUTATION_STATUS_REJECTED, Reason: "not_found"},
		}})
		if got := testutil.ToFloat64(m.mutations.WithLabelValues("rejected", "other")); got != 1 {
			t.Errorf("other = %v, want 1", got)
		}
		if got := testutil.ToFloat64(m.mutations.WithLabelValues("rejected", "not_found")); got != 1 {
			t.Errorf("not_found = %v, want 1", got)
		}
	})
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type failing struct{}

func (failing) Send(context.Context, push.Message) (push.Result, error) {
	return push.Result{}, errors.New("push service down")
}

func TestPushOutcomesAndOutboxDepth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now().UTC()}
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(t.TempDir(), "m.db"), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	m := New()
	db.Observe(m)
	m.Watch(Sources{DB: func(ctx context.Context) (st DBState, err error) {
		err = db.Read(ctx, func(tx *store.Tx) (err error) {
			if st.FeedHead, err = tx.FeedHead(ctx); err != nil {
				return err
			}
			st.OutboxDepth, err = tx.PushOutboxDepth(ctx)
			return err
		})
		return st, err
	}})
	user := oid.New()
	err = db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, store.User{ID: user, Name: "U", Username: "u" + user[16:], PasswordHash: "x", CreatedAt: tx.Now, UpdatedAt: tx.Now}); err != nil {
			return err
		}
		if err := tx.AddPushDevice(ctx, user, "device-1"); err != nil {
			return err
		}
		for range 2 {
			if err := tx.EnqueuePush(ctx, store.Push{UserID: user, Event: "chat-joined", Title: "T", Body: "B"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	want := func(body string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(body, "\n"+l+"\n") {
				t.Errorf("scrape lacks %q", l)
			}
		}
	}
	want(scrape(), "vibesync_push_outbox_depth 2", `vibesync_push_deliveries_total{outcome="retry"} 0`)

	w := &push.Worker{DB: db, Sender: failing{}, MaxAttempts: 2, Backoff: time.Minute, Observer: m}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	want(scrape(), "vibesync_push_outbox_depth 2", `vibesync_push_deliveries_total{outcome="retry"} 2`, `vibesync_push_deliveries_total{outcome="failed"} 0`)
	c.Advance(time.Hour)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	want(scrape(), "vibesync_push_outbox_depth 0", `vibesync_push_deliveries_total{outcome="retry"} 2`,
		`vibesync_push_deliveries_total{outcome="failed"} 2`, `vibesync_push_deliveries_total{outcome="sent"} 0`)
	// One write seeded the outbox; each pass claimed in one write and
	// recorded each of two failures in its own.
	want(scrape(), "vibesync_db_write_batch_size_count 7", "vibesync_db_write_batch_size_sum 7", "vibesync_db_writer_wait_seconds_count 7")
}
