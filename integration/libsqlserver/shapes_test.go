package libsqlserver

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestWireShapesMatchTheClient reads the JSON field names of the request
// and response structures in libsql-client-go's own source (its
// internal/hrana package, in the module cache of the version go.mod pins)
// and checks that the server's structures carry each of them under the
// same name: a field the client sends that the server would silently drop,
// or one the client reads that the server never writes, fails here even if
// today's statements happen not to use it.
func TestWireShapesMatchTheClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tursodatabase/libsql-client-go").Output()
	if err != nil {
		t.Skipf("libsql-client-go source not found: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "libsql", "internal", "hrana")
	client := clientTags(t, dir)
	if len(client) == 0 {
		t.Fatalf("no structures read from %s", dir)
	}
	pairs := []struct {
		client string
		server any
	}{
		{"PipelineRequest", pipelineReq{}},
		{"PipelineResponse", pipelineResp{}},
		{"StreamRequest", streamRequest{}},
		{"StreamResult", streamResult{}},
		{"StreamResponse", executeResp{}},
		{"Stmt", stmt{}},
		{"NamedArg", namedArg{}},
		{"Value", value{}},
		{"Column", col{}},
		{"StmtResult", stmtResult{}},
		{"Batch", batch{}},
		{"BatchStep", batchStep{}},
		{"BatchCondition", batchCond{}},
		{"BatchResult", batchResult{}},
		{"Error", Error{}},
	}
	// Fields a test server need not honour: replication indexes (a single
	// database has no replicas) and the pipeline's base_url (one address).
	optional := []string{"replication_index", "base_url"}
	for _, p := range pairs {
		want, ok := client[p.client]
		if !ok {
			t.Errorf("the client has no structure %s any more", p.client)
			continue
		}
		have := serverTags(reflect.TypeOf(p.server))
		for _, name := range want {
			if !slices.Contains(have, name) && !slices.Contains(optional, name) {
				t.Errorf("%s: the client's field %q has no counterpart in the server's %T", p.client, name, p.server)
			}
		}
	}
}

// clientTags maps each struct type of the Go files in dir to the JSON
// names of its fields.
func clientTags(t *testing.T, dir string) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if field.Tag == nil {
					continue
				}
				tag := reflect.StructTag(strings.Trim(field.Tag.Value, "`")).Get("json")
				if name, _, _ := strings.Cut(tag, ","); name != "" && name != "-" {
					out[ts.Name.Name] = append(out[ts.Name.Name], name)
				}
			}
			return true
		})
	}
	return out
}

func serverTags(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
