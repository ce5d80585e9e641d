// Package s3media keeps media files in an S3-compatible bucket (through
// gocloud.dev's blob), so that every instance of a deployment spread over
// several hosts serves the same files. It is apart from package media
// because of the size of the S3 driver: a program that serves from a
// bucket imports it and hands Open to the server (server.Config's
// OpenMediaS3); the others, and the server's tests, link without it.
package s3media

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/vibesync/vibesync/server/media"
)

// Bucket stores files as objects of a gocloud.dev blob bucket: an
// S3-compatible one in production (Open), an in-memory or file one in
// tests. Every instance configured with the same bucket serves the same
// files. Safe for concurrent use.
type Bucket struct {
	media.URLs
	b *blob.Bucket
}

var (
	_ media.Store    = (*Bucket)(nil)
	_ media.S3Opener = Open
)

// New stores files in b (which Close closes); baseURL is the server's
// public base URL.
func New(b *blob.Bucket, baseURL string) *Bucket {
	return &Bucket{URLs: media.NewURLs(baseURL), b: b}
}

// Put uploads data under key with the key's content type.
func (s *Bucket) Put(ctx context.Context, key string, data []byte) error {
	if !media.ValidKey(key) {
		return fmt.Errorf("media: invalid key %q", key)
	}
	if err := s.b.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: media.ContentType(key)}); err != nil {
		return fmt.Errorf("media: put %s: %w", key, err)
	}
	return nil
}

// Delete removes key's object; a missing object is not an error.
func (s *Bucket) Delete(ctx context.Context, key string) error {
	if !media.ValidKey(key) {
		return fmt.Errorf("media: invalid key %q", key)
	}
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("media: delete %s: %w", key, err)
	}
	return nil
}

// Open opens key's object; the content is read from the bucket as the
// caller reads it (a seek re-requests the range).
func (s *Bucket) Open(ctx context.Context, key string) (*media.Object, error) {
	if !media.ValidKey(key) {
		return nil, media.ErrNotFound
	}
	r, err := s.b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, media.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("media: open %s: %w", key, err)
	}
	ct := r.ContentType()
	if ct == "" {
		ct = media.ContentType(key)
	}
	return &media.Object{ReadSeekCloser: r, ContentType: ct, ModTime: r.ModTime(), Size: r.Size()}, nil
}

// Close closes the bucket.
func (s *Bucket) Close() error { return s.b.Close() }

// Open opens the bucket of cfg and checks that it exists and that the
// credentials may use it, so a wrong setting stops the server at start-up
// rather than failing uploads later. It is a media.S3Opener.
func Open(ctx context.Context, cfg media.S3Config, baseURL string) (media.Store, error) {
	endpoint, name, err := media.ParseS3URL(cfg.URL)
	if err != nil {
		return nil, err
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("media: AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if endpoint != "" {
			// S3-compatible servers are addressed by path (no DNS name per
			// bucket) and may not take the SDK's default trailing
			// checksums.
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	b, err := s3blob.OpenBucket(ctx, client, name, nil)
	if err != nil {
		return nil, fmt.Errorf("media: open bucket %s: %w", name, err)
	}
	ok, err := b.IsAccessible(ctx)
	if err == nil && !ok {
		err = errors.New("no such bucket")
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("media: bucket %s at %s: %w", name, cmp.Or(endpoint, "AWS S3"), err)
	}
	return New(b, baseURL), nil
}
