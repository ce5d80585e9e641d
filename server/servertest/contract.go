package servertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
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
	Doc *openapi3.T
	// routers holds one router per first path segment ("chats" for
	// /chats/{id}), each over the document's paths that start with it.
	routers map[string]routers.Router
	// routes remembers findRoute's answer per method and escaped path
	// (a foundRoute): the tests send the same paths many times.
	routes  sync.Map
	schemas *schemas // the bodies' schemas, each compiled once
	// requests remembers the outcome of checking a request's security and
	// parameters, keyed by everything that check reads (requestKey).
	requests sync.Map
}

// LoadContract loads the embedded OpenAPI document (once). It does not
// validate the document: server/rest's
// TestOpenAPIDocumentIsAValidOpenAPI31Document does, examples included,
// and validating it again in each test binary that checks exchanges
// would cost some 60 ms of CPU in each.
var LoadContract = sync.OnceValues(func() (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load docs/openapi.yaml: %w", err)
	}
	byFirst, err := newRouters(doc)
	if err != nil {
		return nil, fmt.Errorf("route docs/openapi.yaml: %w", err)
	}
	compiled, err := newSchemas(doc)
	if err != nil {
		return nil, fmt.Errorf("compile docs/openapi.yaml's schemas: %w", err)
	}
	return &Contract{Doc: doc, routers: byFirst, schemas: compiled}, nil
})

// newRouters routes doc's paths with one gorillamux router per first path
// segment. gorillamux tries every route's regular expression in turn
// (about 60 here, 5 % of server/rest's test CPU); a path's first segment
// is a literal in every template of the document, so only the routes
// that share the request's can match it, in the same order as in one
// router over the whole document. The routers route on paths alone: the
// servers the tests call listen on other addresses than the document's
// example server.
func newRouters(doc *openapi3.T) (map[string]routers.Router, error) {
	groups := map[string]*openapi3.Paths{}
	for path, item := range doc.Paths.Map() {
		first := firstSegment(path)
		if strings.ContainsAny(first, "{}") {
			return nil, fmt.Errorf("path %s: its first segment is not a literal", path)
		}
		if groups[first] == nil {
			groups[first] = openapi3.NewPaths()
		}
		groups[first].Set(path, item)
	}
	byFirst := map[string]routers.Router{}
	for first, paths := range groups {
		routed := *doc
		routed.Servers = nil
		routed.Paths = paths
		r, err := gorillamux.NewRouter(&routed)
		if err != nil {
			return nil, err
		}
		byFirst[first] = r
	}
	return byFirst, nil
}

// firstSegment is a path's first segment: "chats" for /chats/{id}.
func firstSegment(path string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return first
}

// foundRoute is one answer of findRoute.
type foundRoute struct {
	route  *routers.Route
	params map[string]string
	err    error
}

// findRoute is the document's route for req (routers.ErrPathNotFound
// when none matches its path). The answer depends on the method and the
// escaped path alone (the routers match no host, scheme or query), so
// it is remembered per pair; each caller gets its own copies.
func (c *Contract) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	path := req.URL.EscapedPath()
	key := req.Method + " " + path
	v, ok := c.routes.Load(key)
	if !ok {
		var f foundRoute
		if r := c.routers[firstSegment(path)]; r != nil {
			f.route, f.params, f.err = r.FindRoute(req)
		} else {
			f.err = routers.ErrPathNotFound
		}
		v, _ = c.routes.LoadOrStore(key, f)
	}
	f := v.(foundRoute)
	if f.err != nil {
		return nil, nil, f.err
	}
	route := *f.route
	return &route, maps.Clone(f.params), nil
}

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
	route, params, err := t.c.findRoute(req)
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
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerPresent},
	}
	reqErr := t.c.checkRequest(in, body)

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
	if err := t.c.checkResponse(in, res, data); err != nil {
		t.report(fmt.Errorf("contract: %s (route %s %s): the answer %d breaks the document: %s; body: %.600s",
			what, req.Method, route.Path, res.StatusCode, oneLine(err), data))
	}
	return res, nil
}

