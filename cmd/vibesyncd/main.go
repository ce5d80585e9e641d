// Command vibesyncd is the vibesync server.
//
//	vibesyncd [serve] [flags]        serve the API (default)
//	vibesyncd migrate up|status      apply or list database migrations
//
// Every flag can also be set by the environment variable named in its help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/store"
)

func main() {
	// SIGWINCH too: it is how dockertest asks a container to stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGWINCH)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vibesyncd:", err)
		}
		os.Exit(1)
	}
}

type options struct {
	cfg       server.Config
	logFormat string
	logLevel  string
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var sub string
	if cmd == "migrate" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return errors.New("usage: vibesyncd migrate up|status [flags]")
		}
		sub, args = args[0], args[1:]
	}
	opts, err := parseFlags(cmd, args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, opts.logFormat, opts.logLevel)
	if err != nil {
		return err
	}
	opts.cfg.Log = log
	switch cmd {
	case "serve":
		srv, err := server.New(ctx, opts.cfg)
		if err != nil {
			return err
		}
		defer srv.Close()
		return srv.Run(ctx)
	case "migrate":
		return migrate(ctx, sub, opts.cfg, stdout)
	}
	return fmt.Errorf("unknown command %q (want serve or migrate)", cmd)
}

func parseFlags(cmd string, args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("vibesyncd "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&o.cfg.Listen, "listen", env("VIBESYNC_LISTEN", "127.0.0.1:8080"), "address to serve on (VIBESYNC_LISTEN)")
	fs.StringVar(&o.cfg.DatabaseURL, "db", env("VIBESYNC_DATABASE_URL", ""), "database URL: file:PATH, libsql://…, https://… (VIBESYNC_DATABASE_URL; default file:<data>/vibesync.db)")
	fs.StringVar(&o.cfg.DatabaseAuthToken, "db-auth-token", env("VIBESYNC_DATABASE_AUTH_TOKEN", ""), "auth token for a libSQL server (VIBESYNC_DATABASE_AUTH_TOKEN)")
	fs.StringVar(&o.cfg.DataDir, "data", env("VIBESYNC_DATA_DIR", "./data"), "data directory for the embedded database and media (VIBESYNC_DATA_DIR)")
	fs.StringVar(&o.cfg.TokenSecret, "token-secret", env("VIBESYNC_TOKEN_SECRET", ""), "access-token signing secret, ≥32 bytes; generated and kept in the database when empty (VIBESYNC_TOKEN_SECRET)")
	fs.StringVar(&o.cfg.PublicURL, "public-url", env("VIBESYNC_PUBLIC_URL", ""), "public base URL for absolute media URLs (VIBESYNC_PUBLIC_URL; default http://<listen>)")
	window := env("VIBESYNC_TOMBSTONE_WINDOW", "720h")
	fs.StringVar(&window, "tombstone-window", window, "how long deletions stay in the sync feed; older sync cursors reset (VIBESYNC_TOMBSTONE_WINDOW)")
	fs.StringVar(&o.cfg.FCMServiceAccountFile, "fcm-service-account", env("VIBESYNC_FCM_SERVICE_ACCOUNT", ""), "Google service-account key file for FCM push; pushes are only logged when empty (VIBESYNC_FCM_SERVICE_ACCOUNT)")
	fs.StringVar(&o.cfg.MetricsListen, "metrics-listen", env("VIBESYNC_METRICS_LISTEN", ""), "serve GET /metrics on this address only (e.g. 127.0.0.1:9090) instead of on -listen (VIBESYNC_METRICS_LISTEN)")
	origins := fs.String("allowed-origins", env("VIBESYNC_ALLOWED_ORIGINS", ""), "comma-separated browser origins allowed to call the API (CORS) and open the live WebSocket besides the server's own; * for any (VIBESYNC_ALLOWED_ORIGINS)")
	fs.StringVar(&o.logFormat, "log-format", env("VIBESYNC_LOG_FORMAT", "text"), "log format: text or json (VIBESYNC_LOG_FORMAT)")
	fs.StringVar(&o.logLevel, "log-level", env("VIBESYNC_LOG_LEVEL", "info"), "log level: debug, info, warn, error (VIBESYNC_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for _, origin := range strings.Split(*origins, ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			o.cfg.AllowedOrigins = append(o.cfg.AllowedOrigins, origin)
		}
	}
	d, err := time.ParseDuration(window)
	if err != nil || d <= 0 {
		return o, fmt.Errorf("tombstone window %q: want a positive duration such as 720h", window)
	}
	o.cfg.TombstoneWindow = d
	return o, o.cfg.Validate()
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	hopts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

func migrate(ctx context.Context, sub string, cfg server.Config, stdout io.Writer) error {
	cfg = server.Defaults(cfg)
	db, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, AuthToken: cfg.DatabaseAuthToken})
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "up":
		if err := db.Migrate(ctx); err != nil {
			return err
		}
	case "status":
	default:
		return fmt.Errorf("unknown migrate command %q (want up or status)", sub)
	}
	ms, err := db.Migrations(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, m := range ms {
		state, at := "pending", ""
		if m.Applied {
			state, at = "applied", m.AppliedAt.UTC().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, m.Name, state, at)
	}
	return tw.Flush()
}
