// Package mediatest holds the contract every media.Store keeps, for the
// tests of each implementation.
package mediatest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/media"
)

// TestStore checks s against the media.Store contract: put, open, replace
// and delete, URLs and their keys under "https://cdn.test" (s must be
// made with that base URL), invalid keys refused, folders not taken for
// files, and serving with types, lengths and ranges. s starts empty.
func TestStore(t *testing.T, s media.Store) {
	t.Helper()
	ctx := context.Background()
	t.Run("put_open_and_delete", func(t *testing.T) {
		if err := s.Put(ctx, "chats/c1/p.png", []byte("png bytes")); err != nil {
			t.Fatal(err)
		}
		obj, err := s.Open(ctx, "chats/c1/p.png")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || string(b) != "png bytes" {
			t.Fatalf("read %q, %v", b, err)
		}
		if obj.ContentType != "image/png" || obj.Size != 9 || obj.ModTime.IsZero() {
			t.Fatalf("object: type %q, size %d, modified %v", obj.ContentType, obj.Size, obj.ModTime)
		}
		if err := s.Delete(ctx, "chats/c1/p.png"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, "chats/c1/p.png"); !errors.Is(err, media.ErrNotFound) {
			t.Fatalf("open after delete: %v, want media.ErrNotFound", err)
		}
		if err := s.Delete(ctx, "chats/c1/p.png"); err != nil {
			t.Fatalf("deleting a missing file: %v", err)
		}
	})
	t.Run("put_replaces", func(t *testing.T) {
		for _, data := range []string{"first", "second"} {
			if err := s.Put(ctx, "chats/c2/p.jpg", []byte(data)); err != nil {
				t.Fatal(err)
			}
		}
		obj, err := s.Open(ctx, "chats/c2/p.jpg")
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		if b, _ := io.ReadAll(obj); string(b) != "second" || obj.ContentType != "image/jpeg" {
			t.Fatalf("read %q as %q", b, obj.ContentType)
		}
	})
	t.Run("url_and_keyof", func(t *testing.T) {
		u := s.URL("chats/c1/p.png")
		if u != "https://cdn.test/media/chats/c1/p.png" {
			t.Fatalf("url %s", u)
		}
		if k, ok := s.KeyOf(u); !ok || k != "chats/c1/p.png" {
			t.Fatalf("key %q %v", k, ok)
		}
		for _, foreign := range []string{"https://elsewhere.test/media/chats/c1/p.png", "https://cdn.test/media/../x", "https://cdn.test/other/p.png", ""} {
			if _, ok := s.KeyOf(foreign); ok {
				t.Errorf("%q taken for ours", foreign)
			}
		}
	})
	t.Run("invalid_keys", func(t *testing.T) {
		for _, k := range []string{"../x", "/etc/passwd", "a/../../x", "a b", "", "a//b", "a/", "./a"} {
			if err := s.Put(ctx, k, []byte("x")); err == nil {
				t.Errorf("put %q accepted", k)
			}
			if err := s.Delete(ctx, k); err == nil {
				t.Errorf("delete %q accepted", k)
			}
			if _, err := s.Open(ctx, k); !errors.Is(err, media.ErrNotFound) {
				t.Errorf("open %q: %v, want media.ErrNotFound", k, err)
			}
		}
	})
	t.Run("folders_are_not_files", func(t *testing.T) {
		if err := s.Put(ctx, "chats/c3/p.webp", []byte("webp")); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"chats/c3", "chats", "chats/c3/nope.webp"} {
			if _, err := s.Open(ctx, k); !errors.Is(err, media.ErrNotFound) {
				t.Errorf("open %q: %v, want media.ErrNotFound", k, err)
			}
		}
	})
	t.Run("serve", func(t *testing.T) {
		if err := s.Put(ctx, "chats/c4/p.gif", []byte("GIF89a-bytes")); err != nil {
			t.Fatal(err)
		}
		get := func(method string, h http.Header) *httptest.ResponseRecorder {
			obj, err := s.Open(ctx, "chats/c4/p.gif")
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Close()
			req := httptest.NewRequest(method, "/media/chats/c4/p.gif", nil)
			for k, v := range h {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			media.Serve(rec, req, obj)
			return rec
		}
		rec := get(http.MethodGet, nil)
		if rec.Code != 200 || rec.Body.String() != "GIF89a-bytes" || rec.Header().Get("Content-Type") != "image/gif" ||
			rec.Header().Get("Content-Length") != "12" || rec.Header().Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Fatalf("GET: %d %q %v", rec.Code, rec.Body, rec.Header())
		}
		rec = get(http.MethodGet, http.Header{"Range": {"bytes=3-5"}})
		if rec.Code != http.StatusPartialContent || rec.Body.String() != "89a" || rec.Header().Get("Content-Range") != "bytes 3-5/12" {
			t.Fatalf("range: %d %q %v", rec.Code, rec.Body, rec.Header())
		}
		rec = get(http.MethodHead, nil)
		if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "12" {
			t.Fatalf("HEAD: %d %q %v", rec.Code, rec.Body, rec.Header())
		}
	})
}
