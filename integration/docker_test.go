package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

// The run's Docker state, set up once by TestMain.
var (
	pool        *dockertest.Pool
	image       string // tag of the server image built for this run
	libsqlImage string // tag of the libSQL test server's image
	runID       string
	skipReason  string // set when no Docker engine answers
	names       atomic.Int64
)

// serverUID is the user the image runs as; files put on its volume must be
// owned by it.
const serverUID = 65532

// Label keys marking everything this suite creates.
const (
	labelSuite = "io.vibesync.integration"
	labelHost  = "io.vibesync.integration.host"
	labelPID   = "io.vibesync.integration.pid"
)

func labels() map[string]string {
	host, _ := os.Hostname()
	return map[string]string{labelSuite: runID, labelHost: host, labelPID: strconv.Itoa(os.Getpid())}
}

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

func runSuite(m *testing.M) int {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	runID = hex.EncodeToString(b)

	p, err := dockertest.NewPool("")
	if err == nil {
		ctx, cancel := withTimeout(10 * time.Second)
		err = p.Client.PingWithContext(ctx)
		cancel()
	}
	if err != nil {
		skipReason = fmt.Sprintf("no Docker engine answers (%v)", err)
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "integration: CI requires a Docker engine:", skipReason)
			return 1
		}
		fmt.Println("integration: SKIPPED —", skipReason)
		return m.Run()
	}
	pool = p
	pool.MaxWait = time.Minute
	pruneStale()

	start := time.Now()
	cleanup, err := buildImage()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: build server image:", err)
		return 1
	}
	fmt.Printf("integration: built image %s in %s\n", image, time.Since(start).Round(time.Millisecond))
	defer cleanup()
	defer runExitFuncs()
	return m.Run()
}

// needDocker skips t when no Docker engine answers.
func needDocker(t testing.TB) {
	t.Helper()
	if pool == nil {
		t.Skip("integration: SKIPPED — " + skipReason)
	}
}

// buildImage compiles a static vibesyncd and builds the image FROM scratch
// around it. Nothing is pulled. The returned func removes the image.
func buildImage() (func(), error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vibesync-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	goarch := engineArch()
	build := exec.Command("go", "build", "-ldflags=-s -w", "-o", dir+string(filepath.Separator),
		"./cmd/vibesyncd", "./integration/libsqlserver/cmd/libsql-test-server")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	// A scratch image has no folders at all: /data is the database volume's
	// mount point (a fresh named volume copies its owner), /tmp is where
	// SQLite spills temporary files.
	for _, d := range []string{"data", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	uid := strconv.Itoa(serverUID)
	dockerfile := `FROM scratch
COPY --chown=` + uid + `:` + uid + ` data /data
COPY --chown=` + uid + `:` + uid + ` tmp /tmp
COPY vibesyncd /vibesyncd
USER ` + uid + `:` + uid + `
ENV VIBESYNC_LISTEN=0.0.0.0:8080 VIBESYNC_DATA_DIR=/data TMPDIR=/tmp
EXPOSE 8080
ENTRYPOINT ["/vibesyncd"]
CMD ["serve"]
`
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return nil, err
	}
	// The libSQL test server's image: its binary, and /data for the
	// database file (see integration/libsqlserver).
	libsqlDockerfile := `FROM scratch
COPY --chown=` + uid + `:` + uid + ` data /data
COPY --chown=` + uid + `:` + uid + ` tmp /tmp
COPY libsql-test-server /libsql-test-server
USER ` + uid + `:` + uid + `
ENV TMPDIR=/tmp
EXPOSE 8080
ENTRYPOINT ["/libsql-test-server", "-listen", "0.0.0.0:8080", "-db", "/data/libsql.db"]
`
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile.libsql"), []byte(libsqlDockerfile), 0o644); err != nil {
		return nil, err
	}
	image = "vibesync-integration:" + runID
	libsqlImage = "vibesync-integration-libsql:" + runID
	remove := func() {
		for _, img := range []string{image, libsqlImage} {
			if err := pool.Client.RemoveImageExtended(img, dc.RemoveImageOptions{Force: true}); err != nil && !errors.Is(err, dc.ErrNoSuchImage) {
				fmt.Fprintln(os.Stderr, "integration: remove image:", err)
			}
		}
	}
	for _, b := range []struct{ name, dockerfile string }{{image, "Dockerfile"}, {libsqlImage, "Dockerfile.libsql"}} {
		var out bytes.Buffer
		err = pool.Client.BuildImage(dc.BuildImageOptions{
			Name:                b.name,
			ContextDir:          dir,
			Dockerfile:          b.dockerfile,
			Labels:              labels(),
			RmTmpContainer:      true,
			ForceRmTmpContainer: true,
			OutputStream:        &out,
		})
		if err != nil {
			remove()
			return nil, fmt.Errorf("docker build %s: %v\n%s", b.name, err, out.String())
		}
	}
	return remove, nil
}

