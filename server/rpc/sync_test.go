package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// harness is a running server and a sync client per user.
type harness struct {
	t   *testing.T
	env *servertest.Env
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, env: servertest.New(t)}
}

// sharedHarness is newHarness on the test binary's shared server
// (servertest.Shared), for tests that read only what their own users did.
func sharedHarness(t *testing.T) *harness {
	return &harness{t: t, env: servertest.Shared(t)}
}

// For is h for a subtest: the subtests of one test share their parent's
// server, each with users of its own (servertest.Env.For).
func (h *harness) For(t *testing.T) *harness {
	return &harness{t: t, env: h.env.For(t)}
}

func (h *harness) client(u servertest.User) syncv1connect.SyncServiceClient {
	return syncv1connect.NewSyncServiceClient(http.DefaultClient, h.env.URL, connect.WithInterceptors(bearer(u.Token)))
}

func bearer(token string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	}
}

// write runs fn in one server write transaction (to seed the feed).
func (h *harness) write(fn func(ctx context.Context, tx *store.Tx) error) {
	h.t.Helper()
	ctx := context.Background()
	if err := h.env.Server.DB().Write(ctx, func(tx *store.Tx) error { return fn(ctx, tx) }); err != nil {
		h.t.Fatalf("seed: %v", err)
	}
}

// chat creates a chat bucket with n message rows and the given members.
func (h *harness) chat(n int, members ...string) string {
	h.t.Helper()
	id := oid.New()
	h.write(func(ctx context.Context, tx *store.Tx) error {
		b := social.ChatBucket(id)
		if _, err := tx.Put(ctx, b, "chat", id, []byte(`{"_id":"`+id+`"}`)); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			mid := oid.New()
			if _, err := tx.Put(ctx, b, "message", mid, []byte(`{"_id":"`+mid+`"}`)); err != nil {
				return err
			}
		}
		for _, m := range members {
			if err := tx.AddBucketMember(ctx, b, m); err != nil {
				return err
			}
		}
		return nil
	})
	return id
}

// replica is a minimal test replica: rows per bucket, cursor, buckets held.
type replica struct {
	cursor  int64
	buckets []string
	rows    map[string]map[string]int64 // bucket → entity/id → seq
	data    map[string][]byte           // bucket NUL entity/id → data
}

func newReplica() *replica {
	return &replica{rows: map[string]map[string]int64{}, data: map[string][]byte{}}
}

// pull runs a whole pull in pages and applies it at the checkpoint.
func (r *replica) pull(t *testing.T, c syncv1connect.SyncServiceClient, pageSize int32) (pages []*syncv1.PullResponse) {
	t.Helper()
	var token []byte
	for {
		res, err := c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{
			ProtocolVersion: 1, Cursor: r.cursor, Buckets: r.buckets, PageToken: token, PageSize: pageSize, WantChecksums: true,
		}))
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		pages = append(pages, res.Msg)
		if len(res.Msg.NextPageToken) == 0 {
			break
		}
		token = res.Msg.NextPageToken
	}
	last := pages[len(pages)-1]
	if last.Reset_ {
		r.rows = map[string]map[string]int64{}
	}
	for _, p := range pages {
		for _, ch := range p.Changes {
			m := r.rows[ch.Bucket]
			if m == nil {
				m = map[string]int64{}
				r.rows[ch.Bucket] = m
			}
			key := ch.Entity + "/" + ch.EntityId
			if ch.Op == syncv1.Op_OP_DELETE {
				delete(m, key)
			} else {
				m[key] = ch.Seq
				r.data[ch.Bucket+"\x00"+key] = ch.Data
			}
		}
	}
	for _, b := range last.LostBuckets {
		delete(r.rows, b)
	}
	r.cursor, r.buckets = last.Checkpoint, last.Buckets
	for _, sum := range last.Checksums {
		if got := r.checksum(sum.Bucket); got != sum.Sum {
			t.Errorf("bucket %s: replica checksum %x, server %x", sum.Bucket, got, sum.Sum)
		}
	}
	return pages
}

// checksum is a bucket's checksum as docs/sync.md defines it: the sum mod
// 2^64 of FNV-1a 64 (entity NUL id NUL seq NUL data) over its rows, computed
// here from the definition rather than with the server's code.
func (r *replica) checksum(bucket string) uint64 {
	var sum uint64
	for key, seq := range r.rows[bucket] {
		entity, id, _ := strings.Cut(key, "/")
		h := uint64(14695981039346656037) // FNV-1a 64 offset basis
		for _, b := range []byte(entity + "\x00" + id + "\x00" + strconv.FormatInt(seq, 10) + "\x00" + string(r.data[bucket+"\x00"+key])) {
			h ^= uint64(b)
			h *= 1099511628211 // FNV-1a 64 prime
		}
		sum += h
	}
	return sum
}

func changesOf(pages []*syncv1.PullResponse) []*syncv1.Change {
	var out []*syncv1.Change
	for _, p := range pages {
		out = append(out, p.Changes...)
	}
	return out
}

