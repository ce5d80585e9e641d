// Package seaweed builds SeaweedFS's weed binary, the S3-compatible server
// the integration suite keeps media in, from its Go module: static
// (CGO_ENABLED=0) for an image FROM scratch, and cached by version and
// architecture so that only the first run on a machine pays for the
// build. The module is built in its own folder of the module cache, with
// its own go.mod and go.sum: vibesync's go.mod gains none of its
// dependencies.
package seaweed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Module and Version are the SeaweedFS release that is built.
const (
	Module  = "github.com/seaweedfs/seaweedfs"
	Version = "v0.0.0-20261109003541-7506e5f91cd6"
)

// CacheDir is where built binaries are kept: the user's cache folder
// ($XDG_CACHE_HOME or ~/.cache), else the temporary folder.
func CacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "vibesync", "seaweedfs")
}

// Path is where the weed binary of Version for linux/goarch is cached.
func Path(goarch string) string {
	return filepath.Join(CacheDir(), Version, "linux-"+goarch, "weed")
}

// Binary returns the cached weed for linux/goarch, building it first if
// it is not there (log, when not nil, hears what is being done and how
// long it took). Concurrent runs take turns on a lock file beside the
// binary, so one builds and the others find its result: `make test` starts
// the build in the background while the unit tests run, and the
// integration suite's own call waits for it.
func Binary(ctx context.Context, goarch string, log io.Writer) (string, error) {
	if log == nil {
		log = io.Discard
	}
	dst := Path(goarch)
	if built(dst) {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("seaweedfs: %w", err)
	}
	lock, err := os.OpenFile(dst+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("seaweedfs: %w", err)
	}
	defer lock.Close() // closing releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("seaweedfs: lock %s: %w", lock.Name(), err)
	}
	if built(dst) { // another run built it while this one waited
		return dst, nil
	}
	start := time.Now()
	fmt.Fprintf(log, "seaweedfs: building weed %s for linux/%s (once per machine; cached at %s)\n", Version, goarch, dst)
	dl := exec.CommandContext(ctx, "go", "mod", "download", "-json", Module+"@"+Version)
	dl.Dir = os.TempDir() // outside any module: nothing is added to a go.sum
	dl.Env = append(os.Environ(), "GOWORK=off")
	out, err := dl.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("seaweedfs: go mod download: %v\n%s%s", err, out, ee.Stderr)
		}
		return "", fmt.Errorf("seaweedfs: go mod download: %w", err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("seaweedfs: go mod download: no module folder (%v %s)", err, mod.Error)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", dst, os.Getpid())
	defer os.Remove(tmp)
	// Built inside the module's own folder: its go.mod (with its replace
	// directive) and go.sum decide every dependency.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, "./weed")
	build.Dir = mod.Dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOWORK=off",
		"GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("seaweedfs: go build weed: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("seaweedfs: %w", err)
	}
	fmt.Fprintf(log, "seaweedfs: built weed in %s\n", time.Since(start).Round(time.Second))
	return dst, nil
}

func built(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}
