package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/server/store"
)

// TestMigrate/instances_starting_together: several processes (here, several
// DB handles with their own writer) migrating one new database at the same
// moment all succeed, and every migration is applied once.
func TestMigrate(t *testing.T) {
	t.Run("instances_starting_together", func(t *testing.T) {
		ctx := context.Background()
		url := "file:" + filepath.ToSlash(filepath.Join(t.TempDir(), "shared.db"))
		const n = 4
		dbs := make([]*store.DB, n)
		for i := range dbs {
			db, err := store.Open(ctx, store.Config{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Migrate(ctx)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		}
		ms, err := dbs[0].Migrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if !m.Applied {
				t.Errorf("migration %d not applied", m.Version)
			}
		}
		if err := dbs[0].Ready(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
