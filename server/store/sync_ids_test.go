package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// TestSyncIDsMigration: mutation records written before client ids were
// per user move to their client's user, keep their outcome, and have no
// fingerprint (so a retry still matches them).
func TestSyncIDsMigration(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.Join(t.TempDir(), "old.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return fmt.Sprintf("%024x", i) }
	amy, bob := id(1), id(2)
	write(t, db, func(tx *store.Tx) error {
		for i, name := range []string{"Amy", "Bob"} {
			u := store.User{ID: id(i + 1), Name: name, Username: "u" + name, CreatedAt: tx.Now, UpdatedAt: tx.Now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`INSERT INTO sync_clients (client_id, user_id, last_mutation_id, updated_at) VALUES ('client-amy', '` + amy + `', 2, 1)`,
			`INSERT INTO sync_mutations (client_id, mutation_id, code, reason, message, field, checkpoint, at) VALUES
				('client-amy', 1, '', '', '', '', 10, 1),
				('client-amy', 2, 'invalid', 'invalid_bio', 'too long', 'bio', 11, 1)`,
		} {
			if _, err := tx.ExecForTest(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.SyncClient(ctx, amy, "client-amy")
		if err != nil || c.LastMutationID != 2 {
			t.Errorf("amy's client %+v, %v", c, err)
		}
		if _, err := tx.SyncClient(ctx, bob, "client-amy"); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("bob holds amy's client id: %v", err)
		}
		r, err := tx.MutationRecordOf(ctx, amy, "client-amy", 2)
		if err != nil || r.Code != "invalid" || r.Reason != "invalid_bio" || r.Field != "bio" || r.Checkpoint != 11 || len(r.Fingerprint) != 0 {
			t.Errorf("record 2 %+v, %v", r, err)
		}
		if r, err := tx.MutationRecordOf(ctx, amy, "client-amy", 1); err != nil || r.Code != "" || r.Checkpoint != 10 {
			t.Errorf("record 1 %+v, %v", r, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Bob may now use the same id for a client of his own.
	write(t, db, func(tx *store.Tx) error {
		return tx.RecordMutation(ctx, store.MutationRecord{UserID: bob, ClientID: "client-amy", MutationID: 1, Fingerprint: []byte{1}, Checkpoint: 12})
	})
	err = db.Read(ctx, func(tx *store.Tx) error {
		if r, err := tx.MutationRecordOf(ctx, bob, "client-amy", 1); err != nil || string(r.Fingerprint) != "\x01" || r.Checkpoint != 12 {
			t.Errorf("bob's record %+v, %v", r, err)
		}
		if r, err := tx.MutationRecordOf(ctx, amy, "client-amy", 1); err != nil || r.Checkpoint != 10 {
			t.Errorf("amy's record after bob's %+v, %v", r, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
