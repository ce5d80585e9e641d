package client

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// bulkChanges is a pull big enough for the bulk load: messages in two
// buckets, rewrites of the same row, deletes, and a row deleted then put
// again.
func bulkChanges() []*syncv1.Change {
	var out []*syncv1.Change
	seq := int64(0)
	put := func(bucket, entity, id, data string) {
		seq++
		out = append(out, &syncv1.Change{Seq: seq, Bucket: bucket, Entity: entity, EntityId: id, Op: syncv1.Op_OP_UPSERT, Data: []byte(data)})
	}
	del := func(bucket, entity, id string) {
		seq++
		out = append(out, &syncv1.Change{Seq: seq, Bucket: bucket, Entity: entity, EntityId: id, Op: syncv1.Op_OP_DELETE})
	}
	for i := range 1500 {
		b := fmt.Sprintf("chat:c%d", i%2)
		put(b, "message", fmt.Sprintf("m%04d", i), fmt.Sprintf(`{"_id":"m%04d","user":{"_id":"u%d"},"text":"v1","at":"2025-09-10T09:55:%02d.000Z"}`, i, i%3, i%60))
		if i%7 == 0 {
			put(b, "message", fmt.Sprintf("m%04d", i), fmt.Sprintf(`{"_id":"m%04d","user":"u9","text":"v2","at":"2025-09-11T09:55:%02d.000Z"}`, i, i%60))
		}
		if i%11 == 0 {
			del(b, "message", fmt.Sprintf("m%04d", i))
		}
		if i%13 == 0 {
			del(b, "message", fmt.Sprintf("m%04d", i/2))
			put(b, "message", fmt.Sprintf("m%04d", i/2), `{"user":"u8","text":"v3"}`)
		}
	}
	put("user:u1", "user", "u1", `{"_id":"u1","name":"Amy"}`)
	return out
}

func replicaRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT bucket, entity, id, seq, data, at, author FROM rows ORDER BY bucket, entity, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b, e, id, data, author string
		var seq, at int64
		if err := rows.Scan(&b, &e, &id, &seq, &data, &at, &author); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(b, e, id, seq, data, at, author))
	}
	return out
}

func rowIndexNames(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rows' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func testReplica(t *testing.T, name string) *sql.DB {
	t.Helper()
	db, err := openReplica(context.Background(), filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func applyIn(db *sql.DB, changes []*syncv1.Change, after func(*sql.Tx) error) error {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := applyChanges(ctx, tx, changes); err != nil {
		tx.Rollback()
		return err
	}
	if err := after(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// TestBulkLoadMatchesRowByRow: a large pull into an empty replica (bulk
// load: indexes built after, multi-row inserts) leaves exactly the rows
// and indexes that applying its changes one statement at a time does.
func TestBulkLoadMatchesRowByRow(t *testing.T) {
	changes := bulkChanges()
	bulk, single := testReplica(t, "bulk.db"), testReplica(t, "single.db")
	if err := applyIn(bulk, changes, func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// The reference: each change applied alone (one row per statement,
	// never the bulk path), all in one transaction.
	err := applyIn(single, nil, func(tx *sql.Tx) error {
		for _, ch := range changes {
			if err := applyChanges(context.Background(), tx, []*syncv1.Change{ch}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, want := replicaRows(t, bulk), replicaRows(t, single)
	if len(want) < 1000 || !slices.Equal(got, want) {
		t.Fatalf("bulk load differs: %d rows against %d row by row", len(got), len(want))
	}
	if idx := rowIndexNames(t, bulk); !slices.Equal(idx, []string{"rows_entity", "rows_timeline"}) {
		t.Fatalf("indexes after the bulk load: %v", idx)
	}
	var n int
	if err := bulk.QueryRow(`SELECT COUNT(*) FROM rows INDEXED BY rows_timeline WHERE bucket = 'chat:c0' AND entity = 'message' AND at > 0`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("timeline index unusable: %d, %v", n, err)
	}
	// A replica that already holds rows takes a large pull row by row into
	// its indexes, and ends the same.
	if err := applyIn(bulk, changes, func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := replicaRows(t, bulk); !slices.Equal(got, want) {
		t.Fatalf("re-applied pull differs")
	}
}

// TestBulkLoadRollsBack: a bulk load whose transaction fails leaves the
// replica empty with its indexes.
func TestBulkLoadRollsBack(t *testing.T) {
	db := testReplica(t, "r.db")
	err := applyIn(db, bulkChanges(), func(*sql.Tx) error { return fmt.Errorf("later step failed") })
	if err == nil {
		t.Fatal("want the failure")
	}
	if rows := replicaRows(t, db); len(rows) != 0 {
		t.Fatalf("%d rows left by a rolled-back pull", len(rows))
	}
	if idx := rowIndexNames(t, db); !slices.Equal(idx, []string{"rows_entity", "rows_timeline"}) {
		t.Fatalf("indexes after the rollback: %v", idx)
	}
	var cache int64
	if err := db.QueryRow(`PRAGMA cache_size`).Scan(&cache); err != nil || cache == bulkLoadCacheKiB {
		t.Fatalf("cache size after the load: %d, %v", cache, err)
	}
}
