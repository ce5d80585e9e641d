package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dc "github.com/ory/dockertest/v3/docker"

	"github.com/vibesync/vibesync/server/servertest"
)

// containerPort is where vibesyncd listens inside the container.
const containerPort dc.Port = "8080/tcp"

// serverOptions configures one server container.
type serverOptions struct {
	volume  string      // named volume mounted at /data (required)
	env     []string    // extra VIBESYNC_* settings
	cmd     []string    // default: serve
	network *dc.Network // default: the engine's default bridge
}

// server is one vibesyncd container. Its port is published on 127.0.0.1
// only, on a host port Docker picks; its URL is re-read from the engine
// after every start, restart, kill or network change because that port
// changes.
type server struct {
	name   string
	id     string
	volume string
	mu     sync.Mutex
	url    string // http://127.0.0.1:<port>, "" while unreachable
	client *http.Client
}

// createServer creates a server container without starting it, and removes
// it (with its anonymous volumes) when t ends.
func createServer(t testing.TB, o serverOptions) *server {
	t.Helper()
	needDocker(t)
	if o.volume == "" {
		t.Fatal("createServer: a volume is required")
	}
	contract, err := servertest.LoadContract()
	if err != nil {
		t.Fatalf("%v", err)
	}
	// Every exchange is checked against the OpenAPI document.
	transport := contract.CheckedTransport(&http.Transport{MaxIdleConnsPerHost: 16}, func(err error) { t.Errorf("%v", err) })
	s := &server{name: uniqueName("server"), volume: o.volume,
		client: &http.Client{Timeout: 20 * time.Second, Transport: transport}}
	net := &dc.NetworkingConfig{EndpointsConfig: map[string]*dc.EndpointConfig{}}
	mode := ""
	if o.network != nil {
		net.EndpointsConfig[o.network.Name] = &dc.EndpointConfig{}
		mode = o.network.Name
	}
	c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{
		Name: s.name,
		Config: &dc.Config{
			Image:        image,
			Cmd:          o.cmd,
			Env:          withDefaultEnv(o.env),
			ExposedPorts: map[dc.Port]struct{}{containerPort: {}},
			Labels:       labels(),
		},
		HostConfig: &dc.HostConfig{
			Binds:        []string{o.volume + ":/data"},
			PortBindings: map[dc.Port][]dc.PortBinding{containerPort: {{HostIP: "127.0.0.1"}}},
			NetworkMode:  mode,
		},
		NetworkingConfig: net,
	})
	if err != nil {
		t.Fatalf("create container: %v", err)
	}
	s.id = c.ID
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of %s (last 40 lines):\n%s", s.name, s.logs(40))
		}
		if err := pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: s.id, Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("remove container %s: %v", s.name, err)
		}
		s.client.CloseIdleConnections()
	})
	return s
}

// startServer creates and starts a server and waits until it is ready.
func startServer(t testing.TB, o serverOptions) *server {
	t.Helper()
	s := createServer(t, o)
	s.start(t)
	return s
}

// start starts the (created or stopped) container and waits for /readyz.
func (s *server) start(t testing.TB) {
	t.Helper()
	if err := pool.Client.StartContainer(s.id, nil); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	s.waitReady(t)
}

// stop stops the server gracefully (SIGTERM) and checks it exited cleanly.
func (s *server) stop(t testing.TB) {
	t.Helper()
	if err := pool.Client.StopContainer(s.id, 20); err != nil {
		t.Fatalf("stop %s: %v", s.name, err)
	}
	if st := s.inspect(t).State; st.ExitCode != 0 {
		t.Fatalf("%s exited with status %d after a graceful stop; logs:\n%s", s.name, st.ExitCode, s.logs(40))
	}
	s.forget()
}

// restart stops the server gracefully and starts it again on its volume.
func (s *server) restart(t testing.TB) {
	t.Helper()
	s.stop(t)
	s.start(t)
}

