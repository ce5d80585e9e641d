package social

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// Status is a user's meet-me status: what they are up for, until when.
// Others answer it with a connection request (the request's statusDetail is
// this id). It shows on the user's profile only while active.
type Status struct {
	ID        string    `json:"_id"`
	Text      string    `json:"text"`
	ExpiresAt wire.Time `json:"expiresAt"`
	CreatedAt wire.Time `json:"createdAt"`
}

func statusFrom(s store.Status) *Status {
	return &Status{ID: s.ID, Text: s.Text, ExpiresAt: wire.T(s.ExpiresAt), CreatedAt: wire.T(s.CreatedAt)}
}

// Limits of a meet-me status.
const (
	MaxStatusLen         = wire.MaxStatusLen
	MinStatusDuration    = time.Minute
	MaxStatusDuration    = 24 * time.Hour
	MaxStatusDurationMin = int(MaxStatusDuration / time.Minute)
)

// StatusInput sets a meet-me status: Text, and exactly one of ExpiresAt or
// DurationMinutes (1–1440).
type StatusInput struct {
	Text            string
	ExpiresAt       *time.Time
	DurationMinutes *int
}

// SetStatus replaces the caller's meet-me status with a new one (a new id,
// so requests that answered the old status do not count as answering this
// one). The expiry must lie 1 minute to 24 hours ahead.
func (s *Service) SetStatus(ctx context.Context, c Caller, in StatusInput) (Status, error) {
	var out Status
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = setStatus(ctx, tx, c, in)
		return err
	})
	return out, err
}

func setStatus(ctx context.Context, tx *store.Tx, c Caller, in StatusInput) (Status, error) {
	text := strings.TrimSpace(in.Text)
	if text == "" {
		return Status{}, apperr.InvalidField("text", "text is required")
	}
	if utf8.RuneCountInString(text) > MaxStatusLen {
		return Status{}, apperr.InvalidField("text", "text must be at most %d characters", MaxStatusLen)
	}
	switch {
	case in.ExpiresAt == nil && in.DurationMinutes == nil:
		return Status{}, apperr.InvalidField("expiresAt", "expiresAt or durationMinutes is required")
	case in.ExpiresAt != nil && in.DurationMinutes != nil:
		return Status{}, apperr.InvalidField("expiresAt", "give expiresAt or durationMinutes, not both")
	case in.DurationMinutes != nil && (*in.DurationMinutes < 1 || *in.DurationMinutes > MaxStatusDurationMin):
		return Status{}, apperr.InvalidField("durationMinutes", "durationMinutes must be from 1 to %d", MaxStatusDurationMin)
	}
	var exp time.Time
	if in.DurationMinutes != nil {
		exp = tx.Now.Add(time.Duration(*in.DurationMinutes) * time.Minute)
	} else {
		exp = in.ExpiresAt.UTC().Truncate(time.Millisecond)
		if d := exp.Sub(tx.Now); d < MinStatusDuration || d > MaxStatusDuration {
			return Status{}, apperr.InvalidField("expiresAt", "expiresAt must be 1 minute to 24 hours from now")
		}
	}
	st := store.Status{UserID: c.UserID, ID: oid.NewAt(tx.Now), Text: text, ExpiresAt: exp, CreatedAt: tx.Now}
	if err := tx.SetStatus(ctx, st); err != nil {
		return Status{}, err
	}
	_, err := replicateUser(ctx, tx, c.UserID)
	return *statusFrom(st), err
}

// ClearStatus removes the caller's meet-me status. Having none is not an
// error.
func (s *Service) ClearStatus(ctx context.Context, c Caller) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return clearStatus(ctx, tx, c) })
}

func clearStatus(ctx context.Context, tx *store.Tx, c Caller) error {
	gone, err := tx.DeleteStatus(ctx, c.UserID)
	if err != nil || !gone {
		return err
	}
	_, err = replicateUser(ctx, tx, c.UserID)
	return err
}

// dropExpiredStatuses deletes the expired statuses of ids inside tx and
// replicates the profiles that lost one.
func dropExpiredStatuses(ctx context.Context, tx *store.Tx, ids ...string) error {
	gone, err := tx.DeleteExpiredStatuses(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range gone {
		if _, err := replicateUser(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}
