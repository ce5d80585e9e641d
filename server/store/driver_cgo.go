//go:build cgosqlite

package store

import (
	_ "github.com/mattn/go-sqlite3" // the C SQLite, through cgo
)

// fileDriver is the database/sql driver embedded databases (file: URLs)
// open with: with -tags cgosqlite, SQLite's C library through
// github.com/mattn/go-sqlite3 (needs CGO_ENABLED=1 and a C compiler). It
// reads the same URL parameters (_journal_mode, _synchronous,
// _busy_timeout, _foreign_keys, _txlock, _query_only).
const fileDriver = "sqlite3"