func wantCode(t *testing.T, err error, code connect.Code, reason string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want connect code %v", err, code)
	}
	if ce.Code() != code {
		t.Fatalf("code %v (%v), want %v", ce.Code(), ce, code)
	}
	if reason != "" && ce.Meta().Get("vibesync-reason") != reason {
		t.Fatalf("reason %q, want %q (%v)", ce.Meta().Get("vibesync-reason"), reason, ce)
	}
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	amy := h.env.Register("Amy")
	c := h.client(amy)
	ctx := context.Background()

	t.Run("version_missing", func(t *testing.T) {
		_, err := c.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{}))
		wantCode(t, err, connect.CodeFailedPrecondition, "protocol_version_unsupported")
	})
	t.Run("version_too_new", func(t *testing.T) {
		_, err := c.Push(ctx, connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 2, ClientId: "aaaaaaaaaaaaaaaaaaaa"}))
		wantCode(t, err, connect.CodeFailedPrecondition, "protocol_version_unsupported")
		if !strings.Contains(err.Error(), "version 1") {
			t.Fatalf("message does not say which version the server speaks: %v", err)
		}
	})
	t.Run("no_token", func(t *testing.T) {
		anon := syncv1connect.NewSyncServiceClient(http.DefaultClient, h.env.URL)
		_, err := anon.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1}))
		wantCode(t, err, connect.CodeUnauthenticated, "token_missing")
	})
	t.Run("bad_token", func(t *testing.T) {
		_, err := h.client(servertest.User{Token: "nope"}).Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1}))
		wantCode(t, err, connect.CodeUnauthenticated, "token_invalid")
	})
	t.Run("bad_bucket", func(t *testing.T) {
		_, err := c.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Buckets: []string{"nope"}}))
		wantCode(t, err, connect.CodeInvalidArgument, "invalid_buckets")
	})
	t.Run("forged_page_token", func(t *testing.T) {
		_, err := c.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, PageToken: []byte("garbage")}))
		wantCode(t, err, connect.CodeInvalidArgument, "invalid_page_token")
		if ce := new(connect.Error); !errors.As(err, &ce) || !strings.HasPrefix(ce.Message(), "pageToken ") {
			t.Fatalf("message %v does not name the field as the request does", err)
		}
	})
	t.Run("page_size_out_of_range", func(t *testing.T) {
		_, err := c.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, PageSize: -1}))
		wantCode(t, err, connect.CodeInvalidArgument, "invalid_page_size")
		if ce := new(connect.Error); !errors.As(err, &ce) || !strings.HasPrefix(ce.Message(), "pageSize ") {
			t.Fatalf("message %v does not name the field as the request does", err)
		}
	})
	t.Run("reflection_and_grpc_over_h2c", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- h.env.Server.Serve(sctx, ln) }()
		defer func() { stop(); <-done }()
		var protocols http.Protocols
		protocols.SetUnencryptedHTTP2(true)
		h2c := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
		defer h2c.CloseIdleConnections() // before the server stops: it waits for open connections
		base := "http://" + ln.Addr().String()
		grpcClient := syncv1connect.NewSyncServiceClient(h2c, base, connect.WithGRPC(), connect.WithInterceptors(bearer(amy.Token)))
		if _, err := grpcClient.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1})); err != nil {
			t.Fatalf("gRPC pull over h2c: %v", err)
		}
		rc := grpcreflect.NewClient(h2c, base)
		stream := rc.NewStream(ctx)
		defer stream.Close()
		names, err := stream.ListServices()
		if err != nil {
			t.Fatalf("list services: %v", err)
		}
		found := false
		for _, n := range names {
			found = found || string(n) == "vibesync.sync.v1.SyncService"
		}
		if !found {
			t.Fatalf("reflection lists %v", names)
		}
	})
}

