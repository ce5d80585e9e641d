package rest

import (
	"net/http/httptest"
	"testing"

	"github.com/vibesync/vibesync/server/apperr"
)

func TestCallerWithSocket(t *testing.T) {
	r := httptest.NewRequest("POST", "/chats", nil)
	r.Header.Set(SocketHeader, "header-socket-0123456")
	t.Run("header_when_body_has_none", func(t *testing.T) {
		c, err := callerWithSocket(r, "")
		if err != nil || c.Socket != "header-socket-0123456" {
			t.Fatalf("caller = %+v, %v", c, err)
		}
	})
	t.Run("body_field_wins", func(t *testing.T) {
		c, err := callerWithSocket(r, "u3C2x9asfB9vE5y8A6AD")
		if err != nil || c.Socket != "u3C2x9asfB9vE5y8A6AD" {
			t.Fatalf("caller = %+v, %v", c, err)
		}
	})
	t.Run("malformed_body_field", func(t *testing.T) {
		_, err := callerWithSocket(r, "nope")
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Reason != "invalid_socket" {
			t.Fatalf("err = %v", err)
		}
	})
}
