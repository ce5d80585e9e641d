package oid

import (
	"testing"
	"time"
)

func TestNewIsValidUniqueAndSorted(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	base := time.Unix(1_700_000_000, 0)
	for i := 0; i < 1000; i++ {
		id := NewAt(base.Add(time.Duration(i) * time.Second))
		if !Valid(id) {
			t.Fatalf("NewAt produced invalid id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("ids do not sort by time: %q after %q", id, prev)
		}
		prev = id
	}
	if got := Time(NewAt(base)); !got.Equal(base) {
		t.Fatalf("Time = %v, want %v", got, base)
	}
}

func TestValidRejects(t *testing.T) {
	for _, s := range []string{"", "abc", "68C14B067A0F59EC129E61E8", "68c14b067a0f59ec129e61e", "68c14b067a0f59ec129e61e8a", "68c14b067a0f59ec129e61zz"} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
	if !Valid("68c14b067a0f59ec129e61e8") {
		t.Error("Valid rejects a spec id")
	}
}
