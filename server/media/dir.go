package media

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Dir stores files in a folder (the embedded default: <data>/media). Safe
// for concurrent use. Only instances on one host can share it.
type Dir struct {
	URLs
	root string
}

var _ Store = (*Dir)(nil)

// NewDir returns a Dir rooted at root (created if missing); baseURL is the
// server's public base URL.
func NewDir(root, baseURL string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("media: create %s: %w", root, err)
	}
	return &Dir{URLs: NewURLs(baseURL), root: root}, nil
}

func (d *Dir) path(key string) (string, error) {
	if !ValidKey(key) {
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

// Open opens the file of key; folders and invalid keys are ErrNotFound.
func (d *Dir) Open(_ context.Context, key string) (*Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, ErrNotFound
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("media: open %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("media: stat %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, ErrNotFound
	}
	return &Object{ReadSeekCloser: f, ContentType: ContentType(key), ModTime: fi.ModTime(), Size: fi.Size()}, nil
}

// Close does nothing: a folder holds no resources.
func (d *Dir) Close() error { return nil }
