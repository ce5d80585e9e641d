// Package metrics is vibesync's Prometheus instrumentation: one registry
// per server (never the global one), the collectors every part reports
// to, and GET /metrics. docs/OPERATIONS.md lists every metric, its labels
// and what to alert on.
//
// The other packages stay free of Prometheus: the store, the push worker
// and the live hub expose small observer interfaces or counters, and the
// server wiring hands them this package's Metrics. HTTP and Connect are
// instrumented from the outside (a handler wrapper and an interceptor).
//
// Label values are bounded: routes are mux patterns (or "unmatched"),
// methods the standard ones (else "unknown"), Connect procedures those
// registered, rejection reasons the server's own reason codes (anything
// else "other"). No user, chat or socket id is ever a label.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vibesync/vibesync/server/push"
)

const namespace = "vibesync"

// Metrics holds the server's registry and collectors. Safe for concurrent
// use. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	connectCalls    *prometheus.CounterVec
	connectDuration *prometheus.HistogramVec

	pullRows   prometheus.Counter
	pullBytes  prometheus.Counter
	pullResets prometheus.Counter
	mutations  *prometheus.CounterVec

	writeBatch  prometheus.Histogram
	writerWait  prometheus.Histogram
	pushOutcome *prometheus.CounterVec
	scrapeErrs  prometheus.Counter
}

// New returns metrics registered on a fresh registry, with the Go runtime,
// process and build-info collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by mux route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests, by mux route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being answered now (open Subscribe streams included).",
		}),
		connectCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "connect", Name: "calls_total",
			Help: "Connect/gRPC calls finished, by procedure and code (ok or a Connect error code).",
		}, []string{"procedure", "code"}),
		connectDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "connect", Name: "call_duration_seconds",
			Help:    "Time to answer unary Connect calls, by procedure.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"procedure"}),
		pullRows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sync", Name: "pull_rows_total",
			Help: "Change-feed rows sent in pull answers.",
		}),
		pullBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sync", Name: "pull_bytes_total",
			Help: "Size of pull answers, protobuf-encoded.",
		}),
		pullResets: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sync", Name: "pull_resets_total",
			Help: "Pull answers that told the client to reset (cursor older than the tombstone window or past the feed head).",
		}),
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sync", Name: "mutations_total",
			Help: "Pushed mutations by outcome (applied, duplicate, rejected, retry_later) and, for rejected ones, reason.",
		}, []string{"outcome", "reason"}),
		writeBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "db", Name: "write_batch_size",
			Help:    "Writes committed together in one transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		writerWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "db", Name: "writer_wait_seconds",
			Help:    "Time a write waited for the single writer before its transaction began.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		pushOutcome: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "push", Name: "deliveries_total",
			Help: "Push-notification delivery attempts by outcome: sent, retry (failed, tried again later), failed (given up).",
		}, []string{"outcome"}),
		scrapeErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "metrics", Name: "database_read_errors_total",
			Help: "Scrapes whose database read (feed head, outbox depth) failed; those gauges are missing from that scrape.",
		}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		m.httpRequests, m.httpDuration, m.httpInFlight,
		m.connectCalls, m.connectDuration,
		m.pullRows, m.pullBytes, m.pullResets, m.mutations,
		m.writeBatch, m.writerWait, m.pushOutcome, m.scrapeErrs,
	)
	for _, o := range []push.Outcome{push.Sent, push.Retry, push.Failed} {
		m.pushOutcome.WithLabelValues(string(o)) // present at 0 from the start
	}
	return m
}

// Registry is the server's registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format: mount it at GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// InstrumentHTTP counts and times every request next answers, labelled
// with the pattern mux routes it to ("unmatched" when none), never the
// raw path. Wrap the outermost handler with it.
func (m *Metrics) InstrumentHTTP(mux *http.ServeMux, next http.Handler) http.Handler {
	route := promhttp.WithLabelFromRequest("route", func(r *http.Request) string {
		if _, pattern := mux.Handler(r); pattern != "" {
			return pattern
		}
		return "unmatched"
	})
	return promhttp.InstrumentHandlerInFlight(m.httpInFlight,
		promhttp.InstrumentHandlerCounter(m.httpRequests,
			promhttp.InstrumentHandlerDuration(m.httpDuration, next, route), route))
}

// ObserveWriteBatch implements store.WriteObserver.
func (m *Metrics) ObserveWriteBatch(size int) { m.writeBatch.Observe(float64(size)) }

// ObserveWriterWait implements store.WriteObserver.
func (m *Metrics) ObserveWriterWait(d time.Duration) { m.writerWait.Observe(d.Seconds()) }

