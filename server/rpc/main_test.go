package rpc_test

import (
	"os"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// TestMain stops the server the tests of servertest.Shared share.
func TestMain(m *testing.M) {
	code := m.Run()
	servertest.StopShared()
	os.Exit(code)
}