// kill sends SIGKILL (kill -9: no shutdown code runs) and waits until the
// container has exited.
func (s *server) kill(t testing.TB) {
	t.Helper()
	if err := pool.Client.KillContainer(dc.KillContainerOptions{ID: s.id, Signal: dc.SIGKILL}); err != nil {
		t.Fatalf("kill %s: %v", s.name, err)
	}
	ctx, cancel := withTimeout(30 * time.Second)
	defer cancel()
	for s.inspect(t).State.Running {
		if ctx.Err() != nil {
			t.Fatalf("%s still running 30s after SIGKILL", s.name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.forget()
}

// pause freezes every process of the container: connections are accepted
// by the kernel but nothing answers.
func (s *server) pause(t testing.TB) {
	t.Helper()
	if err := pool.Client.PauseContainer(s.id); err != nil {
		t.Fatalf("pause %s: %v", s.name, err)
	}
}

// unpause resumes a paused container.
func (s *server) unpause(t testing.TB) {
	t.Helper()
	if err := pool.Client.UnpauseContainer(s.id); err != nil {
		t.Fatalf("unpause %s: %v", s.name, err)
	}
	s.refresh(t)
}

// disconnect cuts the container off network n; its published port goes away.
func (s *server) disconnect(t testing.TB, n *dc.Network) {
	t.Helper()
	if err := pool.Client.DisconnectNetwork(n.ID, dc.NetworkConnectionOptions{Container: s.id, Force: true}); err != nil {
		t.Fatalf("disconnect %s from %s: %v", s.name, n.Name, err)
	}
	s.refresh(t)
}

// connect attaches the container to network n again and waits until it
// answers on its (new) published port.
func (s *server) connect(t testing.TB, n *dc.Network) {
	t.Helper()
	if err := pool.Client.ConnectNetwork(n.ID, dc.NetworkConnectionOptions{Container: s.id}); err != nil {
		t.Fatalf("connect %s to %s: %v", s.name, n.Name, err)
	}
	s.waitReady(t)
}

func (s *server) inspect(t testing.TB) *dc.Container {
	t.Helper()
	c, err := pool.Client.InspectContainer(s.id)
	if err != nil {
		t.Fatalf("inspect %s: %v", s.name, err)
	}
	return c
}

// refresh re-reads the published host port from the engine.
func (s *server) refresh(t testing.TB) {
	t.Helper()
	s.forget()
	c := s.inspect(t)
	if c.NetworkSettings == nil {
		return
	}
	for _, b := range c.NetworkSettings.Ports[containerPort] {
		if b.HostIP == "127.0.0.1" && b.HostPort != "" {
			s.setURL("http://127.0.0.1:" + b.HostPort)
			return
		}
		if b.HostIP != "127.0.0.1" {
			t.Fatalf("%s: port published on %q, want 127.0.0.1 only", s.name, b.HostIP)
		}
	}
}

// URL is the server's current base URL, http://127.0.0.1:<port>, or ""
// while it is stopped or cut off. Safe to call from any goroutine.
func (s *server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

func (s *server) setURL(u string) {
	s.mu.Lock()
	s.url = u
	s.mu.Unlock()
}

// forget drops the address and pooled connections of a server that went away.
func (s *server) forget() {
	s.setURL("")
	s.client.CloseIdleConnections()
}

// waitReady polls /readyz until the database answers and every migration
// is applied; it fails fast when the container exits.
func (s *server) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		c := s.inspect(t)
		if !c.State.Running {
			t.Fatalf("%s exited (status %d) before it was ready; logs:\n%s", s.name, c.State.ExitCode, s.logs(40))
		}
		if s.URL() == "" {
			s.refresh(t)
		}
		if s.URL() != "" {
			ctx, cancel := withTimeout(2 * time.Second)
			status, body, err := s.call(ctx, "GET", "/readyz", "", nil)
			cancel()
			if err == nil && status == http.StatusOK {
				return
			}
			last = fmt.Sprintf("status %d %s %v", status, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after 60s (last answer: %s); logs:\n%s", s.name, last, s.logs(40))
}

// wait waits for a one-shot container (e.g. `migrate status`) to end.
func (s *server) wait(t testing.TB) int {
	t.Helper()
	code, err := pool.Client.WaitContainer(s.id)
	if err != nil {
		t.Fatalf("wait for %s: %v", s.name, err)
	}
	return code
}

// logs returns the last n lines the server wrote (stdout and stderr).
func (s *server) logs(n int) string {
	var buf bytes.Buffer
	ctx, cancel := withTimeout(10 * time.Second)
	defer cancel()
	err := pool.Client.Logs(dc.LogsOptions{Context: ctx, Container: s.id, OutputStream: &buf, ErrorStream: &buf,
		Stdout: true, Stderr: true, Tail: fmt.Sprint(n)})
	if err != nil {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	return buf.String()
}

// copyData downloads the container's /data (works on a stopped or killed
// container) into a fresh temp dir and returns the dir.
func (s *server) copyData(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- untar(pr, dir) }()
	err := pool.Client.DownloadFromContainer(s.id, dc.DownloadFromContainerOptions{Path: "/data", OutputStream: pw})
	pw.CloseWithError(err)
	if uerr := <-errc; err == nil {
		err = uerr
	}
	if err != nil {
		t.Fatalf("copy /data out of %s: %v", s.name, err)
	}
	return dir
}

// upload puts files into the container's /data (its volume), owned by the
// server's user. The container may be created and not started.
func (s *server) upload(t testing.TB, files map[string][]byte) {
	t.Helper()
	buf, err := tarFiles(files)
	if err != nil {
		t.Fatalf("tar: %v", err)
	}
	if err := pool.Client.UploadToContainer(s.id, dc.UploadToContainerOptions{Path: "/data", InputStream: buf}); err != nil {
		t.Fatalf("upload to %s: %v", s.name, err)
	}
}

// call sends one request; a transport failure comes back as err (used by
// load generators, which must not stop the test from a goroutine).
func (s *server) call(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	return s.callHeader(ctx, method, path, token, nil, body)
}

// callHeader is call with extra request headers.
func (s *server) callHeader(ctx context.Context, method, path, token string, h http.Header, body any) (int, []byte, error) {
	url := s.URL()
	if url == "" {
		return 0, nil, fmt.Errorf("%s is not reachable", s.name)
	}
	req, err := servertest.NewRequest(ctx, method, url+path, token, body)
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res.StatusCode, data, err
}

// do sends a request and fails the test on a transport error.
func (s *server) do(t testing.TB, method, path, token string, body any) *servertest.Response {
	t.Helper()
	status, data, err := s.call(context.Background(), method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, s.name, err)
	}
	return servertest.NewResponse(t, method+" "+path, status, nil, data)
}

// account is a registered user as a client holds it.
type account struct {
	ID       string
	Name     string
	Username string
	Password string
	Token    string
	Refresh  string
}

type authBody struct {
	User struct {
		ID       string `json:"_id"`
		Name     string `json:"name"`
		Username string `json:"username"`
		Bio      string `json:"bio"`
	} `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// register creates a user through s and fails the test unless it answers 201.
func (s *server) register(t testing.TB, name, username string) account {
	t.Helper()
	a := account{Name: name, Username: username, Password: "correct horse " + username}
	var body authBody
	s.do(t, "POST", "/auth/register", "", map[string]string{"name": name, "username": username, "password": a.Password}).
		Want(http.StatusCreated).Decode(&body)
	if body.User.ID == "" || body.AccessToken == "" || body.RefreshToken == "" || body.User.Username != username {
		t.Fatalf("register %s: incomplete answer %+v", username, body)
	}
	a.ID, a.Token, a.Refresh = body.User.ID, body.AccessToken, body.RefreshToken
	return a
}

// login logs a in through s, storing the new tokens in a.
func (s *server) login(t testing.TB, a *account) {
	t.Helper()
	var body authBody
	s.do(t, "POST", "/auth/login", "", map[string]string{"username": a.Username, "password": a.Password}).
		Want(http.StatusOK).Decode(&body)
	if body.User.ID != a.ID || body.AccessToken == "" {
		t.Fatalf("login %s through %s: got user %q, want %q", a.Username, s.name, body.User.ID, a.ID)
	}
	a.Token, a.Refresh = body.AccessToken, body.RefreshToken
}

// userJSON is the API's user shape.
type userJSON struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Photo    string `json:"photo"`
	Bio      string `json:"bio"`
}

// me reads /users/me with token.
func (s *server) me(t testing.TB, token string) userJSON {
	t.Helper()
	var body struct {
		User userJSON `json:"user"`
	}
	s.do(t, "GET", "/users/me", token, nil).Want(http.StatusOK).Decode(&body)
	return body.User
}

// unlimitedEnv turns the request budgets off: the suites register many
// users and send bursts of writes from one address. A suite that tests the
// budgets sets them itself.
var unlimitedEnv = []string{"VIBESYNC_RATE_AUTH=off", "VIBESYNC_RATE_LOGIN_FAILURES=off",
	"VIBESYNC_RATE_ACCOUNT_FAILURES=off", "VIBESYNC_RATE_WRITES=off"}

// withDefaultEnv is env plus each of unlimitedEnv whose variable env does
// not set.
func withDefaultEnv(env []string) []string {
	out := slices.Clone(env)
	for _, d := range unlimitedEnv {
		name, _, _ := strings.Cut(d, "=")
		if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, name+"=") }) {
			out = append(out, d)
		}
	}
	return out
}
