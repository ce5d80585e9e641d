package rest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// rawPost sends body with the given Content-Type ("" for none).
func rawPost(t *testing.T, env *servertest.Env, path, token, contentType, body string) *servertest.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "POST", env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return servertest.NewResponse(t, "POST "+path, res.StatusCode, res.Header, data)
}

func TestJSONRoutesRefuseOtherContentTypes(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy := env.Register("Amy")
	login := `{"username":"` + amy.Username + `","password":"` + amy.Password + `"}`
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp", "application/vnd.vibesync+json", "nonsense/"} {
		t.Run("415 for "+ct, func(t *testing.T) {
			rawPost(t, env, "/auth/login", "", ct, login).WantError(http.StatusUnsupportedMediaType, "unsupported_media_type")
			rawPost(t, env, "/requests", amy.Token, ct, `{"chat":"0123456789abcdef01234567"}`).WantError(http.StatusUnsupportedMediaType, "unsupported_media_type")
		})
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
		t.Run("accepted: "+ct, func(t *testing.T) {
			rawPost(t, env, "/auth/login", "", ct, login).Want(http.StatusOK)
		})
	}
	t.Run("a route with an optional body takes none without a type", func(t *testing.T) {
		rawPost(t, env, "/notifications/read-all", amy.Token, "", "").Want(http.StatusOK)
	})
}

// TestHeaderLimits: headers over 64 KiB get a JSON 431; past net/http's own
// 1 MiB bound net/http answers 431 itself (plain text) before any handler.
func TestHeaderLimits(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	send := func(size int) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", env.URL+"/healthz", nil)
		req.Header.Set("X-Padding", strings.Repeat("a", size))
		hc := env.HTTP.Client()
		if size > 1<<20 { // net/http's own answer, outside the document: a plain client
			hc = &http.Client{}
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return res, data
	}
	res, body := send(100 << 10)
	servertest.NewResponse(t, "GET /healthz", res.StatusCode, res.Header, body).WantError(http.StatusRequestHeaderFieldsTooLarge, "headers_too_large")
	res, _ = send(2 << 20)
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("2 MiB of headers: %d, want net/http's 431", res.StatusCode)
	}
	res, _ = send(1 << 10)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("1 KiB of headers: %d", res.StatusCode)
	}
}
