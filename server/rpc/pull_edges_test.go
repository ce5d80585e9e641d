package rpc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// pullWith is replica.pull with a hook run after each page but the last
// (to change the server between pages).
func (r *replica) pullWith(t *testing.T, c syncv1connect.SyncServiceClient, pageSize int32, between func(page int)) []*syncv1.PullResponse {
	t.Helper()
	var token []byte
	var pages []*syncv1.PullResponse
	for {
		res, err := c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{
			ProtocolVersion: 1, Cursor: r.cursor, Buckets: r.buckets, PageToken: token, PageSize: pageSize,
		}))
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		pages = append(pages, res.Msg)
		if len(res.Msg.NextPageToken) == 0 {
			break
		}
		between(len(pages) - 1)
		token = res.Msg.NextPageToken
	}
	last := pages[len(pages)-1]
	for _, p := range pages {
		for _, ch := range p.Changes {
			m := r.rows[ch.Bucket]
			if m == nil {
				m = map[string]int64{}
				r.rows[ch.Bucket] = m
			}
			if ch.Op == syncv1.Op_OP_DELETE {
				delete(m, ch.Entity+"/"+ch.EntityId)
			} else {
				m[ch.Entity+"/"+ch.EntityId] = ch.Seq
				r.data[ch.Bucket+"\x00"+ch.Entity+"/"+ch.EntityId] = ch.Data
			}
		}
	}
	for _, b := range last.LostBuckets {
		delete(r.rows, b)
	}
	r.cursor, r.buckets = last.Checkpoint, last.Buckets
	return pages
}