func TestPull(t *testing.T) {
	t.Parallel()
	shared := newHarness(t) // the subtests' server: each registers users of its own
	t.Run("initial_sync_reads_own_bucket", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		r := newReplica()
		ch := changesOf(r.pull(t, h.client(amy), 0))
		if len(ch) != 1 || ch[0].Entity != "user" || ch[0].EntityId != amy.ID || ch[0].Bucket != "user:"+amy.ID {
			t.Fatalf("initial pull: %v", ch)
		}
		if !strings.Contains(string(ch[0].Data), `"_id":"`+amy.ID+`"`) {
			t.Fatalf("user data %s", ch[0].Data)
		}
		if len(r.buckets) != 1 || r.buckets[0] != "user:"+amy.ID {
			t.Fatalf("buckets %v", r.buckets)
		}
	})
	t.Run("incremental_pull_reads_only_new_changes", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		if ch := changesOf(r.pull(t, h.client(amy), 0)); len(ch) != 0 {
			t.Fatalf("second pull with nothing new: %v", ch)
		}
		h.env.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "hi"}).Want(200)
		ch := changesOf(r.pull(t, h.client(amy), 0))
		if len(ch) != 1 || !strings.Contains(string(ch[0].Data), `"bio":"hi"`) {
			t.Fatalf("incremental pull: %v", ch)
		}
	})
	t.Run("other_users_buckets_are_invisible", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		h.chat(3, bob.ID)
		r := newReplica()
		r.buckets = []string{"user:" + bob.ID} // claims to hold Bob's bucket
		pages := r.pull(t, h.client(amy), 0)
		for _, ch := range changesOf(pages) {
			if ch.Bucket != "user:"+amy.ID {
				t.Fatalf("amy read %s", ch.Bucket)
			}
		}
		if lost := pages[len(pages)-1].LostBuckets; len(lost) != 1 || lost[0] != "user:"+bob.ID {
			t.Fatalf("lost %v", lost)
		}
	})
	t.Run("new_bucket_is_read_from_zero", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		chat := h.chat(5, bob.ID)
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		h.env.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "later"}).Want(200)
		// Amy joins a chat whose rows are all older than her cursor.
		h.write(func(ctx context.Context, tx *store.Tx) error {
			return tx.AddBucketMember(ctx, social.ChatBucket(chat), amy.ID)
		})
		ch := changesOf(r.pull(t, h.client(amy), 2))
		n := 0
		for _, c := range ch {
			if c.Bucket == social.ChatBucket(chat) {
				n++
			}
		}
		if n != 6 {
			t.Fatalf("new bucket gave %d rows, want the chat and 5 messages: %v", n, ch)
		}
		if len(r.rows[social.ChatBucket(chat)]) != 6 {
			t.Fatalf("replica has %d rows of the chat", len(r.rows[social.ChatBucket(chat)]))
		}
	})
	t.Run("lost_bucket_is_reported", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		chat := h.chat(2, amy.ID)
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		if len(r.rows[social.ChatBucket(chat)]) != 3 {
			t.Fatalf("chat rows %v", r.rows)
		}
		h.write(func(ctx context.Context, tx *store.Tx) error {
			return tx.RemoveBucketMember(ctx, social.ChatBucket(chat), amy.ID)
		})
		// Writes to the chat after she left never reach her.
		h.write(func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Put(ctx, social.ChatBucket(chat), "message", oid.New(), []byte(`{}`))
			return err
		})
		pages := r.pull(t, h.client(amy), 0)
		if ch := changesOf(pages); len(ch) != 0 {
			t.Fatalf("read a lost bucket: %v", ch)
		}
		if lost := pages[len(pages)-1].LostBuckets; len(lost) != 1 || lost[0] != social.ChatBucket(chat) {
			t.Fatalf("lost %v", lost)
		}
		if len(r.buckets) != 1 || len(r.rows[social.ChatBucket(chat)]) != 0 {
			t.Fatalf("replica still holds the chat: %v %v", r.buckets, r.rows)
		}
	})
	t.Run("pages_end_at_a_checkpoint", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		h.chat(9, amy.ID)
		r := newReplica()
		pages := r.pull(t, h.client(amy), 3)
		if len(pages) != 4 { // 11 rows: 3+3+3+2
			t.Fatalf("%d pages", len(pages))
		}
		// Within a bucket, changes come in seq order (buckets new to the
		// replica come one after another).
		var prev int64
		last := map[string]int64{}
		for i, p := range pages {
			final := i == len(pages)-1
			if final != (p.Checkpoint != 0) || final != (len(p.NextPageToken) == 0) {
				t.Fatalf("page %d: checkpoint %d, token %q", i, p.Checkpoint, p.NextPageToken)
			}
			for _, c := range p.Changes {
				if c.Seq <= last[c.Bucket] {
					t.Fatalf("%s: seq %d after %d", c.Bucket, c.Seq, last[c.Bucket])
				}
				last[c.Bucket] = c.Seq
				prev = max(prev, c.Seq)
			}
		}
		if r.cursor < prev {
			t.Fatalf("checkpoint %d before the last change %d", r.cursor, prev)
		}
	})
	t.Run("bucket_joined_mid_pull_waits_for_the_next_pull", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		h.chat(4, amy.ID)
		late := h.chat(4, bob.ID)
		c := h.client(amy)
		first, err := c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, PageSize: 2}))
		if err != nil {
			t.Fatal(err)
		}
		h.write(func(ctx context.Context, tx *store.Tx) error {
			return tx.AddBucketMember(ctx, social.ChatBucket(late), amy.ID)
		})
		token := first.Msg.NextPageToken
		var last *syncv1.PullResponse
		for len(token) > 0 {
			res, err := c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, PageSize: 2, PageToken: token}))
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range res.Msg.Changes {
				if ch.Bucket == social.ChatBucket(late) {
					t.Fatalf("half of a bucket joined mid-pull: %v", ch)
				}
			}
			token, last = res.Msg.NextPageToken, res.Msg
		}
		for _, b := range last.Buckets {
			if b == social.ChatBucket(late) {
				t.Fatalf("checkpoint claims the late bucket: %v", last.Buckets)
			}
		}
	})
	t.Run("cursor_older_than_tombstone_window_resets", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		chat := h.chat(3, amy.ID)
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		// A message is deleted, and its tombstone pruned before Amy pulls.
		var gone string
		for key := range r.rows[social.ChatBucket(chat)] {
			if strings.HasPrefix(key, "message/") {
				gone = strings.TrimPrefix(key, "message/")
				break
			}
		}
		h.write(func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.Tombstone(ctx, social.ChatBucket(chat), "message", gone)
			return err
		})
		h.env.Clock.Advance(time.Minute)
		if err := h.env.Server.Social().PruneFeed(context.Background(), 30*time.Second); err != nil {
			t.Fatal(err)
		}
		pages := r.pull(t, h.client(amy), 0)
		if !pages[0].Reset_ {
			t.Fatal("no reset for a cursor older than the tombstone window")
		}
		if _, ok := r.rows[social.ChatBucket(chat)]["message/"+gone]; ok {
			t.Fatal("the deleted message survived the reset")
		}
		if len(r.rows[social.ChatBucket(chat)]) != 3 {
			t.Fatalf("after reset the chat has %d rows, want 3", len(r.rows[social.ChatBucket(chat)]))
		}
		if pages := r.pull(t, h.client(amy), 0); pages[0].Reset_ {
			t.Fatal("reset again after catching up")
		}
	})
	t.Run("checksums_match_the_replica", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		chat := h.chat(4, amy.ID)
		r := newReplica()
		pages := r.pull(t, h.client(amy), 2) // pull verifies every checksum
		sums := pages[len(pages)-1].Checksums
		if len(sums) != 2 {
			t.Fatalf("checksums %v", sums)
		}
		// A drifted replica is detected.
		for key := range r.rows[social.ChatBucket(chat)] {
			delete(r.rows[social.ChatBucket(chat)], key)
			break
		}
		for _, s := range sums {
			if s.Bucket == social.ChatBucket(chat) && r.checksum(s.Bucket) == s.Sum {
				t.Fatal("checksum does not see a missing row")
			}
		}
	})
}

func push(t *testing.T, c syncv1connect.SyncServiceClient, clientID string, ms ...*syncv1.Mutation) *syncv1.PushResponse {
	t.Helper()
	res, err := c.Push(context.Background(), connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 1, ClientId: clientID, Mutations: ms}))
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	return res.Msg
}