// checkRequest is openapi3filter.ValidateRequest for the request in.Request
// with the body data, its parts made cheap: the security and parameter
// check's outcome is remembered per distinct input, and a JSON body is
// checked against its schema compiled once.
func (c *Contract) checkRequest(in *openapi3filter.RequestValidationInput, data []byte) error {
	var errs openapi3.MultiError
	key := requestKey(in)
	prev, ok := c.requests.Load(key)
	if !ok {
		probe := in.Request.Clone(in.Request.Context())
		probe.Body = http.NoBody
		opts := *in.Options
		opts.ExcludeRequestBody = true
		err := openapi3filter.ValidateRequest(probe.Context(), &openapi3filter.RequestValidationInput{
			Request: probe, PathParams: in.PathParams, Route: in.Route, Options: &opts,
		})
		prev, _ = c.requests.LoadOrStore(key, requestOutcome{err})
	}
	if err := prev.(requestOutcome).err; err != nil {
		errs = append(errs, err)
	}
	if rb := in.Route.Operation.RequestBody; rb != nil && rb.Value != nil {
		if err := c.checkRequestBody(in, rb.Value, data); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

type requestOutcome struct{ err error }

// requestKey is everything the security and parameter checks of a
// request read: its operation, path parameters, query, the presence of a
// bearer token and the values of the headers and cookies the operation
// declares as parameters.
func requestKey(in *openapi3filter.RequestValidationInput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%p\x00%s\x00%t", in.Route.Operation, in.Request.URL.RawQuery,
		strings.HasPrefix(in.Request.Header.Get("Authorization"), "Bearer "))
	keys := make([]string, 0, len(in.PathParams))
	for k := range in.PathParams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := in.PathParams[k]
		if idShaped(v) {
			v = "\x00id" // one outcome for every id (idShaped)
		}
		fmt.Fprintf(&b, "\x00%s=%s", k, v)
	}
	params := append(openapi3.Parameters{}, in.Route.PathItem.Parameters...)
	params = append(params, in.Route.Operation.Parameters...)
	for _, p := range params {
		switch p.Value.In {
		case openapi3.ParameterInHeader:
			fmt.Fprintf(&b, "\x00h:%s=%q", p.Value.Name, in.Request.Header.Values(p.Value.Name))
		case openapi3.ParameterInCookie:
			fmt.Fprintf(&b, "\x00c=%q", in.Request.Header.Values("Cookie"))
		}
	}
	return b.String()
}

// idShaped reports whether a path parameter's value is shaped like an
// object id (24 lowercase hex digits) with at least one letter. Each test's
// users, chats and messages have ids of their own, so keying the
// parameter check by the id itself would check almost every request anew
// (kin-openapi compiles a parameter's schema on every check, some 40 µs).
// Every schema of the document gives all such values the same outcome:
// the id pattern takes each, an integer or `me` takes none, and no enum,
// const or other pattern names a particular id; the letter keeps out
// "000000000000000000000000", which an integer parameter would take.
func idShaped(v string) bool {
	if len(v) != 24 {
		return false
	}
	letter := false
	for _, c := range []byte(v) {
		switch {
		case c >= 'a' && c <= 'f':
			letter = true
		case c < '0' || c > '9':
			return false
		}
	}
	return letter
}

// isJSON reports whether the Content-Type value ct names JSON.
func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// checkRequestBody is openapi3filter.ValidateRequestBody; a JSON body is
// checked against its compiled schema, any other (a multipart form) by
// openapi3filter itself.
func (c *Contract) checkRequestBody(in *openapi3filter.RequestValidationInput, rb *openapi3.RequestBody, data []byte) error {
	ct := in.Request.Header.Get("Content-Type")
	if len(data) > 0 && !isJSON(ct) {
		probe := in.Request.Clone(in.Request.Context())
		probe.Body = io.NopCloser(bytes.NewReader(data))
		probe.GetBody = nil
		return openapi3filter.ValidateRequestBody(probe.Context(), &openapi3filter.RequestValidationInput{
			Request: probe, PathParams: in.PathParams, Route: in.Route, Options: in.Options,
		}, rb)
	}
	fail := func(reason string, err error) error {
		return &openapi3filter.RequestError{Input: in, RequestBody: rb, Reason: reason, Err: err}
	}
	switch {
	case len(data) == 0 && rb.Required:
		return fail("", openapi3filter.ErrInvalidRequired)
	case len(data) == 0 || len(rb.Content) == 0:
		return nil
	}
	mt := rb.Content.Get(ct)
	if mt == nil {
		return fail(fmt.Sprintf("header Content-Type has unexpected value %q", ct), nil)
	}
	if mt.Schema == nil {
		return nil
	}
	if err := c.schemas.validate(mt.Schema, data); err != nil {
		return fail("doesn't match schema", err)
	}
	return nil
}

// checkResponse is openapi3filter.ValidateResponse (every status must be
// one the operation lists); a JSON body is checked against its compiled
// schema, any other by openapi3filter itself.
func (c *Contract) checkResponse(in *openapi3filter.RequestValidationInput, res *http.Response, data []byte) error {
	ct := res.Header.Get("Content-Type")
	jsonBody := isJSON(ct)
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body:    io.NopCloser(bytes.NewReader(data)),
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true, ExcludeResponseBody: jsonBody},
	}
	if err := openapi3filter.ValidateResponse(in.Request.Context(), out); err != nil || !jsonBody {
		return err
	}
	switch res.StatusCode { // never checked by openapi3filter either
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return nil
	}
	if in.Request.Method == http.MethodHead {
		return nil
	}
	responses := in.Route.Operation.Responses
	ref := responses.Status(res.StatusCode)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil
	}
	mt := ref.Value.Content.Get(ct)
	if mt == nil {
		return &openapi3filter.ResponseError{Input: out, Reason: fmt.Sprintf("response header Content-Type has unexpected value: %q", ct)}
	}
	if mt.Schema == nil {
		return nil
	}
	if err := c.schemas.validate(mt.Schema, data); err != nil {
		return &openapi3filter.ResponseError{Input: out, Reason: "response body doesn't match schema", Err: err}
	}
	return nil
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
