package client

import (
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// TestMain stops the server the tests of servertest.Shared share.
func TestMain(m *testing.M) { servertest.Main(m) }
