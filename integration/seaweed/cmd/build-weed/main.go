// Command build-weed builds (or finds in its cache) SeaweedFS's weed for
// the integration suite and prints its path. `make integration` runs it
// before the suite, so the first build on a machine is not counted
// against the tests' timeout; `make test` also starts it in the background
// while the unit tests run. Interrupted or terminated, it stops the build.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/vibesync/vibesync/integration/seaweed"
)

func main() {
	goarch := flag.String("goarch", runtime.GOARCH, "architecture of the Docker engine's machine")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path, err := seaweed.Binary(ctx, *goarch, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(path)
}
