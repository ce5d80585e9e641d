package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/servertest"
)

const (
	appOrigin   = "https://app.example.com"
	otherOrigin = "https://evil.example.com"
)

func withOrigins(origins ...string) servertest.Option {
	return func(c *server.Config) { c.AllowedOrigins = origins }
}

// preflight sends the OPTIONS request a browser sends before a
// cross-origin call of method with the given extra request headers.
func preflight(t *testing.T, env *servertest.Env, path, origin, method, headers string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" { // as browsers send them: lower case, sorted
		list := strings.Split(strings.ToLower(headers), ",")
		slices.Sort(list)
		req.Header.Set("Access-Control-Request-Headers", strings.Join(list, ","))
	}
	res, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func hasToken(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

func TestCORSPreflightFromAnAllowedOriginIsAnsweredAndCached(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, withOrigins(appOrigin))
	cases := []struct{ name, path, method, headers string }{
		{"REST list", "/chats", "GET", "authorization"},
		{"REST write", "/chats/abc", "PUT", "authorization,content-type,x-socket-id"},
		{"REST patch", "/users/me", "PATCH", "authorization,content-type"},
		{"REST delete", "/connections/abc", "DELETE", "authorization"},
		{"Connect unary", "/vibesync.sync.v1.SyncService/Pull", "POST", "authorization,content-type,connect-protocol-version,connect-timeout-ms"},
		{"gRPC-Web", "/vibesync.sync.v1.SyncService/Pull", "POST", "authorization,content-type,x-grpc-web,x-user-agent,grpc-timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := preflight(t, env, c.path, appOrigin, c.method, c.headers)
			if res.StatusCode/100 != 2 {
				t.Fatalf("preflight status %d, want 2xx", res.StatusCode)
			}
			h := res.Header
			if got := h.Get("Access-Control-Allow-Origin"); got != appOrigin {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, appOrigin)
			}
			if !hasToken(h.Get("Access-Control-Allow-Methods"), c.method) {
				t.Errorf("Access-Control-Allow-Methods = %q, want %s", h.Get("Access-Control-Allow-Methods"), c.method)
			}
			for _, want := range strings.Split(c.headers, ",") {
				if !hasToken(h.Get("Access-Control-Allow-Headers"), want) {
					t.Errorf("Access-Control-Allow-Headers = %q, want %s", h.Get("Access-Control-Allow-Headers"), want)
				}
			}
			if got := h.Get("Access-Control-Max-Age"); got != "7200" {
				t.Errorf("Access-Control-Max-Age = %q, want 7200", got)
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Access-Control-Allow-Credentials = %q, want none", got)
			}
		})
	}
}

func TestCORSAnswersCarryTheOriginAndExposedHeaders(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, withOrigins(appOrigin))
	u := env.Register("Amy Jackson")
	req, _ := http.NewRequest("GET", env.URL+"/chats", nil)
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Authorization", "Bearer "+u.Token)
	res, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /chats: status %d", res.StatusCode)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != appOrigin {
		t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, appOrigin)
	}
	exposed := res.Header.Get("Access-Control-Expose-Headers")
	for _, want := range []string{"X-Request-Id", "WWW-Authenticate", "Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"} {
		if !hasToken(exposed, want) {
			t.Errorf("Access-Control-Expose-Headers = %q, want %s", exposed, want)
		}
	}
	if !hasToken(res.Header.Get("Vary"), "Origin") {
		t.Errorf("Vary = %q, want Origin", res.Header.Get("Vary"))
	}
}

func TestCORSRefusesOtherOrigins(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, withOrigins(appOrigin))
	res := preflight(t, env, "/chats", otherOrigin, "GET", "authorization")
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("preflight from %s: Access-Control-Allow-Origin = %q, want none", otherOrigin, got)
	}
	req, _ := http.NewRequest("GET", env.URL+"/healthz", nil)
	req.Header.Set("Origin", otherOrigin)
	res, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("GET from %s: Access-Control-Allow-Origin = %q, want none", otherOrigin, got)
	}
}

func TestCORSWithAnyOriginAllowsEveryOriginWithoutCredentials(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, withOrigins("*"))
	res := preflight(t, env, "/chats", otherOrigin, "GET", "authorization")
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "*" && got != otherOrigin {
		t.Fatalf("Access-Control-Allow-Origin = %q, want * or %s", got, otherOrigin)
	}
	if got := res.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("Access-Control-Allow-Credentials = %q, want none", got)
	}
}

func TestCORSIsOffWithoutAllowedOrigins(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	res := preflight(t, env, "/chats", appOrigin, "GET", "authorization")
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS /chats without allowed origins: status %d, want 405", res.StatusCode)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q, want none", got)
	}
}
