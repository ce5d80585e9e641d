package rest_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vibesync/vibesync/docs"
	"github.com/vibesync/vibesync/server/servertest"
)

// routesGo returns the "METHOD /path" patterns routes.go mounts, read
// from its source so that routes mounted only under some configuration
// count too.
func routesGo(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "routes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
			return true
		}
		// The pattern is a string literal, or the first argument of a
		// call that returns it with its handler (mux.Handle(a.upload(...))).
		arg := call.Args[0]
		if inner, ok := arg.(*ast.CallExpr); ok && len(inner.Args) > 0 {
			arg = inner.Args[0]
		}
		lit, ok := arg.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Fatalf("routes.go: a route pattern that is not a string literal at %v", call.Pos())
		}
		p, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
		return true
	})
	if len(out) < 10 {
		t.Fatalf("routes.go: found only %d routes: %v", len(out), out)
	}
	return out
}

// documented returns the operations of docs/openapi.yaml as mux
// patterns: "/media/{path}" is the subtree "/media/".
func documented(t *testing.T) []string {
	t.Helper()
	c, err := servertest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, item := range c.Doc.Paths.Map() {
		for method := range item.Operations() {
			if path == "/media/{path}" {
				path = "/media/"
			}
			out = append(out, method+" "+path)
		}
	}
	return out
}

func TestOpenAPIDocumentIsAValidOpenAPI31Document(t *testing.T) {
	t.Parallel()
	c, err := servertest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	if c.Doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi: %q, want 3.1.0", c.Doc.OpenAPI)
	}
	if err := c.Doc.Validate(t.Context(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("examples: %v", err)
	}
}

func TestEveryRouteIsInTheOpenAPIDocumentAndNothingElse(t *testing.T) {
	t.Parallel()
	served, doc := routesGo(t), documented(t)
	for _, r := range served {
		if !slices.Contains(doc, r) {
			t.Errorf("route %q of routes.go is missing from docs/openapi.yaml", r)
		}
	}
	for _, d := range doc {
		if !slices.Contains(served, d) {
			t.Errorf("docs/openapi.yaml lists %q, which routes.go does not serve", d)
		}
	}
}

// TestEveryDocumentedOperationReachesAHandler calls each operation of the
// document on the real server, without a token and with placeholder path
// values: whatever the answer, it must come from the route's handler (or
// its authentication), never the mux's "no route" or "method not allowed".
func TestEveryDocumentedOperationReachesAHandler(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	c, err := servertest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range c.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			url := path
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				if p.Value.In != "path" {
					continue
				}
				v := "6b10184e30a3e5097ce12c32"
				if s := p.Value.Schema.Value; s != nil && s.Type.Is("integer") {
					v = "1"
				}
				url = strings.ReplaceAll(url, "{"+p.Value.Name+"}", v)
			}
			if method == http.MethodGet && path == "/ws" {
				url += "?token=nope"
			}
			r := env.Do(method, url, "", nil)
			var body struct {
				Code string `json:"code"`
			}
			_ = json.Unmarshal(r.Body, &body)
			if r.Status == http.StatusMethodNotAllowed || body.Code == "route_not_found" {
				t.Errorf("%s %s (documented as %s): %d %s: the server does not serve it", method, url, path, r.Status, r.Body)
			}
		}
	}
}

func TestOpenAPIDocumentIsServedAsYAMLAndJSON(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	y := env.Do("GET", "/openapi.yaml", "", nil).Want(http.StatusOK)
	if string(y.Body) != string(docs.OpenAPIYAML) {
		t.Fatal("GET /openapi.yaml is not docs/openapi.yaml")
	}
	if ct := y.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("GET /openapi.yaml: Content-Type %q, want application/yaml", ct)
	}
	j := env.Do("GET", "/openapi.json", "", nil).Want(http.StatusOK)
	fromJSON, err := openapi3.NewLoader().LoadFromData(j.Body)
	if err != nil {
		t.Fatalf("GET /openapi.json does not load: %v", err)
	}
	c, err := servertest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	if fromJSON.OpenAPI != "3.1.0" || fromJSON.Paths.Len() != c.Doc.Paths.Len() {
		t.Fatalf("GET /openapi.json: openapi %q with %d paths, want 3.1.0 with %d", fromJSON.OpenAPI, fromJSON.Paths.Len(), c.Doc.Paths.Len())
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(c.Doc)
	if string(a) != string(b) {
		t.Fatal("GET /openapi.json is not the same document as /openapi.yaml")
	}
}
