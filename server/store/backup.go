package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vibesync/vibesync/migrations"
)

// ErrInUse reports that a database file is open in a server (or another
// restore holds it) where it must not be.
var ErrInUse = errors.New("store: the database is in use; stop every server using it first")

// FilePath is the path of an embedded database's URL ("file:PATH?…"), or
// an error for any other URL.
func FilePath(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("store: parse database URL: %w", err)
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("store: %s is not an embedded database (file: URL); back up a libSQL server with its own tools", u.Redacted())
	}
	path := u.Opaque
	if path == "" {
		path = u.Path
	}
	if path == "" {
		return "", errors.New("store: file: URL needs a path")
	}
	return path, nil
}

// BackupTo writes a consistent copy of the embedded database to path, which
// must not exist, while the database stays in use: SQLite's VACUUM INTO
// reads one snapshot (every write committed before it began, none after)
// on a read-only connection of its own, so writers are not held up. The
// copy is one compact file in rollback-journal mode.
func (db *DB) BackupTo(ctx context.Context, path string) error {
	if !db.local {
		return errors.New("store: only an embedded database can be backed up this way; back up a libSQL server with its own tools")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("store: backup %s: %w", path, fs.ErrExist)
	}
	src, err := FilePath(db.dsn)
	if err != nil {
		return err
	}
	ro, err := openReadOnly(src)
	if err != nil {
		return err
	}
	defer ro.Close()
	if _, err := ro.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: backup into %s: %w", path, err)
	}
	return syncFile(path)
}

// Snapshot describes a database file: what Inspect found in it.
type Snapshot struct {
	// FeedHead is the highest change-feed seq it holds.
	FeedHead int64
	// Migrations are the versions of the applied migrations, ascending.
	Migrations []int64
	// Unknown are applied versions this build has no migration for (the
	// file comes from a newer vibesync).
	Unknown []int64
}

