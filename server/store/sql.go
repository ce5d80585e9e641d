package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
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

// prefixed qualifies each name of a comma-separated column list: ("u.",
// "id, name") is "u.id, u.name".
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}

// affected reports whether a statement changed at least one row.
func affected(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: rows affected: %w", err)
	}
	return n > 0, nil
}
