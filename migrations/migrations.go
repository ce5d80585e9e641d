// Package migrations holds vibesync's goose SQL migrations, embedded so the
// binary migrates its own database at start-up. Never edit a landed file: add
// a new one with the next number.
package migrations

import "embed"

// FS is the migration files.
//
//go:embed *.sql
var FS embed.FS
