package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// F8: one message id with other content is message_id_taken for every
// sender, the same one included (it was reported applied while only the
// first text was stored); the same content stays a duplicate.
func TestSameMessageIDWithOtherContentIsRejectedForEverySender(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	var rejA, rejB, rejC []Rejection
	phone, _ := openRecorded(t, env, amy, &rejA)
	laptop, _ := openRecorded(t, env, amy, &rejB)
	bobs, _ := openRecorded(t, env, bob, &rejC)
	id := oid.New()
	send := func(c *Client, text string) {
		t.Helper()
		if _, err := c.Mutate(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_SendMessage{SendMessage: &syncv1.SendMessage{
			MessageId: id, ChatId: chat, Text: text}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	send(phone, "first text")
	send(laptop, "second text")
	send(laptop, "first text")
	send(bobs, "first text")
	if len(rejA) != 0 {
		t.Fatalf("the first send was rejected: %+v", rejA)
	}
	if len(rejB) != 1 || rejB[0].Reason != "message_id_taken" || rejB[0].Kind != "send_message" {
		t.Fatalf("same sender, other text: rejections %+v, want one message_id_taken", rejB)
	}
	if len(rejC) != 1 || rejC[0].Reason != "message_id_taken" {
		t.Fatalf("other sender: rejections %+v, want message_id_taken", rejC)
	}
	if got := serverTexts(t, env, bob, chat); len(got) != 1 || got[0] != "first text" {
		t.Fatalf("server holds %q", got)
	}
}

// F9: a cancel queued offline keeps its meaning: when the other side
// accepted the request first, the cancel is rejected with reason
// connection_accepted and the accepted connection stays, on the server
// and in both replicas; the user is told.
func TestCancellingARequestNeverRemovesAnAcceptedConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	var rejA, rejB []Rejection
	a, aNet := openRecorded(t, env, amy, &rejA)
	b, _ := openRecorded(t, env, bob, &rejB)
	if _, err := a.Connect(ctx, bob.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{a, b} {
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	aNet.set(func(n *recordingNet) { n.down = true })
	if err := a.Disconnect(ctx, bob.ID); err != nil { // cancel, offline
		t.Fatal(err)
	}
	if err := b.Accept(ctx, amy.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	aNet.set(func(n *recordingNet) { n.down = false })
	res, err := a.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Reason != "connection_accepted" || res.Rejected[0].Kind != "delete_connection" || len(rejA) != 1 {
		t.Fatalf("amy's cancel: rejected %+v, want one connection_accepted", res.Rejected)
	}
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Client{"amy": a, "bob": b} {
		cs, err := c.Connections(ctx, "accepted")
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 {
			t.Errorf("%s's replica shows %d accepted connections, want the one that stays", name, len(cs))
		}
	}
	// Removing it on purpose, having seen it accepted, still works.
	if err := a.Disconnect(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if res, err := a.Sync(ctx); err != nil || res.Pushed != 1 || len(res.Rejected) != 0 {
		t.Fatalf("remove: %+v %v", res, err)
	}
}

// pastTheWindow lets a tombstone window of one hour pass on the server and
// prunes what it keeps for that long: tombstones and mutation records.
func pastTheWindow(t *testing.T, env *servertest.Env) {
	t.Helper()
	env.Clock.Advance(2 * time.Hour)
	if err := env.Server.DB().Write(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.PruneTombstones(context.Background(), tx.Now.Add(-time.Hour)); err != nil {
			return err
		}
		_, err := tx.PruneMutationRecords(context.Background(), tx.Now.Add(-time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// F2: a data folder restored from a backup older than the tombstone
// window (the original went on using the mutation ids meanwhile) loses
// nothing: the server no longer knows those ids, answers them out of
// order, and since this copy never sent them it takes a new client id and
// sends them again. Nothing is reported rejected.
func TestRestoredBackupOlderThanTheWindowLosesNoWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	dir1, dir2 := t.TempDir(), t.TempDir()
	var rej1, rej2 []Rejection
	open := func(dir string, rej *[]Rejection) *Client {
		c, err := Open(ctx, Options{Server: env.URL, Dir: dir, HTTPClient: http.DefaultClient, Now: env.Clock.Now,
			OnRejected: func(r Rejection) { *rej = append(*rej, r) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first := open(dir1, &rej1)
	if _, err := first.Login(ctx, amy.Username, amy.Password); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two"} {
		if _, err := first.SendMessage(ctx, chat, text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := first.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	first.Close()
	copyDir(t, dir1, dir2) // the backup
	first = open(dir1, &rej1)
	for _, text := range []string{"three", "four", "five"} { // the original goes on
		if _, err := first.SendMessage(ctx, chat, text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := first.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	pastTheWindow(t, env)
	restored := open(dir2, &rej2)
	for _, text := range []string{"typed on the restored copy", "and more"} {
		if _, err := restored.SendMessage(ctx, chat, text); err != nil {
			t.Fatal(err)
		}
	}
	res, err := restored.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 0 || len(rej2) != 0 || res.Pushed != 2 || !res.Rekeyed {
		t.Fatalf("restored copy: %+v (told %+v), want both pushed under a new client id", res, rej2)
	}
	got := strings.Join(serverTexts(t, env, bob, chat), "|")
	for _, text := range []string{"typed on the restored copy", "and more"} {
		if strings.Count(got, text) != 1 {
			t.Fatalf("server holds %q: %q not exactly once", got, text)
		}
	}
	// The original keeps working too (logged in again: the two copies
	// shared one refresh token, which the server lets only one spend).
	if _, err := first.Login(ctx, amy.Username, amy.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := first.SendMessage(ctx, chat, "six"); err != nil {
		t.Fatal(err)
	}
	if res, err := first.Sync(ctx); err != nil || res.Pushed != 1 || len(rej1) != 0 {
		t.Fatalf("original after: %+v %v %+v", res, err, rej1)
	}
}

// F3: a change that was applied is never reported rejected. Its answer
// was lost and the window passed, so the server no longer remembers it;
// the replica shows its effect (the message arrived under its id), so it
// counts as applied. A change whose effect cannot be seen is reported as
// of unknown outcome, kept, and worded so nobody resends it blindly.
func TestAnAppliedChangeIsNeverReportedRejected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	var rej []Rejection
	c, net := openRecorded(t, env, amy, &rej)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(ctx, chat, "sent once"); err != nil {
		t.Fatal(err)
	}
	bio := "a bio whose answer was lost"
	if _, err := c.UpdateProfile(ctx, ProfileUpdate{Bio: &bio}); err != nil {
		t.Fatal(err)
	}
	net.set(func(n *recordingNet) { n.losePush = true })
	if _, err := c.Sync(ctx); !errors.Is(err, ErrOffline) {
		t.Fatalf("sync with a lost answer: %v", err)
	}
	pastTheWindow(t, env)
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rej {
		if r.Outcome == OutcomeRejected {
			t.Fatalf("an applied change was reported rejected: %+v", r)
		}
	}
	if res.Pushed != 1 || len(res.Rejected) != 1 || res.Rejected[0].Outcome != OutcomeUnknown || res.Rejected[0].Kind != "update_profile" {
		t.Fatalf("result %+v: want the message confirmed applied and the profile edit of unknown outcome", res)
	}
	u := res.Rejected[0]
	if !strings.Contains(u.Message, "may or may not have been applied") || strings.Contains(u.Message, "queue the change again") || !strings.Contains(u.Content, bio) {
		t.Fatalf("unknown outcome told as %+v", u)
	}
	if got := serverTexts(t, env, bob, chat); len(got) != 1 {
		t.Fatalf("server holds %q", got)
	}
	kept, err := c.Rejections(ctx)
	if err != nil || len(kept) != 1 || kept[0].Outcome != OutcomeUnknown {
		t.Fatalf("kept %+v %v", kept, err)
	}
	if st, _ := c.Status(ctx); st.Outbox != 0 || st.Awaiting != 0 {
		t.Fatalf("outbox not settled: %+v", st)
	}
}

// F7: a rejection keeps what the user typed: its kind, its target with
// names, its content; the optimistic row is gone, and the change stays
// until the app retries or dismisses it.
func TestRejectionKeepsTheUsersWorkUntilRetriedOrDismissed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	var rej []Rejection
	b, _ := openRecorded(t, env, bob, &rej)
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	env.Do("DELETE", "/chats/"+chat+"/participants/"+bob.ID, amy.Token, nil).Want(204)
	long := "a long thought that took a while to type"
	if _, err := b.SendMessage(ctx, chat, long); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SendMessage(ctx, chat, "never mind"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rej) != 2 {
		t.Fatalf("reported %+v, want both rejected", rej)
	}
	r := rej[0]
	if r.Kind != "send_message" || r.Outcome != OutcomeRejected || r.Reason != "not_participant" || r.Target != `chat "Hikers"` || r.Content != long {
		t.Fatalf("rejection %+v: want kind, reason, target with its name and the text", r)
	}
	if ms, _ := b.Messages(ctx, chat); len(ms) != 0 {
		t.Fatalf("optimistic messages still shown: %+v", ms)
	}
	kept, err := b.Rejections(ctx)
	if err != nil || len(kept) != 2 || kept[1].Content != long {
		t.Fatalf("kept %+v %v", kept, err)
	}
	if st, _ := b.Status(ctx); st.Rejections != 2 {
		t.Fatalf("status counts %d rejections", st.Rejections)
	}
	// Bob is let back in; he retries the first and gives the second up.
	env.Do("POST", "/chats/"+chat+"/participants", bob.Token, map[string]any{}).Want(201)
	if _, err := b.Retry(ctx, r.MutationID); err != nil {
		t.Fatal(err)
	}
	if err := b.Dismiss(ctx, kept[0].MutationID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := serverTexts(t, env, amy, chat); len(got) != 1 || got[0] != long {
		t.Fatalf("server holds %q", got)
	}
	if kept, _ := b.Rejections(ctx); len(kept) != 0 {
		t.Fatalf("still kept: %+v", kept)
	}
	if err := b.Dismiss(ctx, r.MutationID); !errors.Is(err, ErrNoRejection) {
		t.Fatalf("dismissing twice: %v", err)
	}
}
