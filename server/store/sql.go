package store

import (
	"encoding/json"
	"strings"

	"github.com/vibesync/vibesync/server/apperr"
)

// jsonStrings encodes ids as a JSON array for `IN (SELECT value FROM
// json_each(?))`: one bound parameter whatever the list's length.
func jsonStrings(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // []string always marshals
	return string(b)
}

// escapeLike escapes LIKE wildcards for use with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func conflict(reason, msg string) error {
	return &apperr.Error{Code: apperr.Conflict, Reason: reason, Message: msg}
}
