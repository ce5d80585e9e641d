package client

import (
	"context"
	"testing"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// F8: one message id with other content is message_id_taken for every
// sender, the same one included (it was reported applied while only the
// first text was stored); the same content stays a duplicate.
func TestSameMessageIDWithOtherContentIsRejectedForEverySender(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
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
	env := servertest.New(t)
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
