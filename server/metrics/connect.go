package metrics

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// Mutation outcomes (the "outcome" label of vibesync_sync_mutations_total).
const (
	OutcomeApplied    = "applied"
	OutcomeDuplicate  = "duplicate"
	OutcomeRejected   = "rejected"
	OutcomeRetryLater = "retry_later"
)

// Interceptor counts Connect calls by procedure and code, times unary
// calls, and reads the sync answers it passes: rows and bytes pulled,
// resets, and each pushed mutation's outcome. Put it first, so the codes
// it sees are those the client gets.
func (m *Metrics) Interceptor() connect.Interceptor { return interceptor{m} }

type interceptor struct{ m *Metrics }

func (i interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		res, err := next(ctx, req)
		proc := req.Spec().Procedure
		i.m.connectDuration.WithLabelValues(proc).Observe(time.Since(start).Seconds())
		i.m.connectCalls.WithLabelValues(proc, codeLabel(err)).Inc()
		if err == nil && res != nil {
			i.m.observeSync(req.Any(), res.Any())
		}
		return res, err
	}
}

func (i interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		err := next(ctx, conn)
		i.m.connectCalls.WithLabelValues(conn.Spec().Procedure, codeLabel(err)).Inc()
		return err
	}
}

// codeLabel is "ok" or the Connect code's name ("invalid_argument", ...).
func codeLabel(err error) string {
	if err == nil {
		return "ok"
	}
	return connect.CodeOf(err).String()
}

// observeSync counts what a sync answer carried.
func (m *Metrics) observeSync(req, res any) {
	switch out := res.(type) {
	case *syncv1.PullResponse:
		m.pullRows.Add(float64(len(out.GetChanges())))
		m.pullBytes.Add(float64(proto.Size(out)))
		if out.GetReset_() {
			m.pullResets.Inc()
		}
	case *syncv1.PushResponse:
		for _, r := range out.GetResults() {
			switch {
			case r.GetStatus() == syncv1.MutationStatus_MUTATION_STATUS_REJECTED:
				m.mutations.WithLabelValues(OutcomeRejected, reasonLabel(r.GetReason())).Inc()
			case r.GetDuplicate():
				m.mutations.WithLabelValues(OutcomeDuplicate, "").Inc()
			default:
				m.mutations.WithLabelValues(OutcomeApplied, "").Inc()
			}
		}
		if in, ok := req.(*syncv1.PushRequest); ok && out.GetRetryLater() {
			if n := len(in.GetMutations()) - len(out.GetResults()); n > 0 {
				m.mutations.WithLabelValues(OutcomeRetryLater, "").Add(float64(n))
			}
		}
	}
}

// reasonLabel keeps the label set bounded: the server's reasons are
// snake_case words of its own; anything else is "other".
func reasonLabel(r string) string {
	if r == "" || len(r) > 48 {
		return "other"
	}
	for _, c := range r {
		if (c < 'a' || c > 'z') && c != '_' && (c < '0' || c > '9') {
			return "other"
		}
	}
	return r
}
