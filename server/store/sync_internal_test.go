package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestPullQueryUsesTheBucketIndex: a pull is one query whose every read of
// changes is a range search of changes_bucket_seq, never a table scan.
func TestPullQueryUsesTheBucketIndex(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: "file:" + filepath.Join(t.TempDir(), "plan.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var plan []string
	err = db.Read(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, "EXPLAIN QUERY PLAN "+pullQuery, "u", "user:u", 0, 10, "[]", 0, 0, "[]", 10)
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
	searches := 0
	for _, p := range plan {
		if strings.Contains(p, "changes") {
			if !strings.HasPrefix(p, "SEARCH changes USING INDEX changes_bucket_seq") {
				t.Errorf("plan reads changes without the bucket index: %q\n%s", p, strings.Join(plan, "\n"))
			}
			searches++
		}
	}
	if searches != 2 {
		t.Fatalf("want two index searches (held and new buckets), plan:\n%s", strings.Join(plan, "\n"))
	}
}
