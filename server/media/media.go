// Package media keeps uploaded files (chat photos) in a folder of the data
// directory and serves them at /media/....
package media

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Prefix is the URL path under which stored files are served.
const Prefix = "/media/"

// Dir stores files under Root and hands out URLs below BaseURL + Prefix.
// Safe for concurrent use.
type Dir struct {
	root    string
	baseURL string
}

// NewDir returns a Dir rooted at root (created if missing); baseURL is the
// server's public base URL without a trailing slash.
func NewDir(root, baseURL string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("media: create %s: %w", root, err)
	}
	return &Dir{root: root, baseURL: strings.TrimRight(baseURL, "/")}, nil
}

// validKey accepts slash-separated keys of safe names only.
func validKey(key string) bool {
	if key == "" || !fs.ValidPath(key) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || c == '/') {
			return false
		}
	}
	return true
}

func (d *Dir) path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("media: invalid key %q", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes data under key atomically (temp file, then rename).
func (d *Dir) Put(_ context.Context, key string, data []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("media: create folder: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return fmt.Errorf("media: temp file: %w", err)
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("media: write %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("media: close %s: %w", key, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("media: store %s: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing file is not an error.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("media: delete %s: %w", key, err)
	}
	return nil
}

// URL is the absolute public URL of key.
func (d *Dir) URL(key string) string { return d.baseURL + Prefix + key }

// KeyOf returns the key of a URL this Dir handed out.
func (d *Dir) KeyOf(url string) (string, bool) {
	key, ok := strings.CutPrefix(url, d.baseURL+Prefix)
	if !ok || !validKey(key) {
		return "", false
	}
	return key, true
}

// Handler serves stored files at Prefix. Directory listings are refused.
func (d *Dir) Handler() http.Handler {
	files := http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.FileServer(http.Dir(d.root)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, Prefix)
		if !validKey(key) || strings.HasSuffix(key, "/") {
			http.NotFound(w, r)
			return
		}
		if fi, err := os.Stat(filepath.Join(d.root, filepath.FromSlash(key))); err != nil || fi.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}
