// Package media keeps uploaded files (chat photos) and serves them at
// /media/...: in a folder of the data directory by default (Dir), or in an
// S3-compatible bucket (package s3media, opened through an S3Opener) so
// that every instance of a deployment spread over several hosts reads the
// same files. Either way the URLs handed out are <public URL>/media/<key>,
// and the instance streams the file: clients never see where it is kept.
//
// The S3 driver lives in its own package because of its weight: the AWS
// SDK and gocloud.dev, with what they pull in (gRPC, OpenTelemetry), add
// some 260 packages to the 410 a server's test binary links otherwise,
// and about a second of CPU to linking each one. Only what serves
// from a bucket (cmd/vibesyncd) imports s3media and hands its Open to the
// server as an S3Opener; everything else, the server's own tests among
// them, links without it.
package media

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the URL path under which stored files are served.
const Prefix = "/media/"

// ErrNotFound is returned by Open for a key that is not stored (or is not
// a valid key at all).
var ErrNotFound = errors.New("media: not found")

// Store keeps files under slash-separated keys such as
// "chats/<id>/<file>.png". Implementations are safe for concurrent use.
type Store interface {
	// Put stores data under key, replacing what was there.
	Put(ctx context.Context, key string, data []byte) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Open opens key for reading; ErrNotFound when it is not stored. The
	// caller closes the object.
	Open(ctx context.Context, key string) (*Object, error)
	// URL is the absolute public URL of key.
	URL(key string) string
	// KeyOf returns the key of a URL this store handed out.
	KeyOf(url string) (string, bool)
	// Close releases the store's resources.
	Close() error
}

// Object is a stored file opened for reading.
type Object struct {
	io.ReadSeekCloser
	// ContentType is the file's media type, from its key's extension.
	ContentType string
	// ModTime is when it was stored.
	ModTime time.Time
	// Size is its length in bytes.
	Size int64
}

// Serve answers r with obj: its bytes, type and length, ranges and
// If-Modified-Since as http.ServeContent does them. Stored files never
// change (a new photo gets a new key), so they may be cached for good.
func Serve(w http.ResponseWriter, r *http.Request, obj *Object) {
	h := w.Header()
	h.Set("Content-Type", obj.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", obj.ModTime, obj.ReadSeekCloser)
}

// ContentType is the media type of a key, from its extension (the
// extensions of uploaded photos are in Go's built-in table, so this does
// not depend on the host's mime files).
func ContentType(key string) string {
	if t := mime.TypeByExtension(path.Ext(key)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// ValidKey accepts slash-separated keys of safe names only: letters,
// digits, '.', '-' and '_' between single slashes, no "." or ".."
// elements.
func ValidKey(key string) bool {
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

// URLs maps keys to public URLs and back; every store embeds it, so a
// deployment that moves its files to a bucket keeps its URLs.
type URLs struct {
	baseURL string // public base URL without a trailing slash
}

// NewURLs maps keys to URLs under baseURL, the server's public base URL.
func NewURLs(baseURL string) URLs { return URLs{baseURL: strings.TrimRight(baseURL, "/")} }

// URL is the absolute public URL of key.
func (u URLs) URL(key string) string { return u.baseURL + Prefix + key }

// KeyOf returns the key of a URL this store handed out.
func (u URLs) KeyOf(url string) (string, bool) {
	key, ok := strings.CutPrefix(url, u.baseURL+Prefix)
	if !ok || !ValidKey(key) {
		return "", false
	}
	return key, true
}
