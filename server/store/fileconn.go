package store

import (
	"context"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// fileConnector opens an embedded database file (a "file:PATH?…" DSN) with
// modernc.org/sqlite, exactly as libsql-client-go's connector does for
// file: URLs, without the *sql.DB that connector opens (and never closes)
// only to find the driver: each of those left a goroutine behind for the
// life of the process, one per pool and per backup.
type fileConnector struct{ dsn string }

var fileDriver = &sqlite.Driver{}

func (c fileConnector) Connect(context.Context) (driver.Conn, error) { return fileDriver.Open(c.dsn) }

func (c fileConnector) Driver() driver.Driver { return fileDriver }
