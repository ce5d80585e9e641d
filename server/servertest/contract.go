package servertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/vibesync/vibesync/docs"
)

// Contract is docs/openapi.yaml, loaded for checking HTTP exchanges.
type Contract struct {
	Doc    *openapi3.T
	router routers.Router
}

// LoadContract loads and validates the embedded OpenAPI document (once).
var LoadContract = sync.OnceValues(func() (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	// Route on paths alone: the servers the tests call listen on other
	// addresses than the document's example server.
	routed := *doc
	routed.Servers = nil
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("route docs/openapi.yaml: %w", err)
	}
	return &Contract{Doc: doc, router: router}, nil
})

// CheckedTransport wraps base (http.DefaultTransport when nil) so that
// every exchange with a route of the document is checked against it:
//   - a request the document accepts must get an answer the document
//     lists for that operation (status, headers, body schema);
//   - a request the document refuses (a missing token, a malformed id, a
//     value out of range, a wrong body) must be refused by the server too,
//     with a 4xx the operation lists and the Error shape.
//
// Violations go to report; the exchange itself is passed on unchanged.
// Requests for paths the document does not describe (the Connect
// services, unknown routes) and WebSocket upgrades pass unchecked; the
// route-coverage test keeps the document and routes.go equal.
func (c *Contract) CheckedTransport(base http.RoundTripper, report func(error)) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &checkedTransport{c: c, base: base, report: report}
}

type checkedTransport struct {
	c      *Contract
	base   http.RoundTripper
	report func(error)
}

func (t *checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Upgrade") != "" {
		return t.base.RoundTrip(req)
	}
	route, params, err := t.c.router.FindRoute(req)
	if err != nil {
		return t.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	probe := req.Clone(req.Context())
	probe.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerPresent},
	}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)

	res, err := t.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil { // the caller meets the short body and its error itself
		res.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data), errReader{err}))
		return res, nil
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	what := req.Method + " " + req.URL.RequestURI()
	if reqErr != nil && (res.StatusCode < 400 || res.StatusCode >= 500) {
		t.report(fmt.Errorf("contract: %s: the document refuses this request (%s) but the server answered %d %s",
			what, oneLine(reqErr), res.StatusCode, data))
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body:    io.NopCloser(bytes.NewReader(data)),
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		t.report(fmt.Errorf("contract: %s (route %s %s): the answer %d breaks the document: %s; body: %.600s",
			what, req.Method, route.Path, res.StatusCode, oneLine(err), data))
	}
	return res, nil
}

// bearerPresent accepts a security requirement when the credential it
// names is present; whether the token is valid is the server's to say.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch s := in.SecurityScheme; {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return errors.New("no bearer token")
		}
	case s.Type == "apiKey" && s.In == "query":
		if r.URL.Query().Get(s.Name) == "" {
			return fmt.Errorf("no %s query parameter", s.Name)
		}
	}
	return nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// oneLine is err on one line, cut to a readable length (schema errors
// quote the whole schema and value).
func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 1200 {
		s = s[:1200] + " …"
	}
	return s
}

// CloseIdleConnections closes the idle connections of the wrapped
// transport (http.Client.CloseIdleConnections reaches it through here).
func (t *checkedTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Checked wraps base (http.DefaultTransport when nil) so that exchanges
// with this server are checked against the OpenAPI document, violations
// failing e.T; for clients the test builds itself.
func (e *Env) Checked(base http.RoundTripper) http.RoundTripper {
	c, err := LoadContract()
	if err != nil {
		e.T.Fatalf("%v", err)
	}
	return c.CheckedTransport(base, func(err error) { e.T.Errorf("%v", err) })
}
