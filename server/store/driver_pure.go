//go:build !cgosqlite

package store

import (
	_ "modernc.org/sqlite" // pure Go: the static binary needs no C toolchain
)

// fileDriver is the database/sql driver embedded databases (file: URLs)
// open with: modernc.org/sqlite, SQLite translated to Go. Build with
// -tags cgosqlite for the C SQLite through github.com/mattn/go-sqlite3
// (driver_cgo.go); docs/PERFORMANCE.md compares the two.
const fileDriver = "sqlite"
