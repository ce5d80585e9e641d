package rest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWriteErrorCallerGone: a request that failed because its caller
// disconnected is recorded as 499 with no body and no error log line, never
// as a 500; the same failure while the caller still waits is a logged 500.
func TestWriteErrorCallerGone(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	a := &API{log: slog.New(slog.NewTextHandler(&logged, nil))}
	failure := fmt.Errorf("read chats: %w", context.Canceled)

	t.Run("caller_disconnected", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := httptest.NewRecorder()
		a.writeError(rec, httptest.NewRequest("GET", "/chats", nil).WithContext(ctx), failure)
		if rec.Code != 499 || rec.Body.Len() != 0 {
			t.Fatalf("got %d %q, want 499 and no body", rec.Code, rec.Body)
		}
		if logged.Len() != 0 {
			t.Fatalf("logged %q for a caller that went away", logged.String())
		}
	})
	t.Run("caller_still_waiting", func(t *testing.T) {
		rec := httptest.NewRecorder()
		a.writeError(rec, httptest.NewRequest("GET", "/chats", nil), failure)
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("got %d, want 500", rec.Code)
		}
		if logged.Len() == 0 {
			t.Fatal("a 500 was not logged")
		}
	})
}