func bio(id int64, text string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_UpdateProfile{UpdateProfile: &syncv1.UpdateProfile{Bio: &text}}}
}

func username(id int64, name string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_UpdateProfile{UpdateProfile: &syncv1.UpdateProfile{Username: &name}}}
}

const clientA = "client-aaaaaaaaaaaaaaaa"

func TestPush(t *testing.T) {
	t.Parallel()
	shared := newHarness(t) // the subtests' server: each registers users of its own
	t.Run("applies_and_answers_write_checkpoint", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		c := h.client(amy)
		res := push(t, c, clientA, bio(1, "hello"))
		if len(res.Results) != 1 || res.Results[0].Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("results %v", res.Results)
		}
		r := newReplica()
		r.pull(t, c, 0)
		if r.cursor < res.WriteCheckpoint {
			t.Fatalf("pull checkpoint %d before write checkpoint %d", r.cursor, res.WriteCheckpoint)
		}
		if me := meOf(h, amy); me["bio"] != "hello" {
			t.Fatalf("me %v", me)
		}
	})
	t.Run("retried_push_never_applies_twice", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		c := h.client(amy)
		first := push(t, c, clientA, bio(1, "one"))
		h.env.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "changed by REST"}).Want(200)
		again := push(t, c, clientA, bio(1, "one"), bio(2, "two"))
		if !again.Results[0].Duplicate || again.Results[0].Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("retry %v", again.Results[0])
		}
		if again.Results[1].Duplicate {
			t.Fatalf("new mutation flagged duplicate")
		}
		if first.Results[0].Duplicate {
			t.Fatal("first push flagged duplicate")
		}
		if me := meOf(h, amy); me["bio"] != "two" {
			t.Fatalf("me %v", me)
		}
		// Retrying mutation 1 alone after 2 changes nothing.
		push(t, c, clientA, bio(1, "one"))
		if me := meOf(h, amy); me["bio"] != "two" {
			t.Fatalf("retry applied again: %v", me)
		}
	})
	t.Run("permanent_failure_is_recorded_and_does_not_block", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		c := h.client(amy)
		res := push(t, c, clientA, username(1, bob.Username), bio(2, "after"))
		r0 := res.Results[0]
		if r0.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r0.Code != "conflict" || r0.Message == "" {
			t.Fatalf("rejection %v", r0)
		}
		if res.Results[1].Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("mutation behind the rejected one: %v", res.Results[1])
		}
		// Bob frees the name; the retried mutation 1 still answers its recorded rejection.
		h.env.Do("PATCH", "/users/me", bob.Token, map[string]string{"username": "someone.else"}).Want(200)
		again := push(t, c, clientA, username(1, bob.Username))
		if a := again.Results[0]; !a.Duplicate || a.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || a.Reason != r0.Reason {
			t.Fatalf("retry %v, first %v", a, r0)
		}
		if me := meOf(h, amy); me["username"] == bob.Username {
			t.Fatal("a rejected mutation was applied on retry")
		}
	})
	t.Run("invalid_input_is_rejected_with_field", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		res := push(t, h.client(amy), clientA, username(1, "x"))
		if r := res.Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Code != "invalid" || r.Field != "username" {
			t.Fatalf("result %v", r)
		}
	})
	t.Run("rejections_name_the_mutations_own_fields", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		res := push(t, h.client(amy), clientA,
			&syncv1.Mutation{Id: 1, Kind: &syncv1.Mutation_CreateConnection{CreateConnection: &syncv1.CreateConnection{UserId: "nope"}}},
			&syncv1.Mutation{Id: 2, Kind: &syncv1.Mutation_AcceptConnection{AcceptConnection: &syncv1.AcceptConnection{UserId: amy.ID}}})
		if r := res.Results[0]; r.Field != "userId" || r.Reason != "invalid_user_id" || !strings.HasPrefix(r.Message, "userId ") {
			t.Fatalf("bad user id: %v", r)
		}
		if r := res.Results[1]; r.Reason != "self_reference" || !strings.HasPrefix(r.Message, "userId ") {
			t.Fatalf("own id: %v", r)
		}
		// Every malformed id is named after the mutation's own field.
		for i, c := range []struct {
			m     *syncv1.Mutation
			field string
		}{
			{&syncv1.Mutation{Kind: &syncv1.Mutation_MarkRead{MarkRead: &syncv1.MarkRead{ChatId: "../x"}}}, "chatId"},
			{&syncv1.Mutation{Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{ChatId: "zz", Name: "G", Group: true, Category: "Study"}}}, "chatId"},
			{&syncv1.Mutation{Kind: &syncv1.Mutation_Follow{Follow: &syncv1.FollowUser{UserId: "zz"}}}, "userId"},
			{&syncv1.Mutation{Kind: &syncv1.Mutation_RemoveConnection{RemoveConnection: &syncv1.RemoveConnection{ConnectionId: "zz"}}}, "connectionId"},
			{&syncv1.Mutation{Kind: &syncv1.Mutation_RejectJoinRequest{RejectJoinRequest: &syncv1.RejectJoinRequest{RequestId: "zz"}}}, "requestId"},
			{&syncv1.Mutation{Kind: &syncv1.Mutation_ReactToReel{ReactToReel: &syncv1.ReactToReel{ReelId: "zz", Reaction: "like"}}}, "reelId"},
			{&syncv1.Mutation{Kind: &syncv1.Mutation_MarkNotificationRead{MarkNotificationRead: &syncv1.MarkNotificationRead{NotificationId: "zz"}}}, "notificationId"},
		} {
			c.m.Id = int64(10 + i)
			res := push(t, h.client(amy), clientA, c.m)
			want := map[string]string{"chatId": "invalid_chat_id", "userId": "invalid_user_id", "connectionId": "invalid_connection_id",
				"requestId": "invalid_request_id", "reelId": "invalid_reel_id", "notificationId": "invalid_notification_id"}[c.field]
			if r := res.Results[0]; r.Field != c.field || r.Reason != want || !strings.HasPrefix(r.Message, c.field+" ") {
				t.Errorf("%T: field %q, reason %q, message %q; want %s", c.m.GetKind(), r.Field, r.Reason, r.Message, c.field)
			}
		}
	})
	t.Run("unimplemented_mutation_is_rejected", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		// A kind this server does not know (field 99 of Mutation, as a
		// newer client would send it) is rejected and blocks nothing.
		newer := &syncv1.Mutation{Id: 1}
		newer.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 99, protowire.BytesType), []byte{}))
		res := push(t, h.client(amy), clientA, newer, bio(2, "x"))
		if r := res.Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Code != "unimplemented" {
			t.Fatalf("result %v", r)
		}
		if res.Results[1].Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("result %v", res.Results[1])
		}
	})
	t.Run("client_id_of_another_user", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		push(t, h.client(amy), clientA, bio(1, "x"))
		r := push(t, h.client(bob), clientA, bio(2, "y")).Results[0]
		if r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED || r.Duplicate {
			t.Fatalf("bob's push with amy's client id: %v", r)
		}
		if me := meOf(h, bob); me["bio"] != "y" {
			t.Fatalf("bob's bio %v", me["bio"])
		}
	})
	t.Run("ids_must_increase", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		_, err := h.client(amy).Push(context.Background(), connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 1, ClientId: clientA,
			Mutations: []*syncv1.Mutation{bio(2, "x"), bio(2, "y")}}))
		wantCode(t, err, connect.CodeInvalidArgument, "invalid_mutations")
	})
	t.Run("bad_client_id", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		_, err := h.client(amy).Push(context.Background(), connect.NewRequest(&syncv1.PushRequest{ProtocolVersion: 1, ClientId: "short"}))
		wantCode(t, err, connect.CodeInvalidArgument, "invalid_client_id")
	})
}