// messages adds n message rows to a chat bucket.
func (h *harness) messages(chat string, n int) {
	h.t.Helper()
	h.write(func(ctx context.Context, tx *store.Tx) error {
		for range n {
			mid := oid.New()
			if _, err := tx.Put(ctx, social.ChatBucket(chat), "message", mid, []byte(`{"_id":"`+mid+`"}`)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (h *harness) member(chat, user string, in bool) {
	h.t.Helper()
	h.write(func(ctx context.Context, tx *store.Tx) error {
		if in {
			return tx.AddBucketMember(ctx, social.ChatBucket(chat), user)
		}
		return tx.RemoveBucketMember(ctx, social.ChatBucket(chat), user)
	})
}

// liveRows counts the upserts of a bucket in the feed.
func (h *harness) liveRows(bucket string) int {
	h.t.Helper()
	n := 0
	h.write(func(ctx context.Context, tx *store.Tx) error {
		sums, err := tx.BucketChecksums(ctx, []string{bucket}, nil)
		n = int(sums[bucket].Count)
		return err
	})
	return n
}

func TestPullMembershipChanges(t *testing.T) {
	t.Parallel()
	shared := sharedHarness(t) // the subtests' server: each registers users of its own
	t.Run("held_bucket_lost_mid_pull_is_reported_and_dropped", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		chat := h.chat(1, amy.ID)
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		h.messages(chat, 6)
		pages := r.pullWith(t, h.client(amy), 2, func(page int) {
			if page == 0 {
				h.member(chat, amy.ID, false)
			}
		})
		last := pages[len(pages)-1]
		if !slices.Contains(last.LostBuckets, social.ChatBucket(chat)) || slices.Contains(last.Buckets, social.ChatBucket(chat)) {
			t.Fatalf("lost %v, buckets %v", last.LostBuckets, last.Buckets)
		}
		if len(r.rows[social.ChatBucket(chat)]) != 0 {
			t.Fatalf("rows of the lost chat stay: %v", r.rows[social.ChatBucket(chat)])
		}
	})
	t.Run("new_bucket_lost_mid_pull_is_reported", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		chat := h.chat(6, bob.ID, amy.ID)
		pages := r.pullWith(t, h.client(amy), 2, func(page int) {
			if page == 0 {
				h.member(chat, amy.ID, false)
			}
		})
		if len(changesOf(pages[:1])) == 0 || changesOf(pages[:1])[0].Bucket != social.ChatBucket(chat) {
			t.Fatalf("setup: first page %v", pages[0].Changes)
		}
		last := pages[len(pages)-1]
		if !slices.Contains(last.LostBuckets, social.ChatBucket(chat)) || slices.Contains(last.Buckets, social.ChatBucket(chat)) {
			t.Fatalf("half-read chat not reported lost: lost %v, buckets %v", last.LostBuckets, last.Buckets)
		}
		if len(r.rows[social.ChatBucket(chat)]) != 0 {
			t.Fatalf("rows of the lost chat stay: %v", r.rows[social.ChatBucket(chat)])
		}
	})
	t.Run("bucket_lost_and_rejoined_mid_pull_is_read_again_from_zero", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		chat := h.chat(1, amy.ID)
		other := h.chat(0, amy.ID)
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		h.messages(other, 2)
		h.messages(chat, 6)
		h.messages(other, 6)
		r.pullWith(t, h.client(amy), 2, func(page int) {
			switch page {
			case 0: // the chat's new rows are skipped while Amy is out
				h.member(chat, amy.ID, false)
			case 1:
				h.member(chat, amy.ID, true)
			}
		})
		if slices.Contains(r.buckets, social.ChatBucket(chat)) {
			t.Fatalf("a chat with skipped pages counts as held: %v", r.buckets)
		}
		r.pull(t, h.client(amy), 0)
		if got, want := len(r.rows[social.ChatBucket(chat)]), h.liveRows(social.ChatBucket(chat)); got != want || want != 8 {
			t.Fatalf("after rejoining: %d rows, server has %d", got, want)
		}
	})
	t.Run("held_buckets_continue_from_the_cursor_while_a_new_one_starts_at_zero", func(t *testing.T) {
		h := shared.For(t)
		amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
		held := h.chat(3, amy.ID)
		joined := h.chat(3, bob.ID) // older than Amy's cursor
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		h.messages(held, 1)
		h.member(joined, amy.ID, true)
		var fromHeld, fromJoined, other int
		for _, ch := range changesOf(r.pull(t, h.client(amy), 2)) {
			switch ch.Bucket {
			case social.ChatBucket(held):
				fromHeld++
			case social.ChatBucket(joined):
				fromJoined++
			default:
				other++
			}
		}
		if fromHeld != 1 || fromJoined != 4 || other != 0 {
			t.Fatalf("held chat gave %d changes (want the 1 new), joined chat %d (want all 4), others %d", fromHeld, fromJoined, other)
		}
	})
	t.Run("rejoined_bucket_is_read_from_zero", func(t *testing.T) {
		h := shared.For(t)
		amy := h.env.Register("Amy")
		chat := h.chat(3, amy.ID)
		r := newReplica()
		r.pull(t, h.client(amy), 0)
		h.member(chat, amy.ID, false)
		r.pull(t, h.client(amy), 0)
		if len(r.rows[social.ChatBucket(chat)]) != 0 || slices.Contains(r.buckets, social.ChatBucket(chat)) {
			t.Fatal("lost chat kept")
		}
		h.member(chat, amy.ID, true)
		ch := changesOf(r.pull(t, h.client(amy), 0))
		if len(ch) != 4 || len(r.rows[social.ChatBucket(chat)]) != 4 {
			t.Fatalf("rejoined chat gave %d changes, replica has %d rows; want 4", len(ch), len(r.rows[social.ChatBucket(chat)]))
		}
	})
}

func TestPullNeverLeaks(t *testing.T) {
	t.Parallel()
	h := sharedHarness(t)
	amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
	secret := h.chat(5, bob.ID)
	own := h.chat(1, amy.ID)
	c := h.client(amy)
	noSecret := func(t *testing.T, pages []*syncv1.PullResponse) {
		t.Helper()
		for _, p := range pages {
			for _, ch := range p.Changes {
				if ch.Bucket != "user:"+amy.ID && ch.Bucket != social.ChatBucket(own) {
					t.Fatalf("amy read %s/%s", ch.Bucket, ch.EntityId)
				}
			}
			if slices.Contains(p.Buckets, social.ChatBucket(secret)) {
				t.Fatalf("amy is told she holds %s", social.ChatBucket(secret))
			}
		}
	}
	t.Run("someone_elses_chat_listed_as_held", func(t *testing.T) {
		for _, cursor := range []int64{0, 1} {
			r := newReplica()
			r.cursor = cursor
			r.buckets = []string{"user:" + amy.ID, social.ChatBucket(secret)}
			pages := r.pullWith(t, c, 2, func(int) {})
			noSecret(t, pages)
			if lost := pages[len(pages)-1].LostBuckets; !slices.Equal(lost, []string{social.ChatBucket(secret)}) {
				t.Fatalf("lost %v", lost)
			}
		}
	})
	t.Run("someone_elses_chat_in_a_forged_page_token", func(t *testing.T) {
		tok, _ := json.Marshal(map[string]any{"v": 2, "c": 0, "a": 0, "u": 1 << 40, "f": []string{social.ChatBucket(secret), "user:" + bob.ID}})
		res, err := c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1,
			PageToken: []byte(base64.RawURLEncoding.EncodeToString(tok)), PageSize: 100}))
		if err != nil {
			t.Fatal(err)
		}
		noSecret(t, []*syncv1.PullResponse{res.Msg})
		if len(res.Msg.Changes) != 0 {
			t.Fatalf("forged token read %v", res.Msg.Changes)
		}
	})
	t.Run("malformed_requests_are_invalid_arguments", func(t *testing.T) {
		for name, req := range map[string]*syncv1.PullRequest{
			"huge_page":        {PageSize: 1 << 30},
			"negative_page":    {PageSize: -1},
			"negative_cursor":  {Cursor: -5},
			"unknown_bucket":   {Buckets: []string{"group:" + oid.New()}},
			"bad_bucket_id":    {Buckets: []string{"chat:../../etc"}},
			"token_not_json":   {PageToken: []byte(base64.RawURLEncoding.EncodeToString([]byte("{")))},
			"token_backwards":  {PageToken: []byte(base64.RawURLEncoding.EncodeToString([]byte(`{"a":9,"u":1}`)))},
			"token_for_cursor": {Cursor: 3, PageToken: []byte(base64.RawURLEncoding.EncodeToString([]byte(`{"c":1,"u":9}`)))},
		} {
			req.ProtocolVersion = 1
			_, err := c.Pull(context.Background(), connect.NewRequest(req))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("%s: %v, want invalid argument", name, err)
			}
		}
	})
}

