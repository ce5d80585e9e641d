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
	"testing"

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
		if exists(photoFile(t, root, ch.Photo)) || !exists(photoFile(t, root, got.Photo)) {
			t.Fatal("want the old photo gone and the new one stored")
		}
	})
}
