package servertest

import (
	"net/http"
	"regexp"
	"testing"

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
