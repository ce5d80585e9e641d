package media

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

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

// S3Opener opens the bucket of cfg as a Store whose URLs are under
// baseURL, and checks that it can be used. s3media.Open is the one
// implementation; it is passed as a value (see the package comment) so
// that only the programs that serve from a bucket link the S3 driver.
type S3Opener func(ctx context.Context, cfg S3Config, baseURL string) (Store, error)

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