// ObservePush implements push.Observer.
func (m *Metrics) ObservePush(o push.Outcome) { m.pushOutcome.WithLabelValues(string(o)).Inc() }

// LiveStats is what the live hub reports (see live.Stats).
type LiveStats struct {
	Sockets     int
	Users       int
	Subscribers int
	FramesSent  int64
	SlowClosed  int64
	TailSeq     int64
}

// DBState is what one scrape reads from the database.
type DBState struct {
	FeedHead    int64 // highest change-feed seq written
	OutboxDepth int64 // pushes not yet delivered nor given up
}

// Sources are the figures read at scrape time.
type Sources struct {
	// Live reports the WebSocket hub's counters.
	Live func() LiveStats
	// DB reads the database's state; it is given ReadTimeout.
	DB func(ctx context.Context) (DBState, error)
	// ReadTimeout bounds one scrape's call of DB (zero: 2s).
	ReadTimeout time.Duration
	// Pools are connection pools by name ("writer", "reader").
	Pools map[string]*sql.DB
}

// Watch registers collectors that read src at scrape time. Call it once.
func (m *Metrics) Watch(src Sources) {
	for name, db := range src.Pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
	if src.Live != nil {
		m.reg.MustRegister(&liveCollector{stats: src.Live})
	}
	if src.DB != nil {
		timeout := src.ReadTimeout
		if timeout <= 0 {
			timeout = defaultReadTimeout
		}
		m.reg.MustRegister(&dbCollector{read: src.DB, live: src.Live, errs: m.scrapeErrs, timeout: timeout})
	}
}

var (
	descSockets = prometheus.NewDesc(namespace+"_live_sockets",
		"WebSockets open on this instance.", nil, nil)
	descUsers = prometheus.NewDesc(namespace+"_live_users_online",
		"Users with at least one WebSocket open on this instance (presence).", nil, nil)
	descSubs = prometheus.NewDesc(namespace+"_live_subscribers",
		"Connect Subscribe streams open on this instance.", nil, nil)
	descFrames = prometheus.NewDesc(namespace+"_live_frames_sent_total",
		"Frames written to WebSockets (events, sync positions, connected).", nil, nil)
	descSlow = prometheus.NewDesc(namespace+"_live_slow_sockets_closed_total",
		"WebSockets closed with 1013 because their send queue was full.", nil, nil)
	descTail = prometheus.NewDesc(namespace+"_feed_tail_seq",
		"Change-feed position this instance's tailer has delivered to its sockets and subscribers.", nil, nil)
	descHead = prometheus.NewDesc(namespace+"_feed_head_seq",
		"Highest change-feed seq in the database.", nil, nil)
	descLag = prometheus.NewDesc(namespace+"_feed_tail_lag",
		"Feed head minus this instance's tail position: feed rows not yet announced to live clients.", nil, nil)
	descOutbox = prometheus.NewDesc(namespace+"_push_outbox_depth",
		"Push notifications waiting in the outbox (due or backing off).", nil, nil)
)

type liveCollector struct{ stats func() LiveStats }

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSockets, descUsers, descSubs, descFrames, descSlow, descTail} {
		ch <- d
	}
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(descSockets, prometheus.GaugeValue, float64(s.Sockets))
	ch <- prometheus.MustNewConstMetric(descUsers, prometheus.GaugeValue, float64(s.Users))
	ch <- prometheus.MustNewConstMetric(descSubs, prometheus.GaugeValue, float64(s.Subscribers))
	ch <- prometheus.MustNewConstMetric(descFrames, prometheus.CounterValue, float64(s.FramesSent))
	ch <- prometheus.MustNewConstMetric(descSlow, prometheus.CounterValue, float64(s.SlowClosed))
	ch <- prometheus.MustNewConstMetric(descTail, prometheus.GaugeValue, float64(s.TailSeq))
}

// defaultReadTimeout bounds the database read of one scrape where
// Sources.ReadTimeout does not.
const defaultReadTimeout = 2 * time.Second

type dbCollector struct {
	read    func(context.Context) (DBState, error)
	live    func() LiveStats
	errs    prometheus.Counter
	timeout time.Duration
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHead
	ch <- descOutbox
	if c.live != nil {
		ch <- descLag
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	var tail int64
	if c.live != nil {
		tail = c.live().TailSeq // read first: the head read after it is never older
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.read(ctx)
	if err != nil {
		c.errs.Inc()
		return
	}
	ch <- prometheus.MustNewConstMetric(descHead, prometheus.GaugeValue, float64(st.FeedHead))
	ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(st.OutboxDepth))
	if c.live != nil {
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(max(st.FeedHead-tail, 0)))
	}
}
