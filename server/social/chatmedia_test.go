package social_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/media"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/server/store/storetest"
)

var pngBytes = realPNG(8, 8)

// realPNG is a w×h grey PNG, encoded here: uploads are decoded whole.
func realPNG(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// mediaService is mustService with chat photos stored in a real folder.
func mediaService(t *testing.T) (*social.Service, *store.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db := storetest.Open(t, nil)
	tokens, err := auth.NewTokens([]byte(strings.Repeat("k", 32)), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "media")
	files, err := media.NewDir(root, "http://vibesync.test")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := social.New(social.Config{DB: db, Tokens: tokens, Media: files,
		Password: auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, db, root
}

// photoFile is where the photo behind url is stored under root.
func photoFile(t *testing.T, root, url string) string {
	t.Helper()
	key, ok := strings.CutPrefix(url, "http://vibesync.test"+media.Prefix)
	if !ok {
		t.Fatalf("photo URL %q is not a media URL", url)
	}
	return filepath.Join(root, filepath.FromSlash(key))
}

// settle waits for the deletions started after commits and runs the
// retry pass once: files queued for deletion are gone when it returns.
func settle(t *testing.T, svc *social.Service) {
	t.Helper()
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeleteQueuedMedia(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestChatMediaGoesOnlyAfterCommit checks that stored files of a chat are
// deleted only once the write that drops them commits, also when the
// transaction rolls back after that write succeeded (a later step of a
// group commit or of a sync push failed).
func TestChatMediaGoesOnlyAfterCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	boom := errors.New("a later step of the batch failed")
	setup := func(t *testing.T) (*social.Service, *store.DB, string, social.Caller, social.Chat) {
		svc, db, root := mediaService(t)
		reg, err := svc.Register(ctx, social.Registration{Name: "Amy", Username: "amy", Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		amy := social.Caller{UserID: reg.User.ID}
		ch, _, err := svc.CreateChat(ctx, amy, social.NewChat{IsGroup: true, Name: "G", Category: "Study", Participants: &[]string{}})
		if err != nil {
			t.Fatal(err)
		}
		ch, err = svc.UpdateChat(ctx, amy, ch.ID, social.ChatUpdate{Photo: &social.Upload{Data: pngBytes}})
		if err != nil {
			t.Fatal(err)
		}
		if !exists(photoFile(t, root, ch.Photo)) {
			t.Fatal("uploaded photo not stored")
		}
		return svc, db, root, amy, ch
	}
	t.Run("delete_chat_in_a_rolled_back_transaction_keeps_the_photo", func(t *testing.T) {
		svc, db, root, amy, ch := setup(t)
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := svc.DeleteChatIn(ctx, tx, amy, ch.ID); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("outer transaction: %v", err)
		}
		settle(t, svc)
		if !exists(photoFile(t, root, ch.Photo)) {
			t.Fatal("the photo was deleted although the chat deletion rolled back")
		}
		if _, err := svc.Chat(ctx, amy, ch.ID); err != nil {
			t.Fatalf("chat gone after rollback: %v", err)
		}
	})
	t.Run("delete_chat_deletes_the_photo_after_the_commit", func(t *testing.T) {
		svc, db, root, amy, ch := setup(t)
		path := photoFile(t, root, ch.Photo)
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := svc.DeleteChatIn(ctx, tx, amy, ch.ID); err != nil {
				return err
			}
			if !exists(path) {
				t.Error("the photo was deleted before the commit")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		settle(t, svc)
		if exists(path) {
			t.Fatal("the photo outlived its chat")
		}
	})
	t.Run("replacing_the_photo_in_a_failed_update_keeps_the_old_one", func(t *testing.T) {
		svc, _, root, amy, ch := setup(t)
		// The new photo is stored before the write, which then fails:
		// a chat cannot move into the Event category.
		event := "Event"
		_, err := svc.UpdateChat(ctx, amy, ch.ID, social.ChatUpdate{Category: &event, Photo: &social.Upload{Data: pngBytes}})
		if !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("update into Event: %v, want invalid", err)
		}
		if !exists(photoFile(t, root, ch.Photo)) {
			t.Fatal("the chat's photo was deleted although the replacement failed")
		}
		entries, err := os.ReadDir(filepath.Dir(photoFile(t, root, ch.Photo)))
		if err != nil || len(entries) != 1 {
			t.Fatalf("after the failed update the chat's folder holds %d files (%v); want only the kept photo", len(entries), err)
		}
	})
	t.Run("replacing_the_photo_deletes_the_old_one", func(t *testing.T) {
		svc, _, root, amy, ch := setup(t)
		got, err := svc.UpdateChat(ctx, amy, ch.ID, social.ChatUpdate{Photo: &social.Upload{Data: pngBytes}})
		if err != nil {
			t.Fatal(err)
		}
		settle(t, svc)
		if exists(photoFile(t, root, ch.Photo)) || !exists(photoFile(t, root, got.Photo)) {
			t.Fatal("want the old photo gone and the new one stored")
		}
	})
}

// flakyStorage is a media folder whose deletions fail while down is set,
// as an S3 server that cannot be reached does.
type flakyStorage struct {
	*media.Dir
	down    atomic.Bool
	deletes atomic.Int64
}

func (f *flakyStorage) Delete(ctx context.Context, key string) error {
	f.deletes.Add(1)
	if f.down.Load() {
		return errors.New("media store unreachable")
	}
	return f.Dir.Delete(ctx, key)
}

// TestMediaDeletionSurvivesAStoreOutage checks that a file whose deletion
// fails after the commit stays queued and is deleted by a later pass,
// after a backoff, once the store answers again; and that nothing is
// queued for good once it is gone.
func TestMediaDeletionSurvivesAStoreOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	db := storetest.Open(t, clock)
	tokens, err := auth.NewTokens([]byte(strings.Repeat("k", 32)), 0, clock)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "media")
	dir, err := media.NewDir(root, "http://vibesync.test")
	if err != nil {
		t.Fatal(err)
	}
	files := &flakyStorage{Dir: dir}
	svc, err := social.New(social.Config{DB: db, Tokens: tokens, Media: files,
		Password: auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := svc.Register(ctx, social.Registration{Name: "Amy", Username: "amy", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	amy := social.Caller{UserID: reg.User.ID}
	ch, _, err := svc.CreateChat(ctx, amy, social.NewChat{IsGroup: true, Name: "G", Category: "Study", Participants: &[]string{}})
	if err != nil {
		t.Fatal(err)
	}
	ch, err = svc.UpdateChat(ctx, amy, ch.ID, social.ChatUpdate{Photo: &social.Upload{Data: pngBytes}})
	if err != nil {
		t.Fatal(err)
	}
	path := photoFile(t, root, ch.Photo)
	queued := func() []store.MediaDeletion {
		t.Helper()
		var out []store.MediaDeletion
		if err := db.Read(ctx, func(tx *store.Tx) (err error) { out, err = tx.MediaDeletions(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		return out
	}

	files.down.Store(true)
	if err := svc.DeleteChat(ctx, amy, ch.ID); err != nil {
		t.Fatal(err)
	}
	svc.Close() // the deletion tried at commit has failed
	if !exists(path) || files.deletes.Load() != 1 {
		t.Fatalf("photo exists %v after %d deletions; want it kept by the outage after 1", exists(path), files.deletes.Load())
	}
	if q := queued(); len(q) != 1 || q[0].Attempts != 0 {
		t.Fatalf("queue after the failed deletion at commit: %+v; want the photo, due at once", q)
	}
	if n, err := svc.DeleteQueuedMedia(ctx); err != nil || n != 0 {
		t.Fatalf("pass during the outage: %d deleted, %v", n, err)
	}
	q := queued()
	if len(q) != 1 || q[0].Attempts != 1 || q[0].LastError != "media store unreachable" || !q[0].NextAttemptAt.Equal(now.Add(30*time.Second)) {
		t.Fatalf("queue after a failed pass: %+v; want 1 attempt, retried 30s later", q)
	}

	files.down.Store(false)
	before := files.deletes.Load()
	if n, err := svc.DeleteQueuedMedia(ctx); err != nil || n != 0 || files.deletes.Load() != before {
		t.Fatalf("pass before the backoff ended: %d deleted (%d store calls), %v; want nothing tried", n, files.deletes.Load()-before, err)
	}
	advance(30 * time.Second)
	if n, err := svc.DeleteQueuedMedia(ctx); err != nil || n != 1 {
		t.Fatalf("pass after the backoff: %d deleted, %v; want 1", n, err)
	}
	if exists(path) {
		t.Fatal("the photo outlived its chat")
	}
	if q := queued(); len(q) != 0 {
		t.Fatalf("queue after the deletion: %+v; want empty", q)
	}
}
