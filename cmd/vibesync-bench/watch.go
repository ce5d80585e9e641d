package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vibesync/vibesync/docs"
)

// A watch scrapes one bench server's GET /metrics, as an operator's
// Prometheus would, from its start to its stop (every -scrape interval,
// plus the scrapes a scenario asks for), and records for every series
// whether it moved: a counter or a histogram's count rose, a gauge took
// more than one value.
type watch struct {
	url string
	hc  *http.Client

	mu      sync.Mutex
	series  map[string]*seriesSeen
	scrapes int
	errs    int
}

// seriesSeen is what the scrapes showed of one series.
type seriesSeen struct {
	family   string
	labels   map[string]string
	counter  bool // counter, histogram or summary: rising is moving
	first    float64
	min, max float64
	last     float64
}

func (s *seriesSeen) moved() bool {
	if s.counter {
		return s.last > s.first
	}
	return s.max > s.min
}

func newWatch(url string) *watch {
	return &watch{url: url, hc: &http.Client{Timeout: 10 * time.Second}, series: map[string]*seriesSeen{}}
}

// scrape reads /metrics once and records every series.
func (w *watch) scrape(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, "GET", w.url+"/metrics", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	res, err := w.hc.Do(req)
	if err != nil {
		w.mu.Lock()
		w.errs++
		w.mu.Unlock()
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		w.mu.Lock()
		w.errs++
		w.mu.Unlock()
		return fmt.Errorf("GET /metrics: %d %v", res.StatusCode, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("GET /metrics: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	born := w.scrapes > 0 // series first seen after the first scrape started at 0
	w.scrapes++
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v, counter := value(f.GetType(), m)
			key := seriesKey(name, labels)
			s := w.series[key]
			if s == nil {
				s = &seriesSeen{family: name, labels: labels, counter: counter, first: v, min: v, max: v}
				if born && counter {
					s.first = 0
				}
				w.series[key] = s
			}
			s.last, s.min, s.max = v, min(s.min, v), max(s.max, v)
		}
	}
	return nil
}

// value is a sample's figure: a histogram or summary's observation count.
func value(t dto.MetricType, m *dto.Metric) (v float64, counter bool) {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), true
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return float64(m.GetHistogram().GetSampleCount()), true
	case dto.MetricType_SUMMARY:
		return float64(m.GetSummary().GetSampleCount()), true
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), false
	default:
		return m.GetUntyped().GetValue(), false
	}
}

func seriesKey(family string, labels map[string]string) string {
	if len(labels) == 0 {
		return family
	}
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(family)
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// run scrapes every interval until ctx ends.
func (w *watch) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = w.scrape(ctx)
		}
	}
}

// sawPositive reports whether a scrape showed a series of family above 0.
func (w *watch) sawPositive(family string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.series {
		if s.family == family && s.max > 0 {
			return true
		}
	}
	return false
}

// movedSeries lists the series that moved, with how much (a counter's
// rise, a gauge's range).
func (w *watch) movedSeries() map[string]movedFigure {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]movedFigure{}
	for key, s := range w.series {
		if s.moved() {
			d := s.last - s.first
			if !s.counter {
				d = s.max - s.min
			}
			out[key] = movedFigure{family: s.family, labels: s.labels, by: d}
		}
	}
	return out
}

// movedFigure is one series that moved, and by how much.
type movedFigure struct {
	family string
	labels map[string]string
	by     float64
}

// expectation is one row of docs/OPERATIONS.md's metrics table: the
// families it names (a name ending in * stands for every family with that
// prefix) and the values it lists for a label (`outcome` (`sent`, …)),
// each of which must move in one of them.
type expectation struct {
	names  []string
	values map[string][]string
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	labelList  = regexp.MustCompile("`([a-z_]+)` \\(([^)]*)\\)")
)

