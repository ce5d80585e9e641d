package server_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"

	_ "modernc.org/sqlite"
)

func pullAll(t *testing.T, c interface {
	Pull(context.Context, *connect.Request[syncv1.PullRequest]) (*connect.Response[syncv1.PullResponse], error)
}, cursor int64, buckets []string) (changes []*syncv1.Change, checkpoint int64, reset bool) {
	t.Helper()
	var token []byte
	for {
		res, err := c.Pull(context.Background(), connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, Cursor: cursor, Buckets: buckets, PageToken: token}))
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		changes = append(changes, res.Msg.Changes...)
		reset = reset || res.Msg.Reset_
		if len(res.Msg.NextPageToken) == 0 {
			return changes, res.Msg.Checkpoint, reset
		}
		token = res.Msg.NextPageToken
	}
}

func bios(changes []*syncv1.Change) []string {
	var out []string
	for _, c := range changes {
		if c.Entity == "user" && strings.Contains(string(c.Data), `"bio"`) {
			out = append(out, string(c.Data))
		}
	}
	return out
}

func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := servertest.Start(t, dir)
	amy := env.Register("Amy")
	c := syncClient(env, amy.Token)
	env.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "before the backup"}).Want(http.StatusOK)
	if err := os.WriteFile(filepath.Join(dir, "media", "kept.jpg"), []byte("jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Writers keep going during the backup; the backup holds every write
	// acknowledged before it began.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				env.Do("PATCH", "/users/me", amy.Token, map[string]string{"name": fmt.Sprintf("Amy %d.%d", w, i)}).Want(http.StatusOK)
			}
		})
	}
	dest := filepath.Join(t.TempDir(), "backup")
	cfg := server.Config{DataDir: dir}
	m, err := server.Backup(context.Background(), cfg, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup while serving: %v", err)
	}
	if m.MediaFiles != 1 || len(m.Migrations) == 0 || m.FeedHead == 0 {
		t.Fatalf("manifest %+v", m)
	}
	if _, err := server.Backup(context.Background(), cfg, dest); err == nil {
		t.Error("a second backup into the same folder was accepted")
	}

	// After the backup: another write, and Amy's device syncs it.
	env.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "after the backup"}).Want(http.StatusOK)
	_, cursor, _ := pullAll(t, c, 0, nil)
	if cursor <= m.FeedHead {
		t.Fatalf("cursor %d not past the backup's head %d", cursor, m.FeedHead)
	}

	t.Run("refused_while_a_server_runs", func(t *testing.T) {
		_, err := server.Restore(context.Background(), cfg, dest)
		if !errors.Is(err, store.ErrInUse) {
			t.Fatalf("restore under a running server: %v", err)
		}
	})
	env.Stop()

	res, err := server.Restore(context.Background(), cfg, dest)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if res.Replaced != cursor || res.FeedStart != cursor+4294967296 || res.Kept == "" || res.KeptMedia == "" {
		t.Fatalf("restore result %+v (device cursor %d)", res, cursor)
	}
	if _, err := os.Stat(res.Kept); err != nil {
		t.Errorf("replaced database not kept: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "media", "kept.jpg")); err != nil || string(b) != "jpeg" {
		t.Errorf("media after restore: %q, %v", b, err)
	}

	again := servertest.Start(t, dir)
	var me struct {
		User struct {
			Bio string `json:"bio"`
		} `json:"user"`
	}
	again.Do("GET", "/users/me", amy.Token, nil).Want(http.StatusOK).Decode(&me)
	if me.User.Bio != "before the backup" {
		t.Fatalf("bio after restore %q, want the one from before the backup", me.User.Bio)
	}
	// The device that synced after the backup is told to reset, then reads
	// the restored state; it does not keep the lost write.
	c2 := syncClient(again, amy.Token)
	changes, checkpoint, reset := pullAll(t, c2, cursor, []string{"user:" + amy.ID})
	if !reset {
		t.Fatal("a client that synced after the backup was not reset")
	}
	if checkpoint != cursor+4294967296 {
		t.Errorf("checkpoint %d, want %d (the feed continues 2^32 past every old position)", checkpoint, cursor+4294967296)
	}
	if got := bios(changes); len(got) == 0 || strings.Contains(strings.Join(got, ""), "after the backup") {
		t.Errorf("reset pull carried %v", got)
	}
	// New writes after the restore still reset cursors from before it.
	again.Do("PATCH", "/users/me", amy.Token, map[string]string{"bio": "new"}).Want(http.StatusOK)
	if _, _, reset := pullAll(t, c2, cursor, []string{"user:" + amy.ID}); !reset {
		t.Error("after new writes, a pre-restore cursor no longer resets")
	}
	if _, _, reset := pullAll(t, c2, checkpoint, []string{"user:" + amy.ID}); reset {
		t.Error("a cursor from after the restore was reset")
	}
}

func TestRestoreRefusesBadBackups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := servertest.New(t)
	backup := filepath.Join(t.TempDir(), "b")
	if _, err := server.Backup(ctx, server.Config{DataDir: src.Dir}, backup); err != nil {
		t.Fatal(err)
	}
	copyBackup := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "b")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"backup.json", "vibesync.db"} {
			b, err := os.ReadFile(filepath.Join(backup, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	restoreInto := func(t *testing.T, from string) error {
		_, err := server.Restore(ctx, server.Config{DataDir: t.TempDir()}, from)
		return err
	}
	t.Run("incomplete_without_manifest", func(t *testing.T) {
		b := copyBackup(t)
		os.Remove(filepath.Join(b, "backup.json"))
		if err := restoreInto(t, b); err == nil || !strings.Contains(err.Error(), "not a complete backup") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("not_a_database", func(t *testing.T) {
		b := copyBackup(t)
		if err := os.WriteFile(filepath.Join(b, "vibesync.db"), []byte(strings.Repeat("not sqlite ", 1000)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := restoreInto(t, b); err == nil {
			t.Fatal("restored a file that is not a database")
		}
	})
	t.Run("migration_unknown_to_this_build", func(t *testing.T) {
		b := copyBackup(t)
		db, err := sql.Open("sqlite", filepath.Join(b, "vibesync.db"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, 1)`)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		err = restoreInto(t, b)
		if err == nil || !strings.Contains(err.Error(), "[99999]") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("into_an_empty_data_folder", func(t *testing.T) {
		data := t.TempDir()
		res, err := server.Restore(ctx, server.Config{DataDir: data}, copyBackup(t))
		if err != nil {
			t.Fatal(err)
		}
		// Nothing replaced: the feed jumps 2^32 past the backup's head.
		if res.Replaced != -1 || res.FeedStart != res.Backup.FeedHead+4294967296 || res.Kept != "" {
			t.Fatalf("result %+v", res)
		}
	})
}
