package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestPullQueryUsesTheBucketIndex: a pull is one query that picks its
// page from range searches of the covering index changes_bucket_seq and
// reads rows only by primary key, never scanning the table.
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
		switch {
		case strings.HasPrefix(p, "SEARCH changes USING COVERING INDEX changes_bucket_seq (bucket=? AND seq>? AND seq<?)"):
			searches++
		case strings.HasPrefix(p, "SEARCH c USING INTEGER PRIMARY KEY"):
		case strings.Contains(p, "changes") || strings.HasPrefix(p, "SCAN c"):
			t.Errorf("plan reads changes another way: %q\n%s", p, strings.Join(plan, "\n"))
		}
	}
	if searches != 2 {
		t.Fatalf("want two index searches (held and new buckets), plan:\n%s", strings.Join(plan, "\n"))
	}
}