// Inspect opens the database file at path read-only, checks its integrity
// (PRAGMA integrity_check) and reads its feed head and applied migrations.
func Inspect(ctx context.Context, path string) (Snapshot, error) {
	var s Snapshot
	if _, err := os.Stat(path); err != nil {
		return s, fmt.Errorf("store: inspect: %w", err)
	}
	ro, err := openReadOnly(path)
	if err != nil {
		return s, err
	}
	defer ro.Close()
	var check string
	if err := ro.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		return s, fmt.Errorf("store: %s does not open as a database: %w", path, err)
	}
	if check != "ok" {
		return s, fmt.Errorf("store: %s fails its integrity check: %s", path, check)
	}
	rows, err := ro.QueryContext(ctx, `SELECT version_id FROM goose_db_version g
		WHERE version_id > 0 AND is_applied AND id = (SELECT MAX(id) FROM goose_db_version WHERE version_id = g.version_id)
		ORDER BY version_id`)
	if err != nil {
		return s, fmt.Errorf("store: %s has no migration history: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return s, fmt.Errorf("store: read migrations of %s: %w", path, err)
		}
		s.Migrations = append(s.Migrations, v)
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("store: read migrations of %s: %w", path, err)
	}
	if len(s.Migrations) == 0 {
		return s, fmt.Errorf("store: %s has no applied migration: not a vibesync database", path)
	}
	known, err := KnownMigrations()
	if err != nil {
		return s, err
	}
	for _, v := range s.Migrations {
		if !slices.Contains(known, v) {
			s.Unknown = append(s.Unknown, v)
		}
	}
	if slices.Contains(s.Migrations, 7) { // the change feed exists from 00007 on
		err = ro.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`).Scan(&s.FeedHead)
		if err != nil {
			return s, fmt.Errorf("store: read feed head of %s: %w", path, err)
		}
	}
	return s, nil
}

// KnownMigrations lists the migration versions this build carries.
func KnownMigrations() ([]int64, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	var out []int64
	for _, n := range names {
		num, _, _ := strings.Cut(n, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("store: migration file %s has no version number", n)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// RestoreGap is how far a restore moves the feed past the highest position
// it knows of (the backup's head, the replaced database's head): far beyond
// any position a lost database could have handed out, even when the
// database it replaces is not the one devices synced with (none there, one
// that does not open, or a fresh one started after a loss). int64
// positions leave room for two billion restores.
const RestoreGap = 1 << 32

// Restored says what Restore did.
type Restored struct {
	Backup Snapshot // what the backup held
	// Replaced is the feed head of the database that was replaced, -1 when
	// there was none or it did not open.
	Replaced int64
	// FeedStart is the feed position the restored database continues from;
	// every sync cursor below it gets a reset.
	FeedStart int64
	// Kept is where the replaced database files were moved ("" if none).
	Kept string
}

// Restore replaces the embedded database at path with the backup file src
// (made by BackupTo). No server may have path open: Restore holds the
// database's lock exclusively and fails with ErrInUse otherwise. It checks
// that the backup opens, passes its integrity check and has only known
// migrations, migrates it to this build, and moves the database it
// replaces aside (path + ".before-restore-<time>"), never deleting it.
//
// Sync clients must not be rewound silently: positions the replaced
// database handed out after the backup are reused by the restored one. So
// the restored feed continues from FeedStart, RestoreGap past every
// position the backup and the replaced database reached, and the tombstone
// horizon moves there too: every client
// cursor from before the restore gets a reset and re-reads its buckets, so
// it drops rows the backup does not have.
func Restore(ctx context.Context, src, path string, now time.Time) (Restored, error) {
	out := Restored{Replaced: -1}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return out, fmt.Errorf("store: create database folder: %w", err)
	}
	unlock, err := lockFile(path, true)
	if err != nil {
		return out, err
	}
	defer unlock()
	if out.Backup, err = Inspect(ctx, src); err != nil {
		return out, fmt.Errorf("store: backup %s: %w", src, err)
	}
	if len(out.Backup.Unknown) > 0 {
		return out, fmt.Errorf("store: backup %s has migrations this build does not know (%v): restore it with the vibesync version that made it, or newer", src, out.Backup.Unknown)
	}
	if _, err := os.Stat(path); err == nil {
		if head, err := feedHeadOf(ctx, path); err == nil {
			out.Replaced = head
		}
	}
	out.FeedStart = max(out.Replaced, out.Backup.FeedHead) + RestoreGap

	tmp := path + ".restoring"
	removeDB(tmp)
	if err := CopyFile(src, tmp); err != nil {
		return out, err
	}
	if err := prepareRestored(ctx, tmp, out.FeedStart); err != nil {
		removeDB(tmp)
		return out, err
	}
	if _, err := os.Stat(path); err == nil {
		out.Kept = path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(path+suffix, out.Kept+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return out, fmt.Errorf("store: move the replaced database aside: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return out, fmt.Errorf("store: put the restored database in place: %w", err)
	}
	return out, syncDir(filepath.Dir(path))
}

// prepareRestored migrates the copy at path and moves its feed to start.
func prepareRestored(ctx context.Context, path string, start int64) error {
	db, err := Open(ctx, Config{URL: "file:" + filepath.ToSlash(path)})
	if err != nil {
		return err
	}
	err = db.Migrate(ctx)
	if err == nil {
		err = db.Write(ctx, func(tx *Tx) error {
			if _, err := tx.exec(ctx, `INSERT INTO sqlite_sequence (name, seq) SELECT 'changes', 0
				WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'changes')`); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `UPDATE sqlite_sequence SET seq = ? WHERE name = 'changes'`, start); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `UPDATE feed_horizon SET tombstones_through = ?`, start); err != nil {
				return err
			}
			// Sockets of the replaced database's instances are gone.
			_, err := tx.exec(ctx, `DELETE FROM presence`)
			return err
		})
	}
	if err == nil {
		_, err = db.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	os.Remove(path + ".lock")
	if err != nil {
		return fmt.Errorf("store: prepare the restored database: %w", translate(err))
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(path + suffix) // checkpointed and closed: nothing left in them
	}
	return syncFile(path)
}

// feedHeadOf reads the feed head of the database file at path, writable
// (a crashed server may have left committed writes in its WAL).
func feedHeadOf(ctx context.Context, path string) (int64, error) {
	conn, err := fileConnector("file:" + filepath.ToSlash(path))
	if err != nil {
		return 0, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var head int64
	err = db.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`).Scan(&head)
	return head, err
}

func openReadOnly(path string) (*sql.DB, error) {
	conn, err := fileConnector("file:" + filepath.ToSlash(path) + "?mode=ro&_busy_timeout=10000")
	if err != nil {
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal", ".lock"} {
		os.Remove(path + suffix)
	}
}

// CopyFile copies the file src to dst durably and atomically: into a
// temporary file beside dst, synced, then renamed into place, so dst is
// either absent (or as it was) or the whole copy. The data directory
// backup and the restore both copy this way.
func CopyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("store: copy: %w", err)
	}
	defer in.Close()
	tmp := filepath.Join(filepath.Dir(dst), ".copy-"+filepath.Base(dst))
	out, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("store: copy: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = io.Copy(out, in); err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		return fmt.Errorf("store: copy %s: %w", src, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	defer d.Close()
	_ = d.Sync() // not every filesystem syncs directories; the renames are done either way
	return nil
}
