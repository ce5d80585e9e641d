package servertest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The routers split by first segment find, for every operation of the
// document and for paths and methods it does not describe, what one
// router over the whole document finds, the first time (routed) and the
// second (remembered).
func TestSplitRoutersRouteAsOneRouter(t *testing.T) {
	t.Parallel()
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	whole := *c.Doc
	whole.Servers = nil
	one, err := gorillamux.NewRouter(&whole)
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]*\}`)
	type probe struct{ method, path string }
	var probes []probe
	for path, item := range c.Doc.Paths.Map() {
		for _, value := range []string{"688c51572b675be4b88339d1", "me", "x%2Fy"} {
			p := param.ReplaceAllString(path, value)
			for method := range item.Operations() {
				probes = append(probes, probe{method, p})
			}
			probes = append(probes, probe{"TRACE", p}, probe{"GET", p + "/extra"}, probe{"GET", p + "/"})
		}
	}
	probes = append(probes, probe{"GET", "/"}, probe{"GET", "/no/such/route"}, probe{"GET", "//chats"}, probe{"GET", "/v1"})
	if len(probes) < 100 {
		t.Fatalf("only %d probes: the document's paths were not read", len(probes))
	}
	for _, p := range append(probes, probes...) {
		req, err := http.NewRequest(p.method, "http://127.0.0.1:1"+p.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantRoute, wantParams, wantErr := one.FindRoute(req)
		gotRoute, gotParams, gotErr := c.findRoute(req)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Errorf("%s %s: error %v, one router's %v", p.method, p.path, gotErr, wantErr)
			continue
		}
		if wantErr != nil {
			continue
		}
		if gotRoute.Path != wantRoute.Path || gotRoute.Method != wantRoute.Method || gotRoute.Operation != wantRoute.Operation ||
			gotRoute.PathItem != wantRoute.PathItem || len(gotParams) != len(wantParams) {
			t.Errorf("%s %s: route %s %s %v, one router's %s %s %v", p.method, p.path,
				gotRoute.Method, gotRoute.Path, gotParams, wantRoute.Method, wantRoute.Path, wantParams)
			continue
		}
		for k, v := range wantParams {
			if gotParams[k] != v {
				t.Errorf("%s %s: parameter %s = %q, one router's %q", p.method, p.path, k, gotParams[k], v)
			}
		}
	}
}

// The remembered parameter check (requestKey) gives every id-shaped path
// value one outcome; that holds only if each path parameter of the
// document takes all of them or none. Checked here parameter by
// parameter, with kin-openapi's own check, against ids that differ in
// every way the shape allows; and the shape leaves out what a parameter
// could tell apart (all digits, upper case, other lengths).
func TestEveryIDShapedPathValueHasOneOutcome(t *testing.T) {
	t.Parallel()
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"688c51572b675be4b88339d1", "abcdefabcdefabcdefabcdef", "000000000000000000000a00", "f99999999999999999999999"}
	for _, v := range ids {
		if !idShaped(v) {
			t.Fatalf("idShaped(%q) = false", v)
		}
	}
	for _, v := range []string{"000000000000000000000000", "688C51572B675BE4B88339D1", "688c51572b675be4b88339d", "688c51572b675be4b88339d1a", "me", "zzzzzzzzzzzzzzzzzzzzzzzz"} {
		if idShaped(v) {
			t.Errorf("idShaped(%q) = true", v)
		}
	}
	checked := 0
	for path, item := range c.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			params := append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...)
			for _, p := range params {
				if p.Value.In != openapi3.ParameterInPath {
					continue
				}
				var first error
				for i, v := range ids {
					in := &openapi3filter.RequestValidationInput{
						Request:    httptest.NewRequest(method, "http://127.0.0.1:1/", nil),
						PathParams: map[string]string{p.Value.Name: v},
						Route:      &routers.Route{Spec: c.Doc, Path: path, PathItem: item, Method: method, Operation: op},
					}
					err := openapi3filter.ValidateParameter(t.Context(), in, p.Value)
					if i == 0 {
						first = err
					} else if (err == nil) != (first == nil) {
						t.Errorf("%s %s: parameter %s takes %q: %v, but %q: %v", method, path, p.Value.Name, ids[0], first, v, err)
					}
				}
				checked++
			}
		}
	}
	if checked < 30 {
		t.Fatalf("only %d path parameters checked: the document's paths were not read", checked)
	}
}
