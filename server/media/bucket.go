package media

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// Bucket stores files as objects of a gocloud.dev blob bucket: an
// S3-compatible one in production (OpenS3), an in-memory or file one in
// tests. Every instance configured with the same bucket serves the same
// files. Safe for concurrent use.
type Bucket struct {
	urls
	b *blob.Bucket
}

var _ Store = (*Bucket)(nil)

// NewBucket stores files in b (which Close closes); baseURL is the
// server's public base URL.
func NewBucket(b *blob.Bucket, baseURL string) *Bucket {
	return &Bucket{urls: newURLs(baseURL), b: b}
}

// Put uploads data under key with the key's content type.
func (s *Bucket) Put(ctx context.Context, key string, data []byte) error {
	if !ValidKey(key) {
		return fmt.Errorf("media: invalid key %q", key)
	}
	if err := s.b.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: ContentType(key)}); err != nil {
		return fmt.Errorf("media: put %s: %w", key, err)
	}
	return nil
}

// Delete removes key's object; a missing object is not an error.
func (s *Bucket) Delete(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("media: invalid key %q", key)
	}
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("media: delete %s: %w", key, err)
	}
	return nil
}

// Open opens key's object; the content is read from the bucket as the
// caller reads it (a seek re-requests the range).
func (s *Bucket) Open(ctx context.Context, key string) (*Object, error) {
	if !ValidKey(key) {
		return nil, ErrNotFound
	}
	r, err := s.b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("media: open %s: %w", key, err)
	}
	ct := r.ContentType()
	if ct == "" {
		ct = ContentType(key)
	}
	return &Object{ReadSeekCloser: r, ContentType: ct, ModTime: r.ModTime(), Size: r.Size()}, nil
}

// Close closes the bucket.
func (s *Bucket) Close() error { return s.b.Close() }

// S3Config says where an S3-compatible bucket is. Credentials are not part
// of it: they come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, or AWS_PROFILE and the shared files, or the
// role of the machine or task).
type S3Config struct {
	// URL is "http(s)://HOST[:PORT]/BUCKET" for an S3-compatible server at
	// that endpoint (path-style requests, checksums only where the API
	// requires them), or "s3://BUCKET" for AWS S3 itself.
	URL string
	// Region signs the requests (default: AWS_REGION or the shared
	// config's, else "us-east-1").
	Region string
}

// bucketName follows S3's naming rules (3 to 63 lowercase letters, digits,
// dots and hyphens, starting and ending with a letter or digit).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseS3URL splits an S3Config URL into its endpoint ("" for AWS) and
// bucket.
func ParseS3URL(raw string) (endpoint, bucket string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("media S3 URL: %w", err)
	}
	switch u.Scheme {
	case "s3":
		bucket = u.Host
		if strings.Trim(u.Path, "/") != "" {
			return "", "", fmt.Errorf("media S3 URL %q: want s3://BUCKET, without a path", u.Redacted())
		}
	case "http", "https":
		if u.Host == "" {
			return "", "", fmt.Errorf("media S3 URL %q: want %s://HOST[:PORT]/BUCKET", u.Redacted(), u.Scheme)
		}
		bucket = strings.Trim(u.Path, "/")
		endpoint = u.Scheme + "://" + u.Host
	default:
		return "", "", fmt.Errorf("media S3 URL %q: want http(s)://HOST[:PORT]/BUCKET or s3://BUCKET", u.Redacted())
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("media S3 URL %q: no credentials, query or fragment (credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", u.Redacted())
	}
	if !bucketName.MatchString(bucket) || strings.Contains(bucket, "..") {
		return "", "", fmt.Errorf("media S3 URL %q: %q is not a bucket name (3–63 lowercase letters, digits, dots and hyphens)", u.Redacted(), bucket)
	}
	return endpoint, bucket, nil
}

// OpenS3 opens the bucket of cfg and checks that it exists and that the
// credentials may use it, so a wrong setting stops the server at start-up
// rather than failing uploads later.
func OpenS3(ctx context.Context, cfg S3Config, baseURL string) (*Bucket, error) {
	endpoint, name, err := ParseS3URL(cfg.URL)
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
		return nil, fmt.Errorf("media: bucket %s at %s: %w", name, cmpOr(endpoint, "AWS S3"), err)
	}
	return NewBucket(b, baseURL), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
