package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// operatorRow is one row of the metrics table in docs/OPERATIONS.md, read
// here on its own terms: the names in its first column and the label
// values its labels column lists in parentheses.
type operatorRow struct {
	names  []string
	values map[string][]string
}

// operatorTable reads the table the operator alerts from. Whatever it
// lists is what the smallest bench run must move.
func operatorTable(t *testing.T) []operatorRow {
	t.Helper()
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("`([^`]+)`")
	labelled := regexp.MustCompile("`([a-z_]+)` \\(([^)]*)\\)")
	var rows []operatorRow
	_, table, ok := strings.Cut(string(doc), "\n| metric | type | labels | what it tells | alert on |\n|---|---|---|---|---|\n")
	if !ok {
		t.Fatal("docs/OPERATIONS.md has no metrics table")
	}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") {
			break
		}
		cells := strings.Split(line, " | ")
		r := operatorRow{values: map[string][]string{}}
		for _, m := range code.FindAllStringSubmatch(cells[0], -1) {
			r.names = append(r.names, m[1])
		}
		for _, m := range labelled.FindAllStringSubmatch(cells[2], -1) {
			for _, v := range code.FindAllStringSubmatch(m[2], -1) {
				r.values[m[1]] = append(r.values[m[1]], v[1])
			}
		}
		rows = append(rows, r)
	}
	if len(rows) < 20 {
		t.Fatalf("read %d rows from the metrics table; the table or this reader changed", len(rows))
	}
	return rows
}

func named(name, family string) bool {
	if prefix, ok := strings.CutSuffix(name, "*"); ok {
		return strings.HasPrefix(family, prefix)
	}
	return name == family
}

// TestEveryOperatorFigureMoves runs the smallest ops scenario with its
// server's /metrics scraped, and checks that every figure of the
// operator's table moved: each name of the first column (an `_info`
// metric, constant by nature, need only be present) and each label value
// the labels column lists.
func TestEveryOperatorFigureMoves(t *testing.T) {
	t.Parallel()
	o, _, _, err := parseFlags([]string{"-only", "^ops$", "-scrape", "100ms", "-ops-members", "8", "-ops-subscribers", "1"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	b := newBench(o, &out)
	if err := b.runScenarios(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var moved []movedFigure
	present := map[string]bool{}
	for _, sc := range b.watched {
		for _, w := range sc.watches {
			for _, f := range w.movedSeries() {
				moved = append(moved, f)
			}
			w.mu.Lock()
			for _, s := range w.series {
				present[s.family] = true
			}
			w.mu.Unlock()
		}
	}
	if len(present) == 0 {
		t.Fatal("no scrape of /metrics succeeded")
	}
	for _, r := range operatorTable(t) {
		for _, n := range r.names {
			if strings.HasSuffix(n, "_info") {
				if !present[n] {
					t.Errorf("%s is not exposed", n)
				}
				continue
			}
			found := false
			for _, f := range moved {
				if named(n, f.family) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s did not move", n)
			}
		}
		for label, values := range r.values {
			for _, v := range values {
				found := false
				for _, f := range moved {
					for _, n := range r.names {
						if named(n, f.family) && f.labels[label] == v {
							found = true
						}
					}
				}
				if !found {
					t.Errorf("%s{%s=%q} did not move", r.names[0], label, v)
				}
			}
		}
	}
	if t.Failed() {
		t.Logf("bench output:\n%s", out.String())
	}
}
