package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// The chat list reads one entry per chat of the user: the user's read
// mark must come from the index the user's entries are found in, not from
// a participants row per chat (migration 00022), and each chat's activity
// time and versions from one index seek, not from the chat's row
// (migration 00023).
func TestChatListReadsIndexesOnly(t *testing.T) {
	t.Parallel()
	db := openMigrated(t)
	q, args := chatListStatement(ChatFilter{UserID: "u", Limit: 10})
	plan := queryPlan(t, db, q, args...)
	if !slices.Contains(plan, "SEARCH me USING COVERING INDEX chat_participants_user (user_id=?)") {
		t.Errorf("plan %q: want the participants read from chat_participants_user alone", plan)
	}
	if !slices.Contains(plan, "SEARCH c USING COVERING INDEX chats_list (id=?)") {
		t.Errorf("plan %q: want the chats read from chats_list alone", plan)
	}
}

// openMigrated opens a migrated embedded database in a temporary folder,
// closed when the test ends.
func openMigrated(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: "file:" + filepath.Join(t.TempDir(), "plan.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// queryPlan returns the detail lines of EXPLAIN QUERY PLAN for q.
func queryPlan(t *testing.T, db *DB, q string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	var plan []string
	err := db.Read(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return err
			}
			plan = append(plan, detail)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}
