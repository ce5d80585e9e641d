// Command vibesync-bench measures vibesync on this machine: it starts a
// server on a temporary database, seeds it, drives it with concurrent
// clients from the same process, and prints one `metric value unit` line
// per figure plus a JSON file with all of them. A plain net/http
// hello-world server is measured in the same run as the baseline for
// ratios. Nothing here asserts: it reports.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/ratelimit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "vibesync-bench:", err)
		os.Exit(1)
	}
}

// options are the bench's knobs.
type options struct {
	concurrency  int
	duration     time.Duration
	users        int
	out          string
	only         *regexp.Regexp
	synchronous  string
	seed         seedOptions
	sockets      int
	syncChats    int
	syncMessages int
	live         []int
	liveRounds   int
	pushMembers  int
	pushChats    int
	scrape       time.Duration
	ops          opsOptions
}

// metric is one reported figure.
type metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// bench holds a run's shared state.
type bench struct {
	opts    options
	out     io.Writer
	metrics []metric
	hc      *http.Client
	// helloRPS is the baseline's requests/s once it ran.
	helloRPS float64
	// helloCPU is the baseline's CPU time per request.
	helloCPU time.Duration
	// watched holds, per scenario run, the watches of its servers' /metrics.
	watched []watchedScenario
}

func (b *bench) report(name string, value float64, unit string) {
	b.metrics = append(b.metrics, metric{name, value, unit})
	fmt.Fprintf(b.out, "%s %.6g %s\n", name, value, unit)
}

func (b *bench) reportLoad(prefix string, r loadResult) {
	b.report(prefix+".rps", r.RPS(), "req/s")
	b.report(prefix+".p50", float64(r.P50.Microseconds())/1000, "ms")
	b.report(prefix+".p99", float64(r.P99.Microseconds())/1000, "ms")
	b.report(prefix+".cpu_per_req", float64(r.CPUPerRequest().Nanoseconds())/1000, "us")
}

// parseFlags reads the command line; rest is what follows the flags.
func parseFlags(args []string) (o options, cpuprofile string, rest []string, err error) {
	fs := flag.NewFlagSet("vibesync-bench", flag.ContinueOnError)
	var only string
	fs.IntVar(&o.concurrency, "c", 64, "concurrent clients")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "measured duration of each load scenario")
	fs.IntVar(&o.users, "users", 200, "users to seed")
	fs.StringVar(&o.out, "out", "bench.json", "where to write the figures as JSON")
	fs.StringVar(&only, "only", "", "run only scenarios whose name matches this regexp")
	fs.StringVar(&o.synchronous, "synchronous", "NORMAL", "SQLite synchronous setting for the main run (NORMAL or FULL)")
	fs.IntVar(&o.seed.users, "seed-users", 200, "users seeded for the chat and connection scenarios")
	fs.IntVar(&o.seed.connections, "seed-connections", 10, "connection requests each seeded user sends (every other one accepted)")
	fs.IntVar(&o.seed.chats, "seed-chats", 200, "group chats seeded")
	fs.IntVar(&o.seed.members, "seed-members", 20, "members of each seeded chat")
	fs.IntVar(&o.seed.messages, "seed-messages", 20, "messages seeded in each chat")
	fs.IntVar(&o.syncChats, "sync-chats", 100, "chats of the syncing user")
	fs.IntVar(&o.syncMessages, "sync-messages", 1000, "messages in each of them")
	fs.IntVar(&o.sockets, "sockets", 10000, "idle sockets held on one instance in the sockets scenario")
	var live string
	fs.BoolVar(&keepData, "keep", false, "keep the temporary databases (their folders are printed on stderr)")
	fs.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run (server and load) to this file")
	fs.StringVar(&loadProfile, "loadprofile", "", "write a CPU profile of each measured load window (no seeding) to this path plus .1, .2, …; not with -cpuprofile")
	fs.StringVar(&live, "live-members", "100,1000", "group sizes for live delivery, comma-separated")
	fs.IntVar(&o.liveRounds, "live-rounds", 30, "messages sent to each live group")
	fs.IntVar(&o.pushMembers, "push-members", 50, "participants of each group chat the push scenario creates (one push each)")
	fs.IntVar(&o.pushChats, "push-chats", 40, "group chats the push scenario creates")
	fs.DurationVar(&o.scrape, "scrape", 250*time.Millisecond, "scrape each server's /metrics this often and report which figures of docs/OPERATIONS.md moved (0: do not)")
	fs.IntVar(&o.ops.members, "ops-members", 20, "members of the ops scenario's group chat (each with a socket and a push device)")
	fs.IntVar(&o.ops.subscribers, "ops-subscribers", 3, "sync clients holding a Subscribe stream in the ops scenario")
	fs.BoolVar(&holdChild, "hold-sockets-child", false, "internal: hold sockets for the parent process")
	if err := fs.Parse(args); err != nil {
		return o, "", nil, err
	}
	for _, f := range strings.Split(live, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return o, "", nil, fmt.Errorf("-live-members: %q is not a group size of at least 2", f)
		}
		o.live = append(o.live, n)
	}
	if o.only, err = regexp.Compile(only); err != nil {
		return o, "", nil, fmt.Errorf("-only: %w", err)
	}
	return o, cpuprofile, fs.Args(), nil
}

