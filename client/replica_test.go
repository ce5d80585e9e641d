package client

import (
	"context"
	"path/filepath"
	"testing"
)

// A replica made before the outbox and rejections columns were added
// keeps its rows and gets the columns, with their defaults, when opened;
// opening it again changes nothing.
func TestOlderReplicaGetsTheAddedColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "replica.db")
	db, err := openReplica(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Back to the first schema: the later columns dropped.
	for _, c := range []struct{ table, column string }{
		{"outbox", "sent"}, {"outbox", "unsure"}, {"rejections", "outcome"},
		{"rejections", "target"}, {"rejections", "content"}, {"rejections", "body"},
	} {
		if _, err := db.ExecContext(ctx, `ALTER TABLE `+c.table+` DROP COLUMN `+c.column); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO outbox (kind, body, created_at) VALUES ('send_message', x'0a00', 7)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO rejections (mutation_id, kind, code, reason, message, field, at) VALUES (1, 'send_message', 'forbidden', 'not_participant', 'no', '', 8)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for range 2 {
		db, err := openReplica(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var sent, unsure int
		var kind string
		if err := db.QueryRowContext(ctx, `SELECT kind, sent, unsure FROM outbox`).Scan(&kind, &sent, &unsure); err != nil {
			t.Fatal(err)
		}
		if kind != "send_message" || sent != 0 || unsure != 0 {
			t.Fatalf("outbox row: %q sent=%d unsure=%d", kind, sent, unsure)
		}
		var outcome, target, content string
		var body []byte
		if err := db.QueryRowContext(ctx, `SELECT outcome, target, content, body FROM rejections WHERE mutation_id = 1`).Scan(&outcome, &target, &content, &body); err != nil {
			t.Fatal(err)
		}
		if outcome != "rejected" || target != "" || content != "" || body != nil {
			t.Fatalf("rejection row: outcome %q target %q content %q body %x", outcome, target, content, body)
		}
		db.Close()
	}
}
