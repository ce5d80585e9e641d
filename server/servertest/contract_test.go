package servertest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// fakeServer answers every request with status and body, whatever it asks.
func fakeServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

// exchange sends one request through the checking transport and returns
// the violations it reported.
func exchange(t *testing.T, srv *httptest.Server, method, path, token string, body any) []string {
	t.Helper()
	c, err := servertest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	client := &http.Client{Transport: c.CheckedTransport(srv.Client().Transport, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, err.Error())
	})}
	req, err := servertest.NewRequest(t.Context(), method, srv.URL+path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return got
}

const validUser = `{"user":{"_id":"688c51572b675be4b88339d1","name":"John Doe","username":"john.doe"}}`

func TestContractAcceptsAnExchangeTheDocumentDescribes(t *testing.T) {
	t.Parallel()
	if got := exchange(t, fakeServer(t, 200, validUser), "GET", "/users/me", "tok", nil); len(got) != 0 {
		t.Fatalf("violations for a documented exchange: %v", got)
	}
	if got := exchange(t, fakeServer(t, 404, `{"error":"Not Found","message":"No route"}`), "GET", "/no/such/route", "", nil); len(got) != 0 {
		t.Fatalf("violations for a path the document does not describe: %v", got)
	}
}

func TestContractCatchesAnswersThatBreakTheDocument(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, path string
		status             int
		body, want         string
	}{
		{"wrong type", "GET", "/users/me", 200, `{"user":{"_id":5,"name":"John Doe","username":"john.doe"}}`, "breaks the document"},
		{"undocumented field", "GET", "/users/me", 200, `{"user":{"_id":"688c51572b675be4b88339d1","name":"John Doe","username":"john.doe","password":"x"}}`, "breaks the document"},
		{"missing field", "GET", "/users/me", 200, `{"user":{"_id":"688c51572b675be4b88339d1","name":"John Doe"}}`, "breaks the document"},
		{"undocumented status", "GET", "/users/me", 418, `{"error":"I'm a teapot","message":"no"}`, "status is not supported"},
		{"error without message", "GET", "/users/me", 404, `{"error":"Not Found"}`, "breaks the document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := exchange(t, fakeServer(t, c.status, c.body), c.method, c.path, "tok", nil)
			if len(got) != 1 || !strings.Contains(got[0], c.want) {
				t.Fatalf("violations %q, want one saying %q", got, c.want)
			}
		})
	}
}

func TestContractCatchesAServerAcceptingWhatTheDocumentRefuses(t *testing.T) {
	t.Parallel()
	list := `{"users":[],"count":0}`
	cases := []struct {
		name, path, token string
		body              any
	}{
		{"limit out of range", "/users?limit=0", "tok", nil},
		{"no token", "/users", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := exchange(t, fakeServer(t, 200, list), "GET", c.path, c.token, c.body)
			if len(got) != 1 || !strings.Contains(got[0], "the document refuses this request") {
				t.Fatalf("violations %q, want the refused request reported", got)
			}
		})
	}
	t.Run("body missing a required field", func(t *testing.T) {
		t.Parallel()
		got := exchange(t, fakeServer(t, 201, `{"message":"Connection request sent successfully","id":1}`),
			"POST", "/v1/connections/688c51572b675be4b88339d1/request", "tok", map[string]string{"message": "hi"})
		if len(got) != 1 || !strings.Contains(got[0], "the document refuses this request") {
			t.Fatalf("violations %q, want the refused request reported", got)
		}
	})
	t.Run("a time that is not a date-time", func(t *testing.T) {
		t.Parallel()
		got := exchange(t, fakeServer(t, 200, `{"status":{"text":"x"}}`),
			"PUT", "/users/me/status", "tok", map[string]string{"text": "out", "expiresAt": "tomorrow"})
		if len(got) == 0 || !strings.Contains(got[0], "the document refuses this request") {
			t.Fatalf("violations %q, want the refused request reported", got)
		}
	})
	t.Run("the same refused request again", func(t *testing.T) {
		t.Parallel()
		for range 3 { // the parameter check's outcome is remembered: it must stay a refusal
			got := exchange(t, fakeServer(t, 200, list), "GET", "/users?limit=101", "tok", nil)
			if len(got) != 1 || !strings.Contains(got[0], "the document refuses this request") {
				t.Fatalf("violations %q, want the refused request reported", got)
			}
		}
	})
	t.Run("refused by both", func(t *testing.T) {
		t.Parallel()
		got := exchange(t, fakeServer(t, 400, `{"error":"Bad Request","message":"limit must be a whole number from 1 to 100","code":"invalid","field":"limit"}`),
			"GET", "/users?limit=0", "tok", nil)
		if len(got) != 0 {
			t.Fatalf("violations %q for a request both refuse", got)
		}
	})
}
