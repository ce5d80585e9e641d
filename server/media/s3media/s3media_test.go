package s3media_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/vibesync/vibesync/server/media"
	"github.com/vibesync/vibesync/server/media/mediatest"
	"github.com/vibesync/vibesync/server/media/s3media"
)

// TestBucketStore runs the media.Store contract on buckets kept in memory
// and in a folder (the S3 driver itself is exercised against a real S3
// server in integration/), with and without a slash ending the base URL.
func TestBucketStore(t *testing.T) {
	t.Parallel()
	fb, err := fileblob.OpenBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*s3media.Bucket{
		"memblob":  s3media.New(memblob.OpenBucket(nil), "https://cdn.test/"),
		"fileblob": s3media.New(fb, "https://cdn.test"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer s.Close()
			mediatest.TestStore(t, s)
		})
	}
}

// TestOpenChecksTheBucket: a bucket that cannot be reached is an error
// of Open, naming the bucket and its endpoint, so that the server stops
// at start-up instead of failing every upload later.
func TestOpenChecksTheBucket(t *testing.T) {
	// Not parallel: credentials come from the environment (and with them
	// set, the SDK never asks a metadata service).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	s, err := s3media.Open(context.Background(), media.S3Config{URL: "http://" + addr + "/vibesync-media"}, "https://cdn.test")
	if err == nil {
		s.Close()
		t.Fatal("opened an unreachable bucket")
	}
	if !strings.Contains(err.Error(), "vibesync-media") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %q does not name the bucket and its endpoint", err)
	}
	if _, err := s3media.Open(context.Background(), media.S3Config{URL: "seaweed:8333/bucket"}, "https://cdn.test"); err == nil || !strings.Contains(err.Error(), "media S3 URL") {
		t.Fatalf("a malformed URL: %v", err)
	}
}