func meOf(h *harness, u servertest.User) map[string]any {
	var body struct {
		User map[string]any `json:"user"`
	}
	h.env.Do("GET", "/users/me", u.Token, nil).Want(200).Decode(&body)
	return body.User
}

func ptr[T any](v T) *T { return &v }

func TestSubscribe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := connect.NewRequest(&syncv1.SubscribeRequest{ProtocolVersion: 1})
	req.Header().Set("Authorization", "Bearer "+amy.Token)
	stream, err := h.client(amy).Subscribe(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() {
		t.Fatalf("no first position: %v", stream.Err())
	}
	first := stream.Msg().Position
	if first == 0 {
		t.Fatal("first position is 0 although Amy's bucket has her profile")
	}
	// Bob's write does not concern Amy; hers does.
	h.env.Do("PATCH", "/users/me", bob.Token, map[string]string{"bio": "bob"}).Want(200)
	h.env.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "amy"}).Want(200)
	if !stream.Receive() {
		t.Fatalf("no position after a write: %v", stream.Err())
	}
	var head int64
	h.write(func(ctx context.Context, tx *store.Tx) (err error) { head, err = tx.FeedHead(ctx); return err })
	if got := stream.Msg().Position; got != head {
		t.Fatalf("position %d, want Amy's latest change %d", got, head)
	}
	t.Run("version_checked", func(t *testing.T) {
		req := connect.NewRequest(&syncv1.SubscribeRequest{})
		req.Header().Set("Authorization", "Bearer "+amy.Token)
		s, err := h.client(amy).Subscribe(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Receive() {
			t.Fatal("stream opened without a protocol version")
		}
		wantCode(t, s.Err(), connect.CodeFailedPrecondition, "protocol_version_unsupported")
	})
}

func connectTo(id int64, user string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_CreateConnection{CreateConnection: &syncv1.CreateConnection{UserId: user, Message: "hi"}}}
}

func acceptFrom(id int64, user string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_AcceptConnection{AcceptConnection: &syncv1.AcceptConnection{UserId: user}}}
}

func deleteWith(id int64, user string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_DeleteConnection{DeleteConnection: &syncv1.DeleteConnection{UserId: user}}}
}

const clientB = "client-bbbbbbbbbbbbbbbb"