// operatorContract reads the metrics table of docs/OPERATIONS.md.
func operatorContract(doc []byte) ([]expectation, error) {
	var out []expectation
	in := false
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "| metric | type | labels |") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		e := expectation{values: map[string][]string{}}
		for _, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
			e.names = append(e.names, m[1])
		}
		for _, m := range labelList.FindAllStringSubmatch(cells[3], -1) {
			for _, v := range backticked.FindAllStringSubmatch(m[2], -1) {
				e.values[m[1]] = append(e.values[m[1]], v[1])
			}
		}
		if len(e.names) > 0 {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("docs/OPERATIONS.md: no metrics table")
	}
	return out, nil
}

// matches reports whether family is named by name (a prefix when it ends
// in *).
func matches(name, family string) bool {
	if p, ok := strings.CutSuffix(name, "*"); ok {
		return strings.HasPrefix(family, p)
	}
	return name == family
}

// unmoved checks moved against the contract: every family a row names
// alone, and every *-pattern of a row naming several (its other names are
// examples of them), has a series that moved; every label value a row
// lists moved in one of its families. It returns what did not.
func unmoved(contract []expectation, moved map[string]movedFigure) []string {
	var missing []string
	for _, e := range contract {
		required := e.names
		if len(e.names) > 1 {
			required = slices.DeleteFunc(slices.Clone(e.names), func(n string) bool { return !strings.HasSuffix(n, "*") })
		}
		for _, n := range required {
			found := false
			for _, f := range moved {
				if matches(n, f.family) {
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, n)
			}
		}
		for label, values := range e.values {
			for _, v := range values {
				ok := false
				for _, f := range moved {
					if f.labels[label] == v && slices.ContainsFunc(e.names, func(n string) bool { return matches(n, f.family) }) {
						ok = true
						break
					}
				}
				if !ok {
					missing = append(missing, fmt.Sprintf("%s{%s=%q}", e.names[0], label, v))
				}
			}
		}
	}
	return missing
}

// watchedScenario is what the watches of one scenario's servers saw.
type watchedScenario struct {
	name    string
	watches []*watch
}

// reportMetrics prints, per scenario, how many rows of the operator's
// table moved on its servers, then for every row how many series moved
// over the whole run and by how much (counters' and histogram counts'
// rise plus gauges' range), then metrics.unmoved: the families and label
// values of the table that never moved. Its list must be empty.
func (b *bench) reportMetrics() error {
	contract, err := operatorContract(docs.OperationsMD)
	if err != nil {
		return err
	}
	named := func(e expectation, f movedFigure) bool {
		return slices.ContainsFunc(e.names, func(n string) bool { return matches(n, f.family) })
	}
	all := map[string]movedFigure{}
	scrapes := 0
	for _, sc := range b.watched {
		if len(sc.watches) == 0 {
			// hello has no vibesync server; idle's are left alone, as
			// scrapes would be the CPU it measures.
			fmt.Fprintf(b.out, "# /metrics during %s: not scraped\n", sc.name)
			continue
		}
		moved := map[string]movedFigure{}
		for i, w := range sc.watches {
			w.mu.Lock()
			scrapes += w.scrapes
			w.mu.Unlock()
			for k, f := range w.movedSeries() {
				moved[fmt.Sprint(i, "/", k)] = f
				all[sc.name+"/"+fmt.Sprint(i, "/", k)] = f
			}
		}
		rows := 0
		for _, e := range contract {
			for _, f := range moved {
				if named(e, f) {
					rows++
					break
				}
			}
		}
		fmt.Fprintf(b.out, "# /metrics during %s: %d of %d rows of the table moved\n", sc.name, rows, len(contract))
	}
	b.report("metrics.scrapes", float64(scrapes), "scrapes")
	for _, e := range contract {
		n, by := 0, 0.0
		for _, f := range all {
			if named(e, f) {
				n++
				by += f.by
			}
		}
		b.report("metrics.moved."+e.names[0], float64(n), fmt.Sprintf("series (by %.6g)", by))
	}
	missing := unmoved(contract, all)
	unit := "families"
	if len(missing) > 0 {
		unit += ": " + strings.Join(missing, ", ")
	}
	b.report("metrics.unmoved", float64(len(missing)), unit)
	return nil
}