func TestPullCursorPastTheHeadResets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	amy := h.env.Register("Amy")
	chat := h.chat(2, amy.ID)
	r := newReplica()
	r.pull(t, h.client(amy), 0)
	r.cursor += 1000 // the server's database was replaced by an older one
	r.rows["chat:"+oid.New()] = map[string]int64{"message/x": 1}
	pages := r.pull(t, h.client(amy), 2)
	for i, p := range pages {
		if !p.Reset_ {
			t.Fatalf("page %d carries no reset", i)
		}
	}
	if len(r.rows) != 2 || len(r.rows[social.ChatBucket(chat)]) != 3 {
		t.Fatalf("replica after reset: %v", r.rows)
	}
	if pages := r.pull(t, h.client(amy), 0); pages[0].Reset_ {
		t.Fatal("reset again")
	}
}

// TestPullIsOneQueryWhateverTheBuckets: a user in 2,000 chats pulls with
// the same few statements as a user in one.
func TestPullIsOneQueryWhateverTheBuckets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	amy := h.env.Register("Amy")
	c := h.client(amy)
	count := func(r *replica) int64 {
		before := h.env.Server.DB().QueryCount()
		res, err := c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{
			ProtocolVersion: 1, Cursor: r.cursor, Buckets: r.buckets, PageSize: 5000}))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Msg.NextPageToken) != 0 {
			t.Fatal("more than one page")
		}
		r.cursor, r.buckets = res.Msg.Checkpoint, res.Msg.Buckets
		return h.env.Server.DB().QueryCount() - before
	}
	// The first request also reads its session; later ones within
	// social.SessionCacheTTL (the test clock stands still) do not.
	count(newReplica())
	one := count(newReplica())
	chats := make([]string, 2000)
	h.write(func(ctx context.Context, tx *store.Tx) error {
		for i := range chats {
			chats[i] = oid.New()
			b := social.ChatBucket(chats[i])
			if _, err := tx.Put(ctx, b, "chat", chats[i], []byte(`{}`)); err != nil {
				return err
			}
			if err := tx.AddBucketMember(ctx, b, amy.ID); err != nil {
				return err
			}
		}
		return nil
	})
	r := newReplica()
	if initial := count(r); initial != one || len(r.buckets) != 2001 {
		t.Fatalf("initial pull of 2,000 chats: %d statements (1 chat: %d), %d buckets", initial, one, len(r.buckets))
	}
	h.messages(chats[1234], 1)
	if incremental := count(r); incremental != one {
		t.Fatalf("incremental pull of 2,000 chats: %d statements, want %d", incremental, one)
	}
}

