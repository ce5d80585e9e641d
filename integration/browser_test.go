package integration

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

//go:embed testdata/browser.html
var browserPage []byte

// chromium returns the path of a Chromium binary. Outside CI a machine
// without one skips the browser tests; under CI=true (.ci/run installs
// Debian's chromium) a missing browser fails them.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("SKIPPED: no chromium on this machine (apt-get install chromium); CI runs this test")
	return ""
}

// pageServer serves the browser test page on an origin of its own.
func pageServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(browserPage)
	}))
	t.Cleanup(s.Close)
	return s
}

// runPage loads page in headless Chromium and returns the results it
// publishes as window.result.
func runPage(t *testing.T, browser context.Context, page string) map[string]map[string]any {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	// Only stops a hung browser; no assertion depends on it.
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("load %s in chromium: %v", page, err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Poll[string](`window.result`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second)))
	if err != nil {
		t.Fatalf("wait for the results of %s: %v", page, err)
	}
	var out map[string]map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("page result %q: %v", raw, err)
	}
	t.Logf("%s: %s", page, raw)
	return out
}

// TestBrowserClientOnAnAllowedOriginUsesRESTConnectAndTheSocket loads a
// page from an origin the server's allowed origins name in headless
// Chromium: it registers, creates and lists a chat over REST, pulls over
// Connect's JSON protocol with fetch, and receives a live message on the
// WebSocket. The same page from another origin is refused by the browser
// at every step. The server is the image's, its origins set by
// VIBESYNC_ALLOWED_ORIGINS as an operator would set them; the pages are
// served from this process on 127.0.0.1, where the container's port is
// published too.
func TestBrowserClientOnAnAllowedOriginUsesRESTConnectAndTheSocket(t *testing.T) {
	t.Parallel()
	needDocker(t)
	bin := chromium(t)
	allowed, other := pageServer(t), pageServer(t)
	s := startServer(t, serverOptions{volume: newVolume(t), env: []string{"VIBESYNC_ALLOWED_ORIGINS=" + allowed.URL}})

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	t.Run("allowed origin", func(t *testing.T) {
		got := runPage(t, browser, allowed.URL+"/?mode=full&api="+url.QueryEscape(s.URL()))
		wantStatus := func(step string, want float64) {
			t.Helper()
			if s, _ := got[step]["status"].(float64); s != want {
				t.Errorf("%s: %v, want status %v", step, got[step], want)
			}
		}
		wantStatus("register", http.StatusCreated)
		if id, _ := got["register"]["requestId"].(string); id == "" {
			t.Errorf("register: X-Request-Id not readable from script (exposed headers): %v", got["register"])
		}
		wantStatus("createChat", http.StatusCreated)
		wantStatus("listChats", http.StatusOK)
		if ids, _ := got["listChats"]["ids"].([]any); len(ids) != 1 || ids[0] != got["listChats"]["want"] {
			t.Errorf("listChats: %v, want just the created chat", got["listChats"])
		}
		wantStatus("pull", http.StatusOK)
		if n, _ := got["pull"]["changes"].(float64); n < 1 {
			t.Errorf("pull: %v, want the chat's rows", got["pull"])
		}
		sock := got["socket"]
		if sock["text"] != "hello from the browser test" || sock["error"] != nil {
			t.Errorf("socket: %v, want the message-created event with the message", sock)
		}
	})

	t.Run("other origin", func(t *testing.T) {
		u := s.register(t, "Eve Other", "eve.other")
		got := runPage(t, browser, other.URL+"/?mode=refused&token="+url.QueryEscape(u.Token)+"&api="+url.QueryEscape(s.URL()))
		for _, step := range []string{"register", "listChats", "pull", "socket"} {
			if _, ok := got[step]["refused"]; !ok {
				t.Errorf("%s from %s: %v, want the browser to refuse it", step, other.URL, got[step])
			}
		}
	})
}
