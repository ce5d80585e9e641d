package rpc

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

type syncHandler struct {
	syncv1connect.UnimplementedSyncServiceHandler
	s *Services
}

func (h *syncHandler) Pull(ctx context.Context, req *connect.Request[syncv1.PullRequest]) (*connect.Response[syncv1.PullResponse], error) {
	in := req.Msg
	if err := checkVersion(in.GetProtocolVersion()); err != nil {
		return nil, err
	}
	pr := social.PullRequest{
		Cursor: in.GetCursor(), Buckets: in.GetBuckets(), PageToken: in.GetPageToken(),
		PageSize: int(in.GetPageSize()), WantChecksums: in.GetWantChecksums(),
		Window: int(in.GetWindow()), BucketsDigest: in.GetBucketsDigest(),
	}
	if len(in.GetFloors()) > 0 {
		pr.Floors = make(map[string]int64, len(in.GetFloors()))
		for _, f := range in.GetFloors() {
			pr.Floors[f.GetBucket()] = f.GetFloor()
		}
	}
	page, err := h.s.svc.Pull(ctx, caller(ctx).UserID, pr)
	if err != nil {
		return nil, err
	}
	out := &syncv1.PullResponse{
		Changes:       make([]*syncv1.Change, len(page.Changes)),
		NextPageToken: page.NextPageToken,
		Checkpoint:    page.Checkpoint,
		Buckets:       page.Buckets,
		LostBuckets:   page.Lost,
		Reset_:        page.Reset,
		Total:         page.Total,
	}
	for i, c := range page.Changes {
		out.Changes[i] = change(c, in.GetTyped())
	}
	for _, w := range page.Windows {
		out.Windows = append(out.Windows, window(w))
	}
	for _, b := range page.Buckets {
		if sum, ok := page.Checksums[b]; ok {
			out.Checksums = append(out.Checksums, &syncv1.BucketChecksum{Bucket: b, Sum: sum.Sum, Count: sum.Count})
		}
	}
	return connect.NewResponse(out), nil
}

func change(c store.Change, typedData bool) *syncv1.Change {
	op := syncv1.Op_OP_UPSERT
	if c.Op == store.OpDelete {
		op = syncv1.Op_OP_DELETE
	}
	ch := &syncv1.Change{Seq: c.Seq, Bucket: c.Bucket, Entity: c.Entity, EntityId: c.EntityID, Op: op, Data: c.Data}
	if typedData && op == syncv1.Op_OP_UPSERT {
		if e, ok := typed(c.Entity, c.Data); ok {
			ch.Typed, ch.Data = e, nil
		}
	}
	return ch
}

func window(w social.Window) *syncv1.Window {
	return &syncv1.Window{Bucket: w.Bucket, Floor: w.Floor, Hidden: w.Hidden, HiddenUnread: w.HiddenUnread, ReadAt: w.ReadAt}
}

// History reads a chat bucket's messages below a replica's window floor.
func (h *syncHandler) History(ctx context.Context, req *connect.Request[syncv1.HistoryRequest]) (*connect.Response[syncv1.HistoryResponse], error) {
	in := req.Msg
	if err := checkVersion(in.GetProtocolVersion()); err != nil {
		return nil, err
	}
	page, err := h.s.svc.History(ctx, caller(ctx).UserID, in.GetBucket(), in.GetBeforeSeq(), int(in.GetLimit()))
	if err != nil {
		return nil, err
	}
	out := &syncv1.HistoryResponse{Changes: make([]*syncv1.Change, len(page.Changes)), Window: window(page.Window)}
	for i, c := range page.Changes {
		out.Changes[i] = change(c, false)
	}
	return connect.NewResponse(out), nil
}

