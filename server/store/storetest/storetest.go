// Package storetest gives tests a migrated database without migrating: a
// copy of one migrated template file. Migrating a fresh file runs every
// goose migration (schema, indexes, the version table) for each test; a
// copy is one file write.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/migrations"
	"github.com/vibesync/vibesync/server/store"
)

var (
	once     sync.Once
	template string
	buildErr error
)

// Template returns the path of a database file with every migration
// applied, built at most once per test binary and only read afterwards.
// It lives under os.TempDir, named after a hash of the migrations, so the
// test binaries of one tree (and later runs) share it; it is built under a
// temporary name and renamed into place, so binaries building it at once
// never see half a file.
func Template(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { template, buildErr = build() })
	if buildErr != nil {
		tb.Fatalf("storetest: build the template database: %v", buildErr)
	}
	return template
}

func build() (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), "vibesync-template-"+sum[:16])
	path := filepath.Join(dir, "migrated.db")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	tmp := filepath.Join(work, "migrated.db")
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + tmp})
	if err != nil {
		return "", err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return "", err
	}
	// Closing the last connection checkpoints the WAL into the file, so
	// the file alone is the whole database.
	if err := db.Close(); err != nil {
		return "", err
	}
	if _, err := os.Stat(tmp + "-wal"); err == nil {
		return "", fmt.Errorf("the WAL of %s outlived its close", tmp)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return path, nil
}

// migrationsHash identifies the migration files (names and contents).
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// CopyTo writes a copy of the template to path (its folder is created):
// a migrated database for one test.
func CopyTo(tb testing.TB, path string) {
	tb.Helper()
	src, err := os.Open(Template(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
}

// Open opens a fresh copy of the template in tb's temp folder with clock
// now (time.Now when nil), closed when the test ends.
func Open(tb testing.TB, now func() time.Time) *store.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "test.db")
	CopyTo(tb, path)
	db, err := store.Open(context.Background(), store.Config{URL: "file:" + path, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
