package client

import (
	"context"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
)

// F6: the checksums cover each row's content as stored, so a row whose
// data changed in the replica while its seq stayed is detected by Verify
// and repaired (its bucket is read again); a plain Sync does not look.
func TestVerifyCatchesARowChangedWithoutANewSeq(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat, ids := seedChat(t, env, amy, bob, env.Clock.Now(), []struct {
		by  servertest.User
		off time.Duration
	}{{bob, time.Second}, {bob, 2 * time.Second}})
	c := openLoggedIn(t, env, amy)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// seedChat's first message says "m0". The replica's copy is replaced
	// behind the protocol's back: same bucket, entity, id and seq.
	res, err := c.db.ExecContext(ctx, `UPDATE rows SET data = CAST(replace(CAST(data AS TEXT), '"text":"m0"', '"text":"forged"') AS BLOB) WHERE entity = 'message' AND id = ?`, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("corrupting the row changed %d rows", n)
	}
	text := func() string {
		ms, err := c.Messages(ctx, chat)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.ID == ids[0] {
				return m.Text
			}
		}
		return "(missing)"
	}
	if got := text(); got != "forged" {
		t.Fatalf("setup: text %q", got)
	}
	if res, _ := c.Sync(ctx); len(res.Drifted) != 0 {
		t.Fatal("a plain sync checked checksums")
	}
	out, err := c.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Drifted) != 1 || out.Drifted[0] != "chat:"+chat {
		t.Fatalf("drifted %v, want the chat's bucket", out.Drifted)
	}
	if got := text(); got != "m0" {
		t.Fatalf("after repair the message says %q, want the server's %q", got, "m0")
	}
	if out, _ := c.Verify(ctx); len(out.Drifted) != 0 {
		t.Fatalf("still drifted: %v", out.Drifted)
	}
}