func TestOversizedRequestIsRefused(t *testing.T) {
	t.Parallel()
	h := sharedHarness(t)
	amy := h.env.Register("Amy")
	buckets := make([]string, 400_000) // about 11 MB of bucket names
	for i := range buckets {
		buckets[i] = "chat:" + oid.New()
	}
	_, err := h.client(amy).Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Buckets: buckets}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("oversized pull: %v", err)
	}
	buckets = buckets[:2000]
	if _, err := h.client(amy).Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Buckets: buckets})); err != nil {
		t.Fatalf("a pull listing 2,000 buckets: %v", err)
	}
}

func TestPullRestartsWhenPrunedMidPull(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	amy := h.env.Register("Amy")
	chat := h.chat(2, amy.ID)
	r := newReplica()
	r.pull(t, h.client(amy), 0)
	var gone string
	for key := range r.rows[social.ChatBucket(chat)] {
		if strings.HasPrefix(key, "message/") {
			gone = strings.TrimPrefix(key, "message/")
		}
	}
	h.messages(chat, 4)
	h.write(func(ctx context.Context, tx *store.Tx) error { // on the pull's last page
		_, err := tx.Tombstone(ctx, social.ChatBucket(chat), "message", gone)
		return err
	})
	h.env.Clock.Advance(time.Minute)
	c := h.client(amy)
	first, err := c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Cursor: r.cursor, Buckets: r.buckets, PageSize: 2}))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Msg.NextPageToken) == 0 {
		t.Fatal("setup: one page")
	}
	if err := h.env.Server.Social().PruneFeed(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	_, err = c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Cursor: r.cursor, Buckets: r.buckets,
		PageSize: 2, PageToken: first.Msg.NextPageToken}))
	wantCode(t, err, connect.CodeAborted, "pull_restart")
	pages := r.pull(t, c, 2)
	if !pages[0].Reset_ {
		t.Fatal("the restarted pull is no reset")
	}
	if _, ok := r.rows[social.ChatBucket(chat)]["message/"+gone]; ok {
		t.Fatal("the deleted message survived")
	}
}

func TestGarbageBodiesAreClientErrors(t *testing.T) {
	t.Parallel()
	h := sharedHarness(t)
	amy := h.env.Register("Amy")
	for _, method := range []string{"Pull", "Push", "Subscribe"} {
		for _, body := range []struct{ contentType, data string }{
			{"application/proto", "\xff\xff\xff\xff garbage"},
			{"application/json", `{"protocolVersion": "one", "buckets": 7}`},
			{"application/json", `{"protocolVersion": 1, "pageToken": "%%%"}`},
			{"application/json", `[`},
			{"text/plain", "hello"},
		} {
			req, err := http.NewRequest("POST", h.env.URL+"/vibesync.sync.v1.SyncService/"+method, strings.NewReader(body.data))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", body.contentType)
			if method == "Subscribe" {
				req.Header.Set("Content-Type", strings.Replace(body.contentType, "application/", "application/connect+", 1))
			}
			req.Header.Set("Authorization", "Bearer "+amy.Token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode >= 500 {
				t.Errorf("%s with %s %q: status %d", method, body.contentType, body.data, res.StatusCode)
			}
		}
	}
}
