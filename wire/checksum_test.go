package wire_test

import (
	"testing"

	"github.com/vibesync/vibesync/wire"
)

// The expected values are FNV-1a 64 (offset basis 0xcbf29ce484222325, prime
// 0x100000001b3) of entity NUL id NUL decimal seq NUL data, as docs/sync.md
// defines a row's share of its bucket checksum, computed outside Go.
func TestRowHash(t *testing.T) {
	t.Parallel()
	if got := wire.RowHash("message", "m1", 7, []byte(`{"text":"hi"}`)); got != 0x41bef3a9dd0a1555 {
		t.Errorf("RowHash(message, m1, 7, {\"text\":\"hi\"}) = %#x, want 0x41bef3a9dd0a1555", got)
	}
	if got := wire.RowHash("user", "u", -3, nil); got != 0x839deeb8c2fec79 {
		t.Errorf("RowHash(user, u, -3, nil) = %#x, want 0x839deeb8c2fec79", got)
	}
}
