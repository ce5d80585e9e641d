package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
)

var cheap = PasswordParams{Memory: 1024, Time: 1, Threads: 1}

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if ok, err := CheckPassword("correct horse", h); err != nil || !ok {
		t.Fatalf("right password: ok=%v err=%v", ok, err)
	}
	if ok, _ := CheckPassword("wrong horse", h); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$bcrypt$x", "$argon2id$v=18$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA"} {
		if _, err := CheckPassword("x", bad); err == nil {
			t.Errorf("CheckPassword accepted malformed hash %q", bad)
		}
	}
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tk, err := NewTokens([]byte(strings.Repeat("k", 32)), 0, clock)
	if err != nil {
		t.Fatal(err)
	}
	s, exp, err := tk.Issue("user1", "sess1")
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(AccessTTL)) {
		t.Fatalf("expiry %v, want 15 minutes on", exp)
	}
	c, err := tk.Verify(s)
	if err != nil || c.UserID != "user1" || c.SessionID != "sess1" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	now = now.Add(AccessTTL + time.Second)
	if _, err := tk.Verify(s); apperr.CodeOf(err) != apperr.Unauthenticated || !strings.Contains(err.Error(), "token_expired") {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := NewTokens([]byte("short"), 0, nil); err == nil {
		t.Fatal("short secret accepted")
	}
}

// A token is one string: its signature's last base64url character with
// other padding bits (ignored by a lenient decoder, so the same signature
// bytes) is refused. Tampering with a token's last characters is then
// always refused.
func TestTokenPaddingBitsAreRefused(t *testing.T) {
	tk, err := NewTokens([]byte(strings.Repeat("k", 32)), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := tk.Issue("user1", "sess1")
	if err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	// A 32-byte signature is 43 characters: the last carries four bits
	// of the signature and two padding bits, zero in the issued token.
	if last < 0 || last&0b11 != 0 {
		t.Fatalf("issued token ends with %q: not a canonical 32-byte signature", s[len(s)-1])
	}
	forged := s[:len(s)-1] + string(alphabet[last|0b0001])
	if _, err := tk.Verify(forged); apperr.CodeOf(err) != apperr.Unauthenticated || !strings.Contains(err.Error(), "token_invalid") {
		t.Fatalf("token with padding bits set: %v, want token_invalid", err)
	}
	if _, err := tk.Verify(s); err != nil {
		t.Fatalf("the issued token: %v", err)
	}
}

// A token that verified once is not decoded again: a second Verify
// allocates nothing, yet expiry still holds at the exact instant (valid
// strictly before it), and a token differing in any byte is checked in
// full.
func TestVerifiedTokensKept(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tk, err := NewTokens([]byte(strings.Repeat("k", 32)), 0, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	s, exp, err := tk.Issue("user1", "sess1")
	if err != nil {
		t.Fatal(err)
	}
	first, err := tk.Verify(s)
	if err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(20, func() {
		if c, err := tk.Verify(s); err != nil || c != first {
			t.Fatalf("again: %+v, %v", c, err)
		}
	}); allocs != 0 {
		t.Fatalf("a verified token was checked again (%v allocations)", allocs)
	}
	tampered := s[:len(s)-2] + "AA"
	if tampered == s {
		tampered = s[:len(s)-2] + "BB"
	}
	if _, err := tk.Verify(tampered); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("tampered token: %v", err)
	}
	now = exp.Add(-time.Millisecond)
	if _, err := tk.Verify(s); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	now = exp
	if _, err := tk.Verify(s); apperr.CodeOf(err) != apperr.Unauthenticated || !strings.Contains(err.Error(), "token_expired") {
		t.Fatalf("at expiry: %v", err)
	}
}
