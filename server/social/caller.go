package social

import (
	"regexp"

	"github.com/vibesync/vibesync/server/apperr"
)

// Validation of the caller: the socket id a request names (its own live
// event is not echoed to that socket).

var socketRE = regexp.MustCompile(`^[A-Za-z0-9\-_]{16,25}$`)

// validSocket checks a socket id (empty means none): 400 invalid_socket.
func validSocket(socket string) error {
	if socket != "" && !socketRE.MatchString(socket) {
		return apperr.InvalidField("socket", "socket must be 16 to 25 letters, digits, '-' or '_'")
	}
	return nil
}

func (c Caller) valid() error { return validSocket(c.Socket) }
