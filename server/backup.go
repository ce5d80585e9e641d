package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vibesync/vibesync/server/store"
)

// A backup is a folder:
//
//	backup.json   the manifest, written last: a folder without it is incomplete
//	vibesync.db   the database, one file (SQLite's VACUUM INTO)
//	media/        the uploaded files
const (
	manifestName   = "backup.json"
	backupDBName   = "vibesync.db"
	backupMedia    = "media"
	manifestFormat = 1
)

// Manifest describes a backup.
type Manifest struct {
	Format     int       `json:"format"`
	CreatedAt  time.Time `json:"createdAt"`
	FeedHead   int64     `json:"feedHead"`
	Migrations []int64   `json:"migrations"`
	MediaFiles int       `json:"mediaFiles"`
}

// Backup writes a consistent backup of cfg's embedded database and media
// folder into dest, which must not exist or be empty, while servers keep
// serving from them. Every write acknowledged before Backup began is in it.
//
// Media files are written before the row that names them and deleted only
// after the row is gone, so the media folder is copied twice: before the
// database snapshot (everything the snapshot can name, except files
// uploaded meanwhile) and after it (those). A file uploaded between the
// copies and deleted again before the second copy is the only one a backup
// can miss, and only if its row was in the snapshot.
func Backup(ctx context.Context, cfg Config, dest string) (Manifest, error) {
	cfg = cfg.withDefaults()
	m := Manifest{Format: manifestFormat, CreatedAt: cfg.Now().UTC()}
	path, err := store.FilePath(cfg.DatabaseURL)
	if err != nil {
		return m, err
	}
	if err := emptyDir(dest); err != nil {
		return m, err
	}
	db, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL})
	if err != nil {
		return m, err
	}
	defer db.Close()
	media := filepath.Join(cfg.DataDir, "media")
	if _, err := copyTree(media, filepath.Join(dest, backupMedia)); err != nil {
		return m, err
	}
	if err := db.BackupTo(ctx, filepath.Join(dest, backupDBName)); err != nil {
		return m, err
	}
	if m.MediaFiles, err = copyTree(media, filepath.Join(dest, backupMedia)); err != nil {
		return m, err
	}
	snap, err := store.Inspect(ctx, filepath.Join(dest, backupDBName))
	if err != nil {
		return m, fmt.Errorf("backup of %s: %w", path, err)
	}
	m.FeedHead, m.Migrations = snap.FeedHead, snap.Migrations
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("backup: manifest: %w", err)
	}
	if err := writeFileSync(filepath.Join(dest, manifestName), append(b, '\n')); err != nil {
		return m, err
	}
	return m, nil
}

// ReadManifest reads the manifest of the backup in dir.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("%s is not a complete backup: it has no %s", dir, manifestName)
	}
	if err != nil {
		return m, fmt.Errorf("read backup manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("backup manifest %s: %w", filepath.Join(dir, manifestName), err)
	}
	if m.Format != manifestFormat {
		return m, fmt.Errorf("backup manifest format %d: this build reads format %d", m.Format, manifestFormat)
	}
	return m, nil
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Manifest Manifest
	store.Restored
	// KeptMedia is where the replaced media folder was moved ("" if none).
	KeptMedia string
}

// Restore puts the backup in src in place of cfg's embedded database and
// media folder. No server may be using them (store.ErrInUse otherwise).
// The backup is checked first (complete, opens, passes its integrity check,
// migrations known to this build); what it replaces is moved aside, never
// deleted. Sync clients get a reset on their next pull (see store.Restore).
func Restore(ctx context.Context, cfg Config, src string) (RestoreResult, error) {
	cfg = cfg.withDefaults()
	var res RestoreResult
	path, err := store.FilePath(cfg.DatabaseURL)
	if err != nil {
		return res, err
	}
	if res.Manifest, err = ReadManifest(src); err != nil {
		return res, err
	}
	if res.Restored, err = store.Restore(ctx, filepath.Join(src, backupDBName), path, cfg.Now()); err != nil {
		return res, err
	}
	media := filepath.Join(cfg.DataDir, "media")
	if _, err := os.Stat(media); err == nil {
		res.KeptMedia = media + ".before-restore-" + cfg.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(media, res.KeptMedia); err != nil {
			return res, fmt.Errorf("restore: move the replaced media folder aside: %w", err)
		}
	}
	if _, err := copyTree(filepath.Join(src, backupMedia), media); err != nil {
		return res, fmt.Errorf("restore media: %w", err)
	}
	return res, nil
}

// emptyDir creates dir, or accepts it when it exists and is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("backup: create %s: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("backup: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("backup: %s is not empty; back up into a new folder", dir)
	}
	return nil
}

// copyTree copies the regular files under src into dst (created), skipping
// files already there and temporary files (names starting with "."). A
// missing src copies nothing. It returns how many files dst holds from src.
func copyTree(src, dst string) (int, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, fmt.Errorf("copy %s: %w", src, err)
	}
	n := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // gone meanwhile (or no media yet)
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if _, err := os.Stat(target); err == nil {
			n++
			return nil
		}
		switch err := store.CopyFile(p, target); {
		case errors.Is(err, fs.ErrNotExist):
			return nil // deleted since the walk saw it
		case err != nil:
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", src, err)
	}
	return n, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