func (h *syncHandler) Push(ctx context.Context, req *connect.Request[syncv1.PushRequest]) (*connect.Response[syncv1.PushResponse], error) {
	in := req.Msg
	if err := checkVersion(in.GetProtocolVersion()); err != nil {
		return nil, err
	}
	p := social.Push{ClientID: in.GetClientId(), Mutations: make([]social.PushedMutation, len(in.GetMutations()))}
	for i, m := range in.GetMutations() {
		fp, err := fingerprint(m)
		if err != nil {
			return nil, err
		}
		p.Mutations[i] = social.PushedMutation{ID: m.GetId(), Fingerprint: fp, Mutation: mutationOf(m)}
	}
	// Each mutation takes a token of the caller's write budget; those
	// beyond it stay on the client, told when to push them again.
	c := caller(ctx)
	var wait time.Duration
	for i := range p.Mutations {
		if d, ok := h.s.writes.Allow(c.UserID); !ok {
			if i == 0 {
				return nil, ratelimit.Err("rate_limited", d)
			}
			p.Mutations, wait = p.Mutations[:i], d
			break
		}
	}
	res, err := h.s.svc.ApplyPush(ctx, c, p)
	if err != nil {
		return nil, err
	}
	out := &syncv1.PushResponse{WriteCheckpoint: res.WriteCheckpoint, RetryLater: res.RetryLater || wait > 0}
	for i, o := range res.Results {
		r := &syncv1.MutationResult{Id: o.ID, Status: syncv1.MutationStatus_MUTATION_STATUS_APPLIED, Duplicate: o.Duplicate}
		if o.Err != nil {
			e := wireError(in.GetMutations()[i], o.Err)
			r.Status = syncv1.MutationStatus_MUTATION_STATUS_REJECTED
			r.Code, r.Reason, r.Message, r.Field = string(e.Code), e.Reason, e.Message, e.Field
		}
		out.Results = append(out.Results, r)
	}
	answer := connect.NewResponse(out)
	if wait > 0 {
		answer.Header().Set("Retry-After", ratelimit.RetryAfterSeconds(wait))
	}
	return answer, nil
}

// fingerprint identifies a mutation's content: SHA-256 of its
// deterministic protobuf encoding (the id included; unknown fields kept).
func fingerprint(m *syncv1.Mutation) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("rpc: fingerprint mutation %d: %w", m.GetId(), err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// Subscribe sends the caller's feed position at once and then whenever
// their buckets move; it carries positions, never data, so the client
// pulls. It ends when the client goes away or the server shuts down, and
// with UNAUTHENTICATED (reason token_revoked) once the login session it was
// opened with has ended: the live hub re-checks the sessions of open
// streams along with its WebSockets', every PresenceTTL/3.
func (h *syncHandler) Subscribe(ctx context.Context, req *connect.Request[syncv1.SubscribeRequest], stream *connect.ServerStream[syncv1.SubscribeResponse]) error {
	if err := checkVersion(req.Msg.GetProtocolVersion()); err != nil {
		return err
	}
	claims, _ := auth.FromContext(ctx)
	user := claims.UserID
	// Watch before reading the position, so nothing committed in between
	// is missed.
	moved, ended, stop := h.s.feed.Watch(user, claims.SessionID)
	defer stop()
	pos, err := h.s.svc.FeedPosition(ctx, user)
	if err != nil {
		return err
	}
	if err := stream.Send(&syncv1.SubscribeResponse{Position: pos}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil // the client went away
		case <-h.s.done:
			return nil // shutting down: the client reconnects
		case <-ended:
			// The session check names why (token_revoked, account_deleted).
			if err := h.s.svc.CheckSession(ctx, claims); apperr.Is(err, apperr.Unauthenticated) {
				return err
			}
			return apperr.Unauthenticatedf(syncv1.ReasonTokenRevoked, "This session has ended; log in again")
		case p, ok := <-moved:
			if !ok {
				return nil
			}
			if p <= pos {
				continue
			}
			pos = p
			if err := stream.Send(&syncv1.SubscribeResponse{Position: pos}); err != nil {
				return err
			}
		}
	}
}
