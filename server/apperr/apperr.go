// Package apperr is vibesync's one error type. Every layer returns *Error for
// anything a caller may see; each transport maps Code through one table (HTTP
// status, connect.Code, push result). Any other error is "internal": logged
// once at the edge, its text never shown.
package apperr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code classifies an error for transports.
type Code string

// The codes. Keep the set small: a transport maps each one.
const (
	Invalid          Code = "invalid"
	Unauthenticated  Code = "unauthenticated"
	Forbidden        Code = "forbidden"
	NotFound         Code = "not_found"
	Conflict         Code = "conflict"
	TooLarge         Code = "too_large"
	RateLimited      Code = "rate_limited"
	Unavailable      Code = "unavailable"
	TimedOut         Code = "timed_out"         // the request (its body) did not arrive in time
	UnsupportedMedia Code = "unsupported_media" // a body of a type the route does not take
	HeadersTooLarge  Code = "headers_too_large"
	Internal         Code = "internal"
)

// Error is a failure the caller is allowed to see.
type Error struct {
	Code    Code   // class of failure
	Reason  string // machine-readable, snake_case, e.g. "already_connected"
	Message string // for humans
	Field   string // the offending input field, when there is one
	// RetryAfter, when set (RateLimited, Unavailable), is how long the
	// caller should wait before trying again; transports send it as
	// Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Reason, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// New returns an *Error with the given code, reason and formatted message.
func New(code Code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// RetryLater returns an *Error the caller may retry after the given wait
// (RateLimited or Unavailable).
func RetryLater(code Code, reason string, after time.Duration, format string, args ...any) *Error {
	e := New(code, reason, format, args...)
	e.RetryAfter = after
	return e
}

// InvalidField reports bad input in one named field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Reason: "invalid_" + snake(field), Message: fmt.Sprintf(format, args...), Field: field}
}

// NotFoundf reports a missing (or hidden) thing.
func NotFoundf(reason, format string, args ...any) *Error {
	return New(NotFound, reason, format, args...)
}

// Forbiddenf reports a caller who may not do this.
func Forbiddenf(reason, format string, args ...any) *Error {
	return New(Forbidden, reason, format, args...)
}

// Conflictf reports a state conflict.
func Conflictf(reason, format string, args ...any) *Error {
	return New(Conflict, reason, format, args...)
}

// Invalidf reports bad input not tied to a single field.
func Invalidf(reason, format string, args ...any) *Error {
	return New(Invalid, reason, format, args...)
}

// Unauthenticatedf reports a missing, malformed, expired or revoked credential.
func Unauthenticatedf(reason, format string, args ...any) *Error {
	return New(Unauthenticated, reason, format, args...)
}

// RenameField returns err with its field named to instead of from. The
// rules (server/social) name input fields neutrally; each transport calls
// this to name them after its own input (a path parameter, a JSON field).
// The field, a reason made from it by InvalidField ("invalid_<field>") and
// a message that begins with the field's name are renamed; any other error
// comes back as it is.
func RenameField(err error, from, to string) error {
	e, ok := As(err)
	if !ok {
		return err
	}
	inMessage := strings.HasPrefix(e.Message, from+" ")
	if e.Field != from && !inMessage {
		return err
	}
	out := *e
	if out.Field == from {
		out.Field = to
		if out.Reason == "invalid_"+snake(from) {
			out.Reason = "invalid_" + snake(to)
		}
	}
	if inMessage {
		out.Message = to + out.Message[len(from):]
	}
	return &out
}

// RenameFields is RenameField with the first entry of names (from → to)
// that matches err's field or the start of its message; err comes back as
// it is when none does. A transport keeps one such table for the names that
// are the same on all its routes.
func RenameFields(err error, names map[string]string) error {
	e, ok := As(err)
	if !ok {
		return err
	}
	if to, ok := names[e.Field]; ok {
		return RenameField(err, e.Field, to)
	}
	if first, _, ok := strings.Cut(e.Message, " "); ok {
		if to, ok := names[first]; ok {
			return RenameField(err, first, to)
		}
	}
	return err
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// CodeOf returns err's code: Internal for anything that is not an *Error.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// Public returns what a caller may see of err: the *Error itself, or a
// generic internal error that hides err's text.
func Public(err error) *Error {
	if e, ok := As(err); ok {
		return e
	}
	return &Error{Code: Internal, Reason: "internal", Message: "Something went wrong on our side"}
}

func snake(s string) string {
	out := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			if i > 0 {
				out = append(out, '_')
			}
			out = append(out, c+'a'-'A')
		case c == '.' || c == '-' || c == '[' || c == ']':
			if len(out) > 0 && out[len(out)-1] != '_' {
				out = append(out, '_')
			}
		default:
			out = append(out, c)
		}
	}
	for len(out) > 0 && out[len(out)-1] == '_' {
		out = out[:len(out)-1]
	}
	return string(out)
}
