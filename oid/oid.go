// Package oid makes and checks vibesync identifiers: 24 lowercase hex
// characters laid out like a MongoDB ObjectId (4-byte big-endian seconds
// timestamp, 5 random bytes fixed per process, 3-byte counter), so ids sort by
// creation time and clients can mint them offline without coordination.
package oid

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

var (
	processUnique = func() [5]byte {
		var b [5]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("oid: no randomness: " + err.Error()) // crypto/rand never fails on supported platforms
		}
		return b
	}()
	counter = func() *atomic.Uint32 {
		var b [4]byte
		_, _ = rand.Read(b[:]) // a failure leaves a zero start, which is still correct
		c := new(atomic.Uint32)
		c.Store(binary.BigEndian.Uint32(b[:]))
		return c
	}()
)

// New returns a fresh id stamped with the current time. Safe for concurrent use.
func New() string { return NewAt(time.Now()) }

// NewAt returns a fresh id stamped with t's seconds.
func NewAt(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(t.Unix()))
	copy(b[4:9], processUnique[:])
	c := counter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// Valid reports whether s is 24 lowercase hexadecimal characters.
func Valid(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Time returns the creation second encoded in a valid id.
func Time(id string) time.Time {
	b, err := hex.DecodeString(id[:8])
	if err != nil || len(b) != 4 {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint32(b)), 0).UTC()
}
