package wire

import (
	"crypto/sha256"
	"slices"
)

// BucketsDigest names a set of buckets in a pull request instead of
// listing them: SHA-256 of the names, sorted, each followed by a newline.
func BucketsDigest(buckets []string) []byte {
	sorted := slices.Sorted(slices.Values(buckets))
	h := sha256.New()
	for _, b := range sorted {
		h.Write([]byte(b))
		h.Write([]byte{'\n'})
	}
	return h.Sum(nil)
}
