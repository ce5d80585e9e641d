package store

import (
	"strings"
	"testing"
)

// TestPullQueryUsesTheBucketIndex: a pull is one query that picks its
// page from range searches of the covering index changes_bucket_seq (or,
// for a short range of seqs, from the primary key's range) and reads rows
// only by primary key, never scanning the table; an arm for new buckets
// is there only when the pull has some, since an arm for an empty list
// still steps through every readable bucket's changes.
func TestPullQueryUsesTheBucketIndex(t *testing.T) {
	db := openMigrated(t)
	held := []string{"chat:a", "chat:b"}
	for _, c := range []struct {
		name                   string
		f                      PullFilter
		bucketSearches, ranges int
	}{
		{"held, long range", PullFilter{UserID: "u", Held: held, Cursor: 10, Upto: 100000, Limit: 10}, 1, 0},
		{"held, short range (an incremental pull)", PullFilter{UserID: "u", Held: held, Cursor: 10, Upto: 12, Limit: 10}, 0, 1},
		{"every readable bucket held, long range", PullFilter{UserID: "u", Held: held, HeldAll: true, Cursor: 10, Upto: 100000, Limit: 10}, 1, 0},
		{"every readable bucket held, short range", PullFilter{UserID: "u", Held: held, HeldAll: true, Cursor: 10, Upto: 12, Limit: 10}, 0, 1},
		{"held and new buckets", PullFilter{UserID: "u", Held: held, Fresh: []string{"chat:c"}, Cursor: 10, Upto: 100000, Limit: 10}, 2, 0},
		{"new buckets only", PullFilter{UserID: "u", Fresh: []string{"chat:c"}, Cursor: 10, Upto: 10, Limit: 10}, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, args, err := pullStatement(c.f)
			if err != nil {
				t.Fatal(err)
			}
			plan := queryPlan(t, db, q, args...)
			searches, ranges := 0, 0
			for _, p := range plan {
				switch {
				case strings.HasPrefix(p, "SEARCH changes USING COVERING INDEX changes_bucket_seq (bucket=? AND seq>? AND seq<?)"):
					searches++
				case strings.HasPrefix(p, "SEARCH changes USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"):
					ranges++
				case strings.HasPrefix(p, "SEARCH c USING INTEGER PRIMARY KEY"):
				case strings.Contains(p, "changes") || strings.HasPrefix(p, "SCAN c"):
					t.Errorf("plan reads changes another way: %q\n%s", p, strings.Join(plan, "\n"))
				}
			}
			if searches != c.bucketSearches || ranges != c.ranges {
				t.Fatalf("want %d index searches and %d seq ranges, plan:\n%s", c.bucketSearches, c.ranges, strings.Join(plan, "\n"))
			}
		})
	}
}
