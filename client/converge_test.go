package client

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

var (
	convergeSteps = flag.Int("converge.steps", 500, "steps of the convergence property test over 4 users on 2 devices each (make converge runs 1,500)")
	convergeLarge = flag.Bool("converge.large", false, "run the convergence property test at a larger size: 8 users on 3 devices each, 3,000 steps")
	convergeSeed  = flag.Uint64("converge.seed", 0, "seed of the convergence property test (0: random)")
)

// flaky is a transport that can be offline, can lose the answer of the
// next push after the server processed it, and can run a change of the
// server's state between two pages of a pull.
type flaky struct {
	down     atomic.Bool
	losePush atomic.Bool
	midPull  atomic.Pointer[func()]
	midPulls atomic.Int64 // how many ran between pages
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.down.Load() {
		return nil, errors.New("offline")
	}
	if r.URL.Path == "/vibesync.sync.v1.SyncService/Pull" && f.midPull.Load() != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req syncv1.PullRequest
		if proto.Unmarshal(body, &req) == nil && len(req.PageToken) > 0 { // a later page
			if fn := f.midPull.Swap(nil); fn != nil {
				f.midPulls.Add(1)
				(*fn)()
			}
		}
	}
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.URL.Path == "/vibesync.sync.v1.SyncService/Push" && f.losePush.CompareAndSwap(true, false) {
		res.Body.Close()
		return nil, errors.New("answer lost")
	}
	return res, err
}

type replicaUnderTest struct {
	c        *Client
	net      *flaky
	user     servertest.User
	mutation map[int64]string // id → bio it set ("" for other kinds)
	rejected map[int64]Rejection
	firstID  int64 // its first own mutation id (a restored copy starts after the backup's)
}

