package rpc_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/server/social"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// History reads a chat's messages below a floor, newest first, only for a
// reader of the chat; bad requests are invalid arguments.
func TestHistory(t *testing.T) {
	t.Parallel()
	h := sharedHarness(t)
	amy, bob := h.env.Register("Amy"), h.env.Register("Bob")
	chat := h.chat(0, amy.ID)
	h.messages(chat, 12)
	c := h.client(amy)
	ctx := context.Background()
	// A windowed pull of 5: the floor is the 5th newest message's seq.
	p, err := c.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Window: 5}))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*syncv1.Change
	for _, ch := range p.Msg.Changes {
		if ch.Entity == "message" {
			msgs = append(msgs, ch)
		}
	}
	if len(msgs) != 5 || len(p.Msg.Windows) != 1 || p.Msg.Windows[0].Floor != msgs[0].Seq || p.Msg.Windows[0].Bucket != social.ChatBucket(chat) {
		t.Fatalf("windowed pull: %d messages, windows %v", len(msgs), p.Msg.Windows)
	}
	floor := p.Msg.Windows[0].Floor
	got, err := c.History(ctx, connect.NewRequest(&syncv1.HistoryRequest{ProtocolVersion: 1, Bucket: social.ChatBucket(chat), BeforeSeq: floor, Limit: 4}))
	if err != nil {
		t.Fatal(err)
	}
	ch := got.Msg.Changes
	if len(ch) != 4 || ch[0].Seq >= floor || ch[3].Seq >= ch[0].Seq || got.Msg.Window.Floor != ch[3].Seq {
		t.Fatalf("history: %d changes, window %v", len(ch), got.Msg.Window)
	}
	rest, err := c.History(ctx, connect.NewRequest(&syncv1.HistoryRequest{ProtocolVersion: 1, Bucket: social.ChatBucket(chat), BeforeSeq: ch[3].Seq, Limit: 100}))
	if err != nil || len(rest.Msg.Changes) != 3 || rest.Msg.Window.Floor != 0 {
		t.Fatalf("rest of history: %v, %v", rest, err)
	}
	for name, req := range map[string]*syncv1.HistoryRequest{
		"no_floor":       {Bucket: social.ChatBucket(chat)},
		"limit_too_big":  {Bucket: social.ChatBucket(chat), BeforeSeq: floor, Limit: 1001},
		"user_bucket":    {Bucket: "user:" + amy.ID, BeforeSeq: floor},
		"not_a_bucket":   {Bucket: "nonsense", BeforeSeq: floor},
		"negative_limit": {Bucket: social.ChatBucket(chat), BeforeSeq: floor, Limit: -1},
	} {
		req.ProtocolVersion = 1
		if _, err := c.History(ctx, connect.NewRequest(req)); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("%s: %v, want invalid argument", name, err)
		}
	}
	if _, err := h.client(bob).History(ctx, connect.NewRequest(&syncv1.HistoryRequest{ProtocolVersion: 1, Bucket: social.ChatBucket(chat), BeforeSeq: floor, Limit: 5})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("bob read amy's chat history: %v", err)
	}
	if _, err := c.Pull(ctx, connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Window: -1})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("negative window: %v", err)
	}
}