func TestPushConnections(t *testing.T) {
	t.Parallel()
	shared := sharedHarness(t) // the subtests' server: each registers users of its own
	t.Run("request_and_accept_replicate_to_both", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		if r := push(t, h.client(amy), clientA, connectTo(1, bob.ID)).Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("request: %v", r)
		}
		rb := newReplica()
		var conn *syncv1.Change
		for _, ch := range changesOf(rb.pull(t, h.client(bob), 0)) {
			if ch.Entity == "connection" {
				conn = ch
			}
		}
		if conn == nil || !strings.Contains(string(conn.Data), `"status":"pending"`) {
			t.Fatalf("bob's replica lacks the pending request: %v", conn)
		}
		if r := push(t, h.client(bob), clientB, acceptFrom(1, amy.ID)).Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("accept: %v", r)
		}
		ra := newReplica()
		var accepted bool
		for _, ch := range changesOf(ra.pull(t, h.client(amy), 0)) {
			accepted = accepted || ch.Entity == "connection" && strings.Contains(string(ch.Data), `"status":"accepted"`)
		}
		if !accepted {
			t.Fatal("amy's replica does not show the accepted connection")
		}
		var list struct {
			Connections []map[string]any `json:"connections"`
		}
		h.env.Do("GET", "/connections", amy.Token, nil).Want(200).Decode(&list)
		if len(list.Connections) != 1 || list.Connections[0]["status"] != "accepted" {
			t.Fatalf("REST sees %v", list.Connections)
		}
	})
	t.Run("accept_racing_cancel", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		push(t, h.client(amy), clientA, connectTo(1, bob.ID))
		// Amy cancels while Bob, offline, accepts; Amy's push lands first.
		push(t, h.client(amy), clientA, deleteWith(2, bob.ID))
		r := push(t, h.client(bob), clientB, acceptFrom(1, amy.ID)).Results[0]
		if r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Code != "not_found" {
			t.Fatalf("accept after cancel: %v", r)
		}
		rb := newReplica()
		for _, ch := range changesOf(rb.pull(t, h.client(bob), 0)) {
			if ch.Entity == "connection" && ch.Op == syncv1.Op_OP_UPSERT {
				t.Fatalf("cancelled request still replicated: %s", ch.Data)
			}
		}
	})
	t.Run("delete_removes_an_accepted_connection", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		push(t, h.client(amy), clientA, connectTo(1, bob.ID))
		push(t, h.client(bob), clientB, acceptFrom(1, amy.ID))
		if r := push(t, h.client(amy), clientA, deleteWith(2, bob.ID)).Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("delete: %v", r)
		}
		var list struct {
			Connections []map[string]any `json:"connections"`
		}
		h.env.Do("GET", "/connections", bob.Token, nil).Want(200).Decode(&list)
		if len(list.Connections) != 0 {
			t.Fatalf("connection survived: %v", list.Connections)
		}
	})
	t.Run("rejected_request_leaves_nothing_behind", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		r := push(t, h.client(amy), clientA, connectTo(1, amy.ID)).Results[0]
		if r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Code != "invalid" {
			t.Fatalf("request to self: %v", r)
		}
	})
}

func TestPullTyped(t *testing.T) {
	t.Parallel()
	h := sharedHarness(t)
	amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
	push(t, h.client(amy), clientA, connectTo(1, bob.ID))
	res, err := h.client(amy).Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Typed: true}))
	if err != nil {
		t.Fatal(err)
	}
	var user *syncv1.User
	var conn *syncv1.Connection
	fields := (&syncv1.Entity{}).ProtoReflect().Descriptor().Fields()
	for _, ch := range res.Msg.Changes {
		if ch.Typed == nil {
			if fields.ByName(protoreflect.Name(ch.Entity)) != nil {
				t.Errorf("%s %s was not typed: %s", ch.Entity, ch.EntityId, ch.Data)
			}
			continue
		}
		if len(ch.Data) != 0 {
			t.Errorf("%s carries both typed and JSON forms", ch.Entity)
		}
		if u := ch.Typed.GetUser(); u.GetId() == amy.ID {
			user = u
		}
		if c := ch.Typed.GetConnection(); c != nil {
			conn = c
		}
	}
	if user.GetId() != amy.ID || user.GetName() != "Amy" {
		t.Fatalf("typed user %v", user)
	}
	if conn.GetFrom().GetId() != amy.ID || conn.GetTo().GetId() != bob.ID || conn.GetStatus() != "pending" || conn.GetCreatedAt().AsTime().IsZero() {
		t.Fatalf("typed connection %v", conn)
	}
	t.Run("notification", func(t *testing.T) {
		res, err := h.client(bob).Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Typed: true}))
		if err != nil {
			t.Fatal(err)
		}
		var n *syncv1.Notification
		for _, ch := range res.Msg.Changes {
			if ch.Typed.GetNotification() != nil {
				n = ch.Typed.GetNotification()
			}
		}
		if n.GetType() != "connection-request" || n.GetActor() != amy.ID || n.GetUser() != bob.ID {
			t.Fatalf("typed notification %v", n)
		}
	})
	t.Run("untyped_by_default", func(t *testing.T) {
		res, err := h.client(amy).Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1}))
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range res.Msg.Changes {
			if ch.Typed != nil || (ch.Op == syncv1.Op_OP_UPSERT && len(ch.Data) == 0) {
				t.Fatalf("change %v", ch)
			}
		}
	})
}

func TestSubscribeEndsOnShutdown(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy := env.Register("Amy")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- env.Server.Serve(ctx, ln) }()
	c := syncv1connect.NewSyncServiceClient(http.DefaultClient, "http://"+ln.Addr().String())
	req := connect.NewRequest(&syncv1.SubscribeRequest{ProtocolVersion: 1})
	req.Header().Set("Authorization", "Bearer "+amy.Token)
	stream, err := c.Subscribe(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() {
		t.Fatalf("no first position: %v", stream.Err())
	}
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown waits for the open Subscribe stream")
	}
	if stream.Receive() {
		t.Fatal("stream still delivering after shutdown")
	}
}

func createGroup(id int64, name string, members ...string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{Group: true, Name: name, Category: "Outdoors", ParticipantIds: members}}}
}

func send(id int64, chat, msgID, text string) *syncv1.Mutation {
	return &syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_SendMessage{SendMessage: &syncv1.SendMessage{ChatId: chat, MessageId: msgID, Text: text}}}
}

func wantApplied(t *testing.T, res *syncv1.PushResponse) {
	t.Helper()
	for _, r := range res.Results {
		if r.Status != syncv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("mutation %d: %v", r.Id, r)
		}
	}
}

// chatOf finds the id of the chat entity among changes.
func chatOf(t *testing.T, changes []*syncv1.Change) string {
	t.Helper()
	for _, ch := range changes {
		if ch.Entity == "chat" && ch.Op == syncv1.Op_OP_UPSERT {
			return ch.EntityId
		}
	}
	t.Fatalf("no chat among %d changes", len(changes))
	return ""
}

