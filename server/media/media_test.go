package media

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "media")
	d, err := NewDir(root, "https://cdn.test/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Run("put_url_keyof_and_delete", func(t *testing.T) {
		if err := d.Put(ctx, "chats/c1/p.png", []byte("png")); err != nil {
			t.Fatal(err)
		}
		u := d.URL("chats/c1/p.png")
		if u != "https://cdn.test/media/chats/c1/p.png" {
			t.Fatalf("url %s", u)
		}
		if k, ok := d.KeyOf(u); !ok || k != "chats/c1/p.png" {
			t.Fatalf("key %q %v", k, ok)
		}
		if _, ok := d.KeyOf("https://elsewhere.test/media/chats/c1/p.png"); ok {
			t.Fatal("foreign URL taken for ours")
		}
		if err := d.Delete(ctx, "chats/c1/p.png"); err != nil {
			t.Fatal(err)
		}
		if err := d.Delete(ctx, "chats/c1/p.png"); err != nil {
			t.Fatalf("deleting a missing file: %v", err)
		}
	})
	t.Run("keys_cannot_escape_the_root", func(t *testing.T) {
		for _, k := range []string{"../x", "/etc/passwd", "a/../../x", "a b", "", "a//b"} {
			if err := d.Put(ctx, k, []byte("x")); err == nil {
				t.Errorf("key %q accepted", k)
			}
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(root), "x")); !os.IsNotExist(err) {
			t.Fatal("wrote outside the root")
		}
	})
	t.Run("serves_files_not_folders", func(t *testing.T) {
		d.Put(ctx, "chats/c2/p.png", []byte("png"))
		for path, want := range map[string]int{"/media/chats/c2/p.png": 200, "/media/chats/c2/": 404, "/media/chats": 404, "/media/nope.png": 404} {
			rec := httptest.NewRecorder()
			d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != want {
				t.Errorf("%s: %d, want %d", path, rec.Code, want)
			}
		}
	})
}
