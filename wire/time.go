// Package wire holds the small value types whose JSON form is part of the
// vibesync API, shared by the server and the client.
package wire

import (
	"fmt"
	"time"
)

// TimeLayout is the API's time format: UTC RFC 3339 with milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Time is a time.Time that encodes as TimeLayout. Use `json:",omitzero"` to
// leave out unset times.
type Time struct{ time.Time }

// T wraps t, truncated to milliseconds in UTC.
func T(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{t.UTC().Truncate(time.Millisecond)}
}

// String formats t as TimeLayout ("" for the zero time).
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// MarshalJSON encodes t as a TimeLayout string, or null when zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts null or any RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("time must be an RFC 3339 string")
	}
	v, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("time must be RFC 3339: %w", err)
	}
	*t = T(v)
	return nil
}