// engineArch is the Go architecture of the Docker engine's machine.
func engineArch() string {
	goarch := runtime.GOARCH
	if info, err := pool.Client.Info(); err == nil {
		switch info.Architecture {
		case "x86_64":
			goarch = "amd64"
		case "aarch64":
			goarch = "arm64"
		}
	}
	return goarch
}

// exitFuncs run when the suite ends (images built on first use).
var (
	exitMu    sync.Mutex
	exitFuncs []func()
)

// atExit registers f to run when the suite ends.
func atExit(f func()) {
	exitMu.Lock()
	defer exitMu.Unlock()
	exitFuncs = append(exitFuncs, f)
}

func runExitFuncs() {
	exitMu.Lock()
	defer exitMu.Unlock()
	for _, f := range exitFuncs {
		f()
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the vibesync module")
	}
	return filepath.Dir(mod), nil
}

// pruneStale removes what earlier runs on this host left behind when they
// died before cleaning up (a timeout, a kill). Resources of runs still alive
// — or of other hosts sharing the engine — are left alone.
func pruneStale() {
	host, _ := os.Hostname()
	stale := func(l map[string]string) bool {
		if l[labelHost] != host {
			return false
		}
		pid, err := strconv.Atoi(l[labelPID])
		if err != nil || pid == os.Getpid() {
			return false
		}
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	filter := map[string][]string{"label": {labelSuite}}
	if cs, err := pool.Client.ListContainers(dc.ListContainersOptions{All: true, Filters: filter}); err == nil {
		for _, c := range cs {
			if stale(c.Labels) {
				_ = pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true})
			}
		}
	}
	if vs, err := pool.Client.ListVolumes(dc.ListVolumesOptions{Filters: filter}); err == nil {
		for _, v := range vs {
			if stale(v.Labels) {
				_ = pool.Client.RemoveVolume(v.Name)
			}
		}
	}
	if ns, err := pool.Client.FilteredListNetworks(dc.NetworkFilterOpts{"label": {labelSuite: true}}); err == nil {
		for _, n := range ns {
			if stale(n.Labels) {
				_ = pool.Client.RemoveNetwork(n.ID)
			}
		}
	}
	if is, err := pool.Client.ListImages(dc.ListImagesOptions{Filters: filter}); err == nil {
		for _, i := range is {
			if stale(i.Labels) {
				_ = pool.Client.RemoveImageExtended(i.ID, dc.RemoveImageOptions{Force: true})
			}
		}
	}
}

func uniqueName(kind string) string {
	return fmt.Sprintf("vibesync-it-%s-%s-%d", runID, kind, names.Add(1))
}

// newVolume creates a named volume removed when t ends (after the
// containers that use it, which are created later and so cleaned first).
func newVolume(t testing.TB) string {
	t.Helper()
	needDocker(t)
	v, err := pool.Client.CreateVolume(dc.CreateVolumeOptions{Name: uniqueName("data"), Labels: labels()})
	if err != nil {
		t.Fatalf("create volume: %v", err)
	}
	t.Cleanup(func() {
		if err := pool.Client.RemoveVolume(v.Name); err != nil {
			t.Errorf("remove volume %s: %v", v.Name, err)
		}
	})
	return v.Name
}

// newNetwork creates a bridge network removed when t ends.
func newNetwork(t testing.TB) *dc.Network {
	t.Helper()
	needDocker(t)
	n, err := pool.Client.CreateNetwork(dc.CreateNetworkOptions{Name: uniqueName("net"), Driver: "bridge", Labels: labels()})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	t.Cleanup(func() {
		if err := pool.Client.RemoveNetwork(n.ID); err != nil {
			t.Errorf("remove network %s: %v", n.Name, err)
		}
	})
	return n
}

// tarFiles builds a tar archive of files (name → content) owned by the
// server's user, for uploading onto a volume.
func tarFiles(files map[string][]byte) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Uid: serverUID, Gid: serverUID, ModTime: time.Now()}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// untar extracts the regular files of a tar stream into dir, dropping the
// first path element (the folder that was downloaded).
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		_, rest, ok := strings.Cut(hdr.Name, "/")
		if !ok || rest == "" || strings.Contains(rest, "..") {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rest))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.Create(dst)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// withTimeout is a context for one Docker or HTTP step.
func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
