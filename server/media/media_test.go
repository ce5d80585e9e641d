package media_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vibesync/vibesync/server/media"
	"github.com/vibesync/vibesync/server/media/mediatest"
)

func TestDirStore(t *testing.T) {
	t.Parallel()
	dir, err := media.NewDir(filepath.Join(t.TempDir(), "media"), "https://cdn.test/")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	mediatest.TestStore(t, dir)
}

func TestDirKeepsFilesInsideItsRoot(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "media")
	d, err := media.NewDir(root, "https://cdn.test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Put(ctx, "chats/c1/p.png", []byte("png")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "chats", "c1", "p.png")); err != nil || string(b) != "png" {
		t.Fatalf("file on disk: %q, %v", b, err)
	}
	for _, k := range []string{"../x", "a/../../x"} {
		d.Put(ctx, k, []byte("x"))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "x")); !os.IsNotExist(err) {
		t.Fatal("wrote outside the root")
	}
}

func TestParseS3URL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string][2]string{
		"http://seaweed:8333/vibesync-media":     {"http://seaweed:8333", "vibesync-media"},
		"https://s3.example.com/media.bucket/":   {"https://s3.example.com", "media.bucket"},
		"s3://vibesync-media":                    {"", "vibesync-media"},
		"https://s3.eu-west-1.amazonaws.com/abc": {"https://s3.eu-west-1.amazonaws.com", "abc"},
	} {
		ep, b, err := media.ParseS3URL(raw)
		if err != nil || ep != want[0] || b != want[1] {
			t.Errorf("%s: %q %q %v, want %q %q", raw, ep, b, err, want[0], want[1])
		}
	}
	for _, raw := range []string{
		"", "seaweed:8333/bucket", "ftp://host/bucket", "http:///bucket", "http://host", "http://host/a/b",
		"s3://bucket/path", "http://key:secret@host/bucket", "http://host/bucket?region=x", "http://host/Bucket",
		"http://host/ab", "http://host/-bucket", "http://host/a..b",
	} {
		if ep, b, err := media.ParseS3URL(raw); err == nil {
			t.Errorf("%q accepted as %q %q", raw, ep, b)
		}
	}
}
