package main

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// TestMain checks every REST exchange the CLI makes in these tests against
// the OpenAPI document: the CLI's client uses http.DefaultTransport, which
// is wrapped here; a violation fails the run.
func TestMain(m *testing.M) {
	contract, err := servertest.LoadContract()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var violations []error
	http.DefaultTransport = contract.CheckedTransport(http.DefaultTransport, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		violations = append(violations, err)
	})
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	for _, v := range violations {
		fmt.Fprintln(os.Stderr, "FAIL:", v)
	}
	if len(violations) > 0 && code == 0 {
		code = 1
	}
	os.Exit(code)
}