func TestPushChats(t *testing.T) {
	t.Parallel()
	shared := sharedHarness(t) // the subtests' server: each registers users of its own
	setup := func(t *testing.T) (*harness, servertest.User, servertest.User, string) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		follow := &syncv1.Mutation{Id: 1, Kind: &syncv1.Mutation_Follow{Follow: &syncv1.FollowUser{UserId: bob.ID}}}
		wantApplied(t, push(t, h.client(amy), clientA, follow, createGroup(2, "Hikers", bob.ID)))
		ra := newReplica()
		return h, amy, bob, chatOf(t, changesOf(ra.pull(t, h.client(amy), 0)))
	}
	t.Run("group_replicates_to_its_members", func(t *testing.T) {
		h, amy, bob, chat := setup(t)
		msgID := oid.New()
		wantApplied(t, push(t, h.client(amy), clientA, send(3, chat, msgID, "trail at 9?")))
		rb := newReplica()
		changes := changesOf(rb.pull(t, h.client(bob), 0))
		var gotMsg, gotMembership bool
		for _, ch := range changes {
			gotMsg = gotMsg || ch.Entity == "message" && ch.EntityId == msgID && strings.Contains(string(ch.Data), "trail at 9?")
			gotMembership = gotMembership || ch.Entity == "membership" && ch.Bucket == "user:"+bob.ID
		}
		if !gotMsg || !gotMembership {
			t.Fatalf("bob's pull: message %v, membership %v", gotMsg, gotMembership)
		}
		if !slices.Contains(rb.buckets, social.ChatBucket(chat)) {
			t.Fatalf("bob does not hold the chat: %v", rb.buckets)
		}
	})
	t.Run("two_admins_removing_each_other", func(t *testing.T) {
		h, amy, bob, chat := setup(t)
		wantApplied(t, push(t, h.client(amy), clientA, &syncv1.Mutation{Id: 3, Kind: &syncv1.Mutation_GrantAdmin{GrantAdmin: &syncv1.GrantAdmin{ChatId: chat, UserId: bob.ID}}}))
		rb := newReplica()
		rb.pull(t, h.client(bob), 0)
		// Both, offline, remove the other; Amy's push lands first.
		wantApplied(t, push(t, h.client(amy), clientA, &syncv1.Mutation{Id: 4, Kind: &syncv1.Mutation_RemoveParticipant{RemoveParticipant: &syncv1.RemoveParticipant{ChatId: chat, UserId: bob.ID}}}))
		res := push(t, h.client(bob), clientB, &syncv1.Mutation{Id: 1, Kind: &syncv1.Mutation_RemoveParticipant{RemoveParticipant: &syncv1.RemoveParticipant{ChatId: chat, UserId: amy.ID}}})
		if r := res.Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED {
			t.Fatalf("bob removing amy after being removed: %v", r)
		}
		pages := rb.pull(t, h.client(bob), 0)
		if lost := pages[len(pages)-1].LostBuckets; !slices.Contains(lost, social.ChatBucket(chat)) {
			t.Fatalf("bob's pull does not report the chat lost: %v", lost)
		}
	})
	t.Run("message_to_a_chat_one_was_just_removed_from", func(t *testing.T) {
		h, amy, bob, chat := setup(t)
		wantApplied(t, push(t, h.client(amy), clientA, &syncv1.Mutation{Id: 3, Kind: &syncv1.Mutation_RemoveParticipant{RemoveParticipant: &syncv1.RemoveParticipant{ChatId: chat, UserId: bob.ID}}}))
		msgID := oid.New()
		res := push(t, h.client(bob), clientB, send(1, chat, msgID, "still here?"))
		if r := res.Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Message == "" {
			t.Fatalf("message after removal: %v", r)
		}
		ra := newReplica()
		for _, ch := range changesOf(ra.pull(t, h.client(amy), 0)) {
			if ch.EntityId == msgID {
				t.Fatal("the rejected message reached the chat")
			}
		}
	})
	t.Run("group_settings_at_creation", func(t *testing.T) {
		h, amy, bob, _ := setup(t)
		chat := oid.New()
		starts := time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)
		yes, no := true, false
		wantApplied(t, push(t, h.client(amy), clientA, &syncv1.Mutation{Id: 3, Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{
			ChatId: chat, Group: true, Name: "Summit day", Category: "Event", ParticipantIds: []string{bob.ID},
			Restricted: &yes, AllowPublicPost: &no,
			Tags:  []*syncv1.Tag{{Tag: "gear", Label: "Gear"}},
			Event: &syncv1.NewChatEvent{StartsAt: timestamppb.New(starts), EndsAt: timestamppb.New(starts.Add(8 * time.Hour)), Location: "Trailhead"},
		}}}))
		var got struct {
			Restricted      bool         `json:"restricted"`
			AllowPublicPost bool         `json:"allowPublicPost"`
			Tags            []social.Tag `json:"tags"`
			Event           *struct {
				StartsAt string `json:"startsAt"`
				EndsAt   string `json:"endsAt"`
				Location string `json:"location"`
			} `json:"event"`
		}
		found := false
		for _, ch := range changesOf(newReplica().pull(t, h.client(bob), 0)) {
			if ch.Entity == "chat" && ch.EntityId == chat && ch.Op == syncv1.Op_OP_UPSERT {
				found = true
				if err := json.Unmarshal(ch.Data, &got); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !found {
			t.Fatal("bob's pull has no chat")
		}
		if !got.Restricted || got.AllowPublicPost || len(got.Tags) != 1 || got.Tags[0] != (social.Tag{Tag: "gear", Label: "Gear"}) ||
			got.Event == nil || got.Event.StartsAt != "2030-05-01T09:00:00.000Z" || got.Event.EndsAt != "2030-05-01T17:00:00.000Z" || got.Event.Location != "Trailhead" {
			t.Fatalf("chat as bob pulls it: %+v event %+v", got, got.Event)
		}
	})
	t.Run("event_group_may_come_without_its_event_but_not_half_of_one", func(t *testing.T) {
		h, amy, bob, _ := setup(t)
		// As POST /chats: the spec's example creates an Event chat with no event.
		wantApplied(t, push(t, h.client(amy), clientA, &syncv1.Mutation{Id: 3, Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{
			Group: true, Name: "Summit day", Category: "Event", ParticipantIds: []string{bob.ID}}}}))
		res := push(t, h.client(amy), clientA, &syncv1.Mutation{Id: 4, Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{
			Group: true, Name: "Summit day", Category: "Event", ParticipantIds: []string{bob.ID},
			Event: &syncv1.NewChatEvent{StartsAt: timestamppb.New(time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC))}}}})
		if r := res.Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Field != "event" {
			t.Fatalf("event without its end: %v", r)
		}
	})
	t.Run("message_with_files_and_tag", func(t *testing.T) {
		h, amy, bob, _ := setup(t)
		chat, msgID := oid.New(), oid.New()
		wantApplied(t, push(t, h.client(amy), clientA,
			&syncv1.Mutation{Id: 3, Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{
				ChatId: chat, Group: true, Name: "Gear swap", Category: "Outdoors", ParticipantIds: []string{bob.ID},
				Tags: []*syncv1.Tag{{Tag: "gear", Label: "Gear"}}}}},
			&syncv1.Mutation{Id: 4, Kind: &syncv1.Mutation_SendMessage{SendMessage: &syncv1.SendMessage{
				ChatId: chat, MessageId: msgID, Tag: "gear",
				Files: []*syncv1.NewFile{{Url: "https://cdn.example.com/tent.jpg", Cover: "https://cdn.example.com/tent-small.jpg", MetaJson: `{"fileName":"tent.jpg"}`}}}}}))
		var got struct {
			Text  string `json:"text"`
			Tag   string `json:"tag"`
			Files []struct {
				URL   string          `json:"url"`
				Cover string          `json:"cover"`
				Meta  json.RawMessage `json:"meta"`
			} `json:"files"`
		}
		found := false
		for _, ch := range changesOf(newReplica().pull(t, h.client(bob), 0)) {
			if ch.Entity == "message" && ch.EntityId == msgID {
				found = true
				if err := json.Unmarshal(ch.Data, &got); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !found || got.Text != "" || got.Tag != "gear" || len(got.Files) != 1 || got.Files[0].URL != "https://cdn.example.com/tent.jpg" ||
			got.Files[0].Cover != "https://cdn.example.com/tent-small.jpg" || string(got.Files[0].Meta) != `{"fileName":"tent.jpg"}` {
			t.Fatalf("message as bob pulls it (found %v): %+v", found, got)
		}
		for i, bad := range []struct {
			field string
			sm    *syncv1.SendMessage
		}{
			{"tag", &syncv1.SendMessage{ChatId: chat, Tag: "food", Text: "not a tag of the chat"}},
			{"files.meta", &syncv1.SendMessage{ChatId: chat, Files: []*syncv1.NewFile{{Url: "https://cdn.example.com/a.jpg", MetaJson: "{not json"}}}},
			{"files.url", &syncv1.SendMessage{ChatId: chat, Files: []*syncv1.NewFile{{Url: "ftp://cdn.example.com/a.jpg"}}}},
		} {
			res := push(t, h.client(amy), clientA, &syncv1.Mutation{Id: int64(5 + i), Kind: &syncv1.Mutation_SendMessage{SendMessage: bad.sm}})
			if r := res.Results[0]; r.Status != syncv1.MutationStatus_MUTATION_STATUS_REJECTED || r.Code != "invalid" || r.Field != bad.field {
				t.Fatalf("bad message %d: %v", i, r)
			}
		}
	})
	t.Run("mark_read_and_leave", func(t *testing.T) {
		h, _, bob, chat := setup(t)
		wantApplied(t, push(t, h.client(bob), clientB,
			&syncv1.Mutation{Id: 1, Kind: &syncv1.Mutation_MarkRead{MarkRead: &syncv1.MarkRead{ChatId: chat}}},
			&syncv1.Mutation{Id: 2, Kind: &syncv1.Mutation_LeaveChat{LeaveChat: &syncv1.LeaveChat{ChatId: chat}}}))
		rb := newReplica()
		for _, ch := range changesOf(rb.pull(t, h.client(bob), 0)) {
			if ch.Bucket == social.ChatBucket(chat) {
				t.Fatalf("bob still reads the chat he left: %v", ch)
			}
		}
	})
}

// Subscribe rides the live hub's tail of the database, so a write made
// through another server process on the same database wakes it too.
func TestSubscribeSeesWritesOfAnotherInstance(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := servertest.Start(t, dir)
	b := servertest.Start(t, dir)
	amy := a.Register("Amy")
	c := syncv1connect.NewSyncServiceClient(a.HTTP.Client(), a.URL)
	req := connect.NewRequest(&syncv1.SubscribeRequest{ProtocolVersion: 1})
	req.Header().Set("Authorization", "Bearer "+amy.Token)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.Subscribe(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if !stream.Receive() {
		t.Fatalf("no first position: %v", stream.Err())
	}
	first := stream.Msg().Position
	b.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "written elsewhere"}).Want(200)
	if !stream.Receive() {
		t.Fatalf("no position after a write on the other instance: %v", stream.Err())
	}
	if got := stream.Msg().Position; got <= first {
		t.Fatalf("position %d did not move past %d", got, first)
	}
}