// TestConvergence: several users on several devices make random changes
// (profile edits, conflicting username claims, connection requests,
// answers and cancellations racing each other, messages to real group
// chats and to chats that refuse them, members and admins of those groups
// added, removed, promoted and demoted by each other concurrently) while going offline at random, losing push answers,
// and while the server's side moves (chat membership gained and lost,
// rows written and deleted, tombstones pruned so stale replicas reset;
// a third of these happen between two pages of some device's pull), and
// while devices try changes the server would refuse for size or shape
// (refused on the device) or hold ones queued without the checks that no
// push can carry (rejected on the device).
// At the end every replica equals the server's view for its user, every
// rejected mutation was reported, and no mutation was applied twice.
func TestConvergence(t *testing.T) {
	t.Parallel()
	users, devices, steps := 4, 2, *convergeSteps
	if *convergeLarge {
		users, devices, steps = 8, 3, 3000
	}
	seed := *convergeSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -converge.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	ctx := context.Background()
	env := servertest.New(t)
	db := env.Server.DB()
	write := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := db.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}

	// openUnderTest opens the replica in dir (a fresh one, or a restored
	// backup) for user.
	openUnderTest := func(dir string, acct servertest.User) *replicaUnderTest {
		r := &replicaUnderTest{net: &flaky{}, user: acct, mutation: map[int64]string{}, rejected: map[int64]Rejection{}}
		c, err := Open(ctx, Options{Server: env.URL, Dir: dir, HTTPClient: &http.Client{Transport: env.Checked(r.net)}, Now: env.Clock.Now, PageSize: 7,
			OnRejected: func(rj Rejection) {
				if _, dup := r.rejected[rj.MutationID]; dup {
					t.Errorf("mutation %d reported rejected twice", rj.MutationID)
				}
				r.rejected[rj.MutationID] = rj
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		r.c = c
		if err := c.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0) + 1`).Scan(&r.firstID); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// relogin logs a device in again, under the user's current username
	// (they may have renamed themselves).
	relogin := func(r *replicaUnderTest) {
		t.Helper()
		var name string
		if err := db.Read(ctx, func(tx *store.Tx) error {
			u, err := tx.User(ctx, r.user.ID)
			name = u.Username
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.c.Login(ctx, name, r.user.Password); err != nil {
			t.Fatal(err)
		}
	}
	var rs []*replicaUnderTest
	var accounts []servertest.User
	for u := 0; u < users; u++ {
		acct := env.Register(fmt.Sprintf("User %d", u))
		accounts = append(accounts, acct)
		for d := 0; d < devices; d++ {
			r := openUnderTest(t.TempDir(), acct)
			if _, err := r.c.Login(ctx, acct.Username, acct.Password); err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
	}
	chats := make([]string, 4)
	for i := range chats {
		chats[i] = oid.New()
		id := chats[i]
		write(func(tx *store.Tx) error {
			_, err := tx.Put(ctx, "chat:"+id, "chat", id, []byte(`{"_id":"`+id+`","name":"chat `+fmt.Sprint(i)+`"}`))
			return err
		})
	}
	// Real group chats, made through the chat rules: everyone follows
	// everyone (so anyone may add anyone), and the first user creates two
	// groups with all of them.
	for _, r := range rs {
		for _, other := range accounts {
			if other.ID != r.user.ID {
				if _, err := r.c.Mutate(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_Follow{Follow: &syncv1.FollowUser{UserId: other.ID}}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := r.c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var everyone []string
	for _, a := range accounts[1:] {
		everyone = append(everyone, a.ID)
	}
	for _, name := range []string{"Hikers", "Climbers"} {
		if _, err := rs[0].c.CreateChat(ctx, NewChat{Group: true, Name: name, Category: "Outdoors", Users: everyone}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rs[0].c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	groups, err := rs[0].c.Chats(ctx, "")
	if err != nil || len(groups) != 2 {
		t.Fatalf("groups %+v %v", groups, err)
	}
	// move changes the server's state now for a random user, or (one
	// time in three) for the user of some device in the middle of its
	// next pull.
	move := func(fn func(u servertest.User)) {
		if rng.IntN(3) > 0 {
			fn(accounts[rng.IntN(len(accounts))])
			return
		}
		r := rs[rng.IntN(len(rs))]
		later := func() { fn(r.user) }
		if old := r.net.midPull.Swap(&later); old != nil {
			(*old)()
		}
	}
	var messages []struct{ chat, id string }
	var sent []struct{ chat, id string } // messages sent through the rules
	live := []string{groups[0].ID, groups[1].ID}
	for _, g := range live {
		for _, r := range rs[1:] {
			if r.user.ID == rs[0].user.ID {
				continue
			}
			if err := r.c.JoinChat(ctx, g); err != nil { // already in: rejected, reported
				t.Fatal(err)
			}
		}
	}
	var stats struct{ syncs, pulled, resets, rejected, unknown, rows, lost int }
	names := []string{"taken_a", "taken_b", "taken_c"}

	oversized, pruned, restored := 0, 0, 0
	// A change larger than any push may be is 9 MB: written to the
	// replica, read for each push that meets it, sent, refused and kept
	// among the rejections, each of them costs more than the rest of a
	// 500-step run. One per 400 steps, at least one: one at the unit
	// suite's size, three at make converge's.
	maxOversized := max(1, steps/400)
	var backup string
	for step := 0; step < steps; step++ {
		r := rs[rng.IntN(len(rs))]
		switch op := rng.IntN(115); {
		case op >= 100 && op < 112: // the other write kinds, each racing the rest
			newerWrite(t, ctx, rng, r, accounts, &live, &sent, step)
		case op == 112: // a change the server would refuse for its size or shape: refused on the device
			var err error
			switch rng.IntN(3) {
			case 0:
				_, err = r.c.SendMessage(ctx, groups[rng.IntN(len(groups))].ID, strings.Repeat("x", 4001+rng.IntN(100_000)))
			case 1:
				_, err = r.c.Mutate(ctx, &syncv1.Mutation{})
			default:
				bad := "no spaces allowed"
				_, err = r.c.UpdateProfile(ctx, ProfileUpdate{Username: &bad})
			}
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("step %d: a change the server would refuse was queued: %v", step, err)
			}
		case op == 113 && oversized < maxOversized: // one queued by a client without the checks: larger than any push may be
			oversized++
			queueRaw(t, r.c, groups[rng.IntN(len(groups))].ID, strings.Repeat("x", 9_000_000))
		case op >= 112: // (no more oversized ones)
		case op < 20: // edit the profile, renaming oneself half the time
			bio := fmt.Sprintf("bio %d", step)
			upd := &syncv1.UpdateProfile{Bio: &bio}
			if rng.IntN(2) == 0 {
				name := fmt.Sprintf("Name %d", step)
				upd.Name = &name
			}
			id, err := r.c.Mutate(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_UpdateProfile{UpdateProfile: upd}})
			if err != nil {
				t.Fatal(err)
			}
			r.mutation[id] = bio
		case op < 27: // claim a username others may claim too
			if _, err := r.c.UpdateProfile(ctx, ProfileUpdate{Username: &names[rng.IntN(len(names))]}); err != nil {
				t.Fatal(err)
			}
		case op < 31: // a message the server rejects: the chat exists only in the feed
			if _, err := r.c.SendMessage(ctx, chats[rng.IntN(len(chats))], "hi"); err != nil {
				t.Fatal(err)
			}
		case op < 36: // a message to a real group (rejected if one was removed meanwhile)
			g := live[rng.IntN(len(live))]
			m, err := r.c.SendMessage(ctx, g, fmt.Sprintf("msg %d", step))
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, struct{ chat, id string }{g, m.ID})
		case op < 40: // group membership and admin rights, racing each other
			g, other := groups[rng.IntN(len(groups))].ID, accounts[rng.IntN(len(accounts))].ID
			var m *syncv1.Mutation
			switch rng.IntN(5) {
			case 0:
				m = &syncv1.Mutation{Kind: &syncv1.Mutation_AddParticipant{AddParticipant: &syncv1.AddParticipant{ChatId: g, UserId: other}}}
			case 1:
				m = &syncv1.Mutation{Kind: &syncv1.Mutation_RemoveParticipant{RemoveParticipant: &syncv1.RemoveParticipant{ChatId: g, UserId: other}}}
			case 2:
				m = &syncv1.Mutation{Kind: &syncv1.Mutation_GrantAdmin{GrantAdmin: &syncv1.GrantAdmin{ChatId: g, UserId: other}}}
			case 3:
				m = &syncv1.Mutation{Kind: &syncv1.Mutation_RevokeAdmin{RevokeAdmin: &syncv1.RevokeAdmin{ChatId: g, UserId: other}}}
			default:
				if err := r.c.MarkRead(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			if m != nil {
				if _, err := r.c.Mutate(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		case op < 46: // connections: requests, answers and cancellations that race
			other := accounts[rng.IntN(len(accounts))]
			var err error
			switch rng.IntN(4) {
			case 0:
				_, err = r.c.Connect(ctx, other.ID, "hello")
			case 1:
				err = r.c.Accept(ctx, other.ID)
			case 2:
				err = r.c.Decline(ctx, other.ID)
			default:
				err = r.c.Disconnect(ctx, other.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
		case op < 62:
			res, err := r.c.Sync(ctx)
			if errors.Is(err, ErrSessionEnded) {
				// A restored copy and its original shared a refresh
				// token; the server ended the session of the second to
				// spend it. The user logs in again; nothing queued is lost.
				relogin(r)
				res, err = r.c.Sync(ctx)
			}
			if err != nil && !errors.Is(err, ErrOffline) { // a lost push answer looks offline too
				t.Fatalf("sync: %v", err)
			}
			if err == nil {
				stats.syncs++
				stats.pulled += res.Pulled
				if res.Reset {
					stats.resets++
				}
				stats.lost += len(res.Lost)
			}
		case op < 68:
			r.net.down.Store(!r.net.down.Load())
		case op < 71:
			r.net.losePush.Store(true)
		case op < 77: // someone joins a chat
			ch := chats[rng.IntN(len(chats))]
			move(func(u servertest.User) {
				write(func(tx *store.Tx) error { return tx.AddBucketMember(ctx, "chat:"+ch, u.ID) })
			})
		case op < 81: // someone leaves a chat
			ch := chats[rng.IntN(len(chats))]
			move(func(u servertest.User) {
				write(func(tx *store.Tx) error { return tx.RemoveBucketMember(ctx, "chat:"+ch, u.ID) })
			})
		case op < 92: // a message is posted
			ch, id := chats[rng.IntN(len(chats))], oid.New()
			messages = append(messages, struct{ chat, id string }{ch, id})
			move(func(servertest.User) {
				write(func(tx *store.Tx) error {
					_, err := tx.Put(ctx, "chat:"+ch, "message", id, []byte(`{"_id":"`+id+`","chat":"`+ch+`","text":"m"}`))
					return err
				})
			})
		case op < 99: // a message is deleted
			if len(messages) > 0 {
				i := rng.IntN(len(messages))
				m := messages[i]
				messages = slices.Delete(messages, i, i+1)
				move(func(servertest.User) {
					write(func(tx *store.Tx) error {
						_, err := tx.Tombstone(ctx, "chat:"+m.chat, "message", m.id)
						return err
					})
				})
			}
		default: // time passes; old tombstones and mutation records are pruned (a 30-minute window: stale replicas must reset, lost answers become unknown)
			env.Clock.Advance(40 * time.Minute)
			pruned++
			move(func(servertest.User) {
				write(func(tx *store.Tx) error {
					if _, err := tx.PruneTombstones(ctx, tx.Now.Add(-30*time.Minute)); err != nil {
						return err
					}
					_, err := tx.PruneMutationRecords(ctx, tx.Now.Add(-30*time.Minute))
					return err
				})
			})
		}
		switch step {
		case steps / 3: // a device's data folder is backed up …
			backup = t.TempDir()
			if _, err := rs[0].c.db.ExecContext(ctx, `VACUUM INTO ?`, filepath.Join(backup, "replica.db")); err != nil {
				t.Fatal(err)
			}
		case 2 * steps / 3: // … and restored, long after, as another device
			rs = append(rs, openUnderTest(backup, rs[0].user))
			restored++
		}
	}

	// Some leave a chat while their devices are away, then everyone comes
	// back online and syncs until quiet.
	for _, acct := range accounts {
		ch := chats[rng.IntN(len(chats))]
		write(func(tx *store.Tx) error { return tx.RemoveBucketMember(ctx, "chat:"+ch, acct.ID) })
	}
	for _, r := range rs {
		r.net.down.Store(false)
		r.net.losePush.Store(false)
		if fn := r.net.midPull.Swap(nil); fn != nil {
			(*fn)()
		}
	}
	for round := 0; round < 2; round++ {
		for _, r := range rs {
			_, err := r.c.Sync(ctx)
			if errors.Is(err, ErrSessionEnded) {
				relogin(r)
				_, err = r.c.Sync(ctx)
			}
			if err != nil {
				t.Fatalf("final sync: %v", err)
			}
		}
	}
	for _, r := range rs {
		res, err := r.c.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Drifted) > 0 {
			t.Errorf("%s: buckets drifted: %v", r.user.Username, res.Drifted)
		}
	}

	for i, r := range rs {
		name := fmt.Sprintf("device %d of %s", i, r.user.Username)
		st, err := r.c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Outbox != 0 || st.Awaiting != 0 {
			t.Errorf("%s: outbox not drained: %+v", name, st)
		}
		var overlay int
		if err := r.c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM overlay`).Scan(&overlay); err != nil {
			t.Fatal(err)
		}
		if overlay != 0 {
			t.Errorf("%s: %d optimistic rows left", name, overlay)
		}
		// The replica equals the server's view for its user.
		want := map[string]string{}
		var readable []string
		if err := db.Read(ctx, func(tx *store.Tx) error {
			var err error
			if readable, err = tx.ReadableBuckets(ctx, r.user.ID); err != nil {
				return err
			}
			ch, err := tx.Changes(ctx, store.ChangeFilter{Buckets: readable, Limit: 1 << 30})
			for _, c := range ch {
				if c.Op == store.OpUpsert {
					want[c.Bucket+"|"+c.Entity+"|"+c.EntityID] = string(c.Data)
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		rows, err := r.c.db.QueryContext(ctx, `SELECT bucket, entity, id, data FROM rows`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b, e, id, data string
			if err := rows.Scan(&b, &e, &id, &data); err != nil {
				t.Fatal(err)
			}
			got[b+"|"+e+"|"+id] = data
		}
		rows.Close()
		stats.rows += len(want)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: row %s: replica %q, server %q", name, k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: row %s is not in the server's view", name, k)
			}
		}
		slices.Sort(readable)
		held := slices.Clone(st.Buckets)
		slices.Sort(held)
		if !slices.Equal(held, readable) {
			t.Errorf("%s: holds %v, may read %v", name, held, readable)
		}
		// Every mutation was processed once: applied, or rejected and
		// reported; one that no push could carry was rejected on the
		// device and reported.
		var lastID int64
		if err := r.c.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)`).Scan(&lastID); err != nil {
			t.Fatal(err)
		}
		for id := r.firstID; id <= lastID; id++ {
			var rec store.MutationRecord
			err := db.Read(ctx, func(tx *store.Tx) (err error) {
				rec, err = tx.MutationRecordOf(ctx, r.user.ID, st.ClientID, id)
				return err
			})
			if apperr.Is(err, apperr.NotFound) {
				// Never reached the server (too large: rejected on the
				// device), of unknown outcome, or recorded and since
				// pruned (or under the client id before a re-key).
				rj, ok := r.rejected[id]
				switch {
				case ok && (rj.Reason == syncv1.ReasonMutationTooLarge || rj.Outcome == OutcomeUnknown):
				case pruned > 0 || restored > 0:
				default:
					t.Errorf("%s: mutation %d has no record on the server and was reported %+v", name, id, rj)
				}
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			rj, reported := r.rejected[id]
			if (rec.Code != "") != reported {
				t.Errorf("%s: mutation %d: server code %q, reported %v", name, id, rec.Code, reported)
			}
			if reported && rj.Code != rec.Code {
				t.Errorf("%s: mutation %d: reported %q, recorded %q", name, id, rj.Code, rec.Code)
			}
		}
		// Every change reported not applied is kept, with its outcome,
		// until the app retries or dismisses it.
		kept, err := r.c.Rejections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		outcome := map[int64]string{}
		for _, k := range kept {
			outcome[k.MutationID] = k.Outcome
		}
		for id, rj := range r.rejected {
			if got, ok := outcome[id]; !ok || got != rj.Outcome || rj.Outcome == "" {
				t.Errorf("%s: mutation %d reported %q but kept as %q (%v)", name, id, rj.Outcome, got, ok)
			}
			if rj.Outcome == OutcomeUnknown {
				stats.unknown++
			}
		}
	}
	// Every replica shows each user it mentions under their current name:
	// in its chats' participants and creators, its groups' messages and
	// its connections.
	current := map[string]string{}
	for _, acct := range accounts {
		if err := db.Read(ctx, func(tx *store.Tx) error {
			u, err := tx.User(ctx, acct.ID)
			current[acct.ID] = u.Name
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range rs {
		name := fmt.Sprintf("device %d of %s", i, r.user.Username)
		check := func(what string, u User) {
			if want, ok := current[u.ID]; ok && u.Name != want {
				t.Errorf("%s: %s shows %s as %q, want %q", name, what, u.ID, u.Name, want)
			}
		}
		cs, err := r.c.Chats(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range cs {
			check("chat creator", ch.Creator)
			for _, p := range ch.Participants {
				check("participant", p.User)
			}
			ms, err := r.c.Messages(ctx, ch.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.User.ID != "" {
					check("message sender", m.User)
				}
			}
		}
		conns, err := r.c.Connections(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, cn := range conns {
			check("connection", cn.From)
			check("connection", cn.To)
		}
	}
	for _, r := range rs {
		stats.rejected += len(r.rejected)
	}
	var midPulls int64
	for _, r := range rs {
		midPulls += r.net.midPulls.Load()
	}
	t.Logf("%d successful syncs pulled %d changes, %d resets, %d lost buckets, %d rejections (%d of unknown outcome), %d replica rows compared, %d server changes between pages, %d prunes, %d restored backups",
		stats.syncs, stats.pulled, stats.resets, stats.lost, stats.rejected, stats.unknown, stats.rows, midPulls, pruned, restored)
	// No mutation was applied twice: each user's bio is the one set by the
	// applied bio mutation with the latest checkpoint; a replayed older one
	// would have overwritten it later.
	for _, acct := range accounts {
		var wantBio string
		var best int64 = -1
		for _, r := range rs {
			if r.user.ID != acct.ID {
				continue
			}
			st, _ := r.c.Status(ctx)
			for id, bio := range r.mutation {
				var rec store.MutationRecord
				if err := db.Read(ctx, func(tx *store.Tx) (err error) {
					rec, err = tx.MutationRecordOf(ctx, r.user.ID, st.ClientID, id)
					return err
				}); apperr.Is(err, apperr.NotFound) {
					continue // pruned, or of unknown outcome
				} else if err != nil {
					t.Fatalf("mutation %d of %s: %v", id, acct.Username, err)
				}
				if rec.Code == "" && rec.Checkpoint > best {
					best, wantBio = rec.Checkpoint, bio
				}
			}
		}
		var gotBio string
		if err := db.Read(ctx, func(tx *store.Tx) error {
			u, err := tx.User(ctx, acct.ID)
			gotBio = u.Bio
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if best >= 0 && gotBio != wantBio {
			t.Errorf("%s: server bio %q, want %q from the last applied mutation", acct.Username, gotBio, wantBio)
		}
	}
}

// newerWrite queues one of the mutation kinds beyond profiles, messages,
// membership and connections: groups and one-to-one chats created under
// proposed ids (and written into at once), renames, joins, event status,
// message deletions, removals by connection id, join requests and their
// answers, notifications read, reels and reactions, push devices.
func newerWrite(t *testing.T, ctx context.Context, rng *rand.Rand, r *replicaUnderTest, accounts []servertest.User, live *[]string, sent *[]struct{ chat, id string }, step int) {
	t.Helper()
	other := accounts[rng.IntN(len(accounts))]
	g := (*live)[rng.IntN(len(*live))]
	var err error
	switch rng.IntN(16) {
	case 12:
		if other.ID != r.user.ID {
			if rng.IntN(2) == 0 {
				err = r.c.Follow(ctx, other.ID)
			} else {
				err = r.c.Unfollow(ctx, other.ID) // may make a later add_participant fail: rejected, reported
			}
		}
	case 13:
		d := time.Duration(rng.IntN(3)*30) * time.Minute
		err = r.c.SetStatus(ctx, fmt.Sprintf("status %d", step), d)
		if d == 0 { // out of range: refused on the device, nothing queued
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("a status of 0 minutes: %v, want ErrRefused", err)
			}
			err = nil
		}
	case 14:
		err = r.c.SetStatus(ctx, "", 0)
	case 0: // a group created offline, people added and a message sent before the server has it
		var ch Chat
		if ch, err = r.c.CreateChat(ctx, NewChat{Group: true, Name: fmt.Sprintf("Group %d", step), Category: "Outdoors", Users: []string{other.ID}}); err == nil {
			*live = append(*live, ch.ID)
			var m Message
			if m, err = r.c.SendMessage(ctx, ch.ID, "first"); err == nil {
				*sent = append(*sent, struct{ chat, id string }{ch.ID, m.ID})
				err = r.c.AddParticipants(ctx, ch.ID, accounts[rng.IntN(len(accounts))].ID)
			}
		}
	case 1: // a one-to-one chat (several devices may create the pair's at once)
		if other.ID != r.user.ID {
			var ch Chat
			if ch, err = r.c.CreateChat(ctx, NewChat{Users: []string{other.ID}}); err == nil {
				_, err = r.c.SendMessage(ctx, ch.ID, "direct")
			}
		}
	case 2:
		name := fmt.Sprintf("Renamed %d", step)
		err = r.c.UpdateChat(ctx, g, ChatUpdate{Name: &name})
	case 3:
		err = r.c.JoinChat(ctx, g)
	case 4:
		err = r.c.SetParticipantStatus(ctx, g, other.ID, "accepted") // no event: rejected
	case 5:
		if len(*sent) > 0 {
			m := (*sent)[rng.IntN(len(*sent))]
			err = r.c.DeleteMessage(ctx, m.chat, m.id)
		}
	case 6:
		var cs []Connection
		if cs, err = r.c.Connections(ctx, "accepted"); err == nil && len(cs) > 0 {
			err = r.c.RemoveConnection(ctx, cs[rng.IntN(len(cs))].ID)
		}
	case 7:
		_, err = r.c.RequestToJoin(ctx, g)
	case 8:
		var rqs []JoinRequest
		if rqs, err = r.c.Requests(ctx); err == nil && len(rqs) > 0 {
			err = r.c.AnswerJoinRequest(ctx, rqs[rng.IntN(len(rqs))].ID, rng.IntN(2) == 0)
		}
	case 9:
		var ns []Notification
		if ns, err = r.c.Notifications(ctx); err == nil && len(ns) > 0 && rng.IntN(2) == 0 {
			err = r.c.ReadNotification(ctx, ns[rng.IntN(len(ns))].ID)
		} else if err == nil {
			err = r.c.ReadAllNotifications(ctx)
		}
	case 10:
		var id string
		if id, err = r.c.CreateReel(ctx, NewReel{Chat: g, Video: "https://videos.example/r.mp4"}); err == nil {
			err = r.c.React(ctx, id, "like")
		}
	case 11:
		restricted := rng.IntN(2) == 0
		err = r.c.UpdateChat(ctx, g, ChatUpdate{Restricted: &restricted})
	default:
		token := fmt.Sprintf("device-%d", rng.IntN(3))
		if rng.IntN(2) == 0 {
			err = r.c.AddPushDevice(ctx, token)
		} else {
			err = r.c.RemovePushDevice(ctx, token)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}
