package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vibesync/vibesync/server/apperr"
)

func TestRenameField(t *testing.T) {
	t.Run("field_reason_and_message", func(t *testing.T) {
		err := fmt.Errorf("wrapped: %w", apperr.InvalidField("user", "user must be a 24-character hex id"))
		got, _ := apperr.As(apperr.RenameField(err, "user", "receiver_id"))
		want := apperr.Error{Code: apperr.Invalid, Reason: "invalid_receiver_id", Message: "receiver_id must be a 24-character hex id", Field: "receiver_id"}
		if *got != want {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
	})
	t.Run("message_naming_the_field_without_one", func(t *testing.T) {
		err := apperr.New(apperr.Invalid, "self_reference", "user cannot be your own id")
		got, _ := apperr.As(apperr.RenameField(err, "user", "userId"))
		if got.Message != "userId cannot be your own id" || got.Reason != "self_reference" || got.Field != "" {
			t.Fatalf("got %+v", *got)
		}
	})
	t.Run("other_errors_unchanged", func(t *testing.T) {
		other := apperr.InvalidField("text", "This user wrote too much")
		if got := apperr.RenameField(other, "user", "userId"); got != error(other) {
			t.Fatalf("got %v", got)
		}
		plain := errors.New("user is not an apperr")
		if got := apperr.RenameField(plain, "user", "userId"); got != plain {
			t.Fatalf("got %v", got)
		}
	})
}

func TestRenameFields(t *testing.T) {
	t.Parallel()
	names := map[string]string{"participant": "participantId", "expiresIn": "expiresInSeconds"}
	got, _ := apperr.As(apperr.RenameFields(apperr.InvalidField("participant", "participant is required"), names))
	if got.Field != "participantId" || got.Reason != "invalid_participant_id" || got.Message != "participantId is required" {
		t.Fatalf("renamed by field: %+v", got)
	}
	got, _ = apperr.As(apperr.RenameFields(apperr.New(apperr.Invalid, "self_reference", "expiresIn cannot be negative"), names))
	if got.Field != "" || got.Reason != "self_reference" || got.Message != "expiresInSeconds cannot be negative" {
		t.Fatalf("renamed by message: %+v", got)
	}
	other := apperr.InvalidField("text", "text is required")
	if apperr.RenameFields(other, names) != error(other) {
		t.Fatal("an error naming no field of the table changed")
	}
	plain := errors.New("boom")
	if apperr.RenameFields(plain, names) != plain {
		t.Fatal("a plain error changed")
	}
}