func newBench(o options, stdout io.Writer) *bench {
	return &bench{opts: o, out: stdout, hc: &http.Client{Transport: &http.Transport{
		MaxIdleConns: o.concurrency * 2, MaxIdleConnsPerHost: o.concurrency * 2, IdleConnTimeout: time.Minute,
	}}}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, cpuprofile, rest, err := parseFlags(args)
	if err != nil {
		return err
	}
	if holdChild {
		return holdSocketsChild(ctx, rest, stdout)
	}
	b := newBench(o, stdout)
	if cpuprofile != "" && loadProfile != "" {
		return errors.New("-cpuprofile and -loadprofile: one CPU profile at a time")
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "# vibesync-bench: %d cores, GOMAXPROCS %d, %d clients, %s per scenario\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), o.concurrency, o.duration)
	if err := b.runScenarios(ctx); err != nil {
		return err
	}
	data, err := json.MarshalIndent(map[string]any{
		"cores": runtime.NumCPU(), "concurrency": o.concurrency, "duration": o.duration.String(), "metrics": b.metrics,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.out, data, 0o644)
}

// runScenarios runs the scenarios -only selects, watching their servers'
// /metrics when -scrape is set.
func (b *bench) runScenarios(ctx context.Context) error {
	for _, sc := range scenarios {
		if !b.opts.only.MatchString(sc.name) {
			continue
		}
		if b.opts.scrape > 0 {
			b.watched = append(b.watched, watchedScenario{name: sc.name})
		}
		if err := sc.run(ctx, b); err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	if b.opts.scrape > 0 {
		return b.reportMetrics()
	}
	return nil
}

// scenario is one named measurement.
type scenario struct {
	name string
	run  func(context.Context, *bench) error
}

// noLimits: the bench measures throughput, not the request budgets.
var noLimits = ratelimit.Off()

// keepData leaves the temporary databases behind for inspection.
var keepData bool

// instance is a vibesync server started for the bench.
type instance struct {
	url  string
	srv  *server.Server
	stop func()
	// watch scrapes its /metrics (nil when -scrape is 0).
	watch *watch
}

// scrape reads the server's /metrics now, on top of the periodic scrapes
// (a scenario catching a moment: a stalled database, a lagging tailer).
func (i *instance) scrape(ctx context.Context) error {
	if i.watch == nil {
		return nil
	}
	return i.watch.scrape(ctx)
}

// startServer runs a server on a fresh temp database with the given SQLite
// synchronous mode; with -scrape, its /metrics is watched until it stops.
func (b *bench) startServer(ctx context.Context, synchronous string, tune func(*server.Config)) (*instance, error) {
	dir, err := os.MkdirTemp("", "vibesync-bench-")
	if err != nil {
		return nil, err
	}
	cfg := server.Config{
		DataDir:     dir,
		DatabaseURL: "file:" + dir + "/bench.db?_synchronous=" + synchronous,
		Password:    auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1},
		Log:         slog.New(slog.DiscardHandler),
		RateLimits:  &noLimits,
	}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Serve(sctx, ln); close(done) }()
	fmt.Fprintf(os.Stderr, "# server http://%s (metrics at /metrics)\n", ln.Addr())
	inst := &instance{url: "http://" + ln.Addr().String(), srv: srv}
	stopWatch := func() {}
	if b.opts.scrape > 0 && len(b.watched) > 0 {
		w := newWatch(inst.url)
		_ = w.scrape(ctx)
		wctx, wcancel := context.WithCancel(ctx)
		wdone := make(chan struct{})
		go func() { w.run(wctx, b.opts.scrape); close(wdone) }()
		stopWatch = func() {
			wcancel()
			<-wdone
			_ = w.scrape(ctx)
		}
		inst.watch = w
		cur := &b.watched[len(b.watched)-1]
		cur.watches = append(cur.watches, w)
	}
	inst.stop = func() {
		stopWatch()
		cancel()
		<-done
		srv.Close()
		if keepData {
			fmt.Fprintf(os.Stderr, "# kept %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}
	return inst, nil
}

// startServerAt runs a server on the database at url with its media under
// dir, leaving both in place when it stops (several instances may share
// them). Its /metrics is not watched.
func startServerAt(ctx context.Context, dir, url string) (*instance, error) {
	srv, err := server.New(ctx, server.Config{
		DataDir:     dir,
		DatabaseURL: url,
		Password:    auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1},
		Log:         slog.New(slog.DiscardHandler),
		RateLimits:  &noLimits,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Serve(sctx, ln); close(done) }()
	fmt.Fprintf(os.Stderr, "# server http://%s (metrics at /metrics)\n", ln.Addr())
	return &instance{url: "http://" + ln.Addr().String(), srv: srv, stop: func() {
		cancel()
		<-done
		srv.Close()
	}}, nil
}
