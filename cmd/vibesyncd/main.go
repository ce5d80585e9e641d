// Command vibesyncd is the vibesync server.
//
//	vibesyncd [serve] [flags]        serve the API (default)
//	vibesyncd migrate up|status      apply or list database migrations
//	vibesyncd backup DEST [flags]    back up the embedded database and media while serving
//	vibesyncd restore SRC [flags]    put a backup in place (every server stopped)
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
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/media/s3media"
	"github.com/vibesync/vibesync/server/ratelimit"
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
	if usage, ok := map[string]string{"migrate": "up|status", "backup": "DEST", "restore": "SRC"}[cmd]; ok {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("usage: vibesyncd %s %s [flags]", cmd, usage)
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
	case "backup":
		m, err := server.Backup(ctx, opts.cfg, sub)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backed up to %s: feed head %d, migration %d, %d media files\n", sub, m.FeedHead, m.Migrations[len(m.Migrations)-1], m.MediaFiles)
		if opts.cfg.MediaS3 != "" {
			fmt.Fprintf(stdout, "uploaded media are kept in the bucket %s and are not in this backup: back the bucket up with its own tools\n", opts.cfg.MediaS3)
		}
		return nil
	case "restore":
		r, err := server.Restore(ctx, opts.cfg, sub)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "restored %s (taken %s, feed head %d); the feed continues from %d, so every sync client resets\n",
			sub, r.Manifest.CreatedAt.Format(time.RFC3339), r.Backup.FeedHead, r.FeedStart)
		if r.Kept != "" {
			fmt.Fprintf(stdout, "the replaced database is kept at %s\n", r.Kept)
		}
		if r.KeptMedia != "" {
			fmt.Fprintf(stdout, "the replaced media folder is kept at %s\n", r.KeptMedia)
		}
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, migrate, backup or restore)", cmd)
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
	envInt := func(name string, def int) int { return envIntFrom(getenv, name, def) }
	fs.StringVar(&o.cfg.Listen, "listen", env("VIBESYNC_LISTEN", "127.0.0.1:8080"), "address to serve on (VIBESYNC_LISTEN)")
	fs.StringVar(&o.cfg.DatabaseURL, "db", env("VIBESYNC_DATABASE_URL", ""), "database URL: file:PATH, libsql://…, https://… (VIBESYNC_DATABASE_URL; default file:<data>/vibesync.db)")
	fs.StringVar(&o.cfg.DatabaseAuthToken, "db-auth-token", env("VIBESYNC_DATABASE_AUTH_TOKEN", ""), "auth token for a libSQL server (VIBESYNC_DATABASE_AUTH_TOKEN)")
	fs.StringVar(&o.cfg.DataDir, "data", env("VIBESYNC_DATA_DIR", "./data"), "data directory for the embedded database and media (VIBESYNC_DATA_DIR)")
	fs.StringVar(&o.cfg.MediaS3, "media-s3", env("VIBESYNC_MEDIA_S3", ""), "keep uploaded media in this S3-compatible bucket instead of <data>/media: http(s)://HOST[:PORT]/BUCKET, or s3://BUCKET on AWS; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile or role); needed when instances run on several hosts (VIBESYNC_MEDIA_S3)")
	o.cfg.OpenMediaS3 = s3media.Open
	fs.StringVar(&o.cfg.MediaS3Region, "media-s3-region", env("VIBESYNC_MEDIA_S3_REGION", ""), "region that signs requests to the media bucket (VIBESYNC_MEDIA_S3_REGION; default AWS_REGION, else us-east-1)")
	fs.StringVar(&o.cfg.TokenSecret, "token-secret", env("VIBESYNC_TOKEN_SECRET", ""), "access-token signing secret, ≥32 bytes; generated and kept in the database when empty (VIBESYNC_TOKEN_SECRET)")
	fs.StringVar(&o.cfg.PublicURL, "public-url", env("VIBESYNC_PUBLIC_URL", ""), "public base URL for absolute media URLs (VIBESYNC_PUBLIC_URL; default http://<listen>)")
	window := env("VIBESYNC_TOMBSTONE_WINDOW", "720h")
	fs.StringVar(&window, "tombstone-window", window, "how long deletions stay in the sync feed; older sync cursors reset (VIBESYNC_TOMBSTONE_WINDOW)")
	fs.StringVar(&o.cfg.FCMServiceAccountFile, "fcm-service-account", env("VIBESYNC_FCM_SERVICE_ACCOUNT", ""), "Google service-account key file for FCM push; pushes are only logged when this and -fcm-project are empty (VIBESYNC_FCM_SERVICE_ACCOUNT)")
	fs.StringVar(&o.cfg.FCMProjectID, "fcm-project", env("VIBESYNC_FCM_PROJECT", ""), "Firebase project for FCM push (default: the key file's); without -fcm-service-account, Application Default Credentials are used (VIBESYNC_FCM_PROJECT)")
	fs.StringVar(&o.cfg.MetricsListen, "metrics-listen", env("VIBESYNC_METRICS_LISTEN", ""), "serve GET /metrics on this address only (e.g. 127.0.0.1:9090) instead of on -listen (VIBESYNC_METRICS_LISTEN)")
	origins := fs.String("allowed-origins", env("VIBESYNC_ALLOWED_ORIGINS", ""), "comma-separated browser origins allowed to call the API (CORS) and open the live WebSocket besides the server's own; * for any (VIBESYNC_ALLOWED_ORIGINS)")
	fs.IntVar(&o.cfg.PasswordConcurrency, "password-concurrency", envInt("VIBESYNC_PASSWORD_CONCURRENCY", 0), "password hashes run at once; 0 means one per CPU (VIBESYNC_PASSWORD_CONCURRENCY)")
	durations := map[string]*string{}
	duration := func(name, envName, def, help string) {
		v := env(envName, def)
		durations[name] = &v
		fs.StringVar(&v, name, v, help+" ("+envName+")")
	}
	duration("password-wait", "VIBESYNC_PASSWORD_WAIT", "2s", "how long a sign-in waits for a free password slot before 503 with Retry-After")
	duration("body-timeout", "VIBESYNC_BODY_TIMEOUT", "30s", "how long a request body may take to arrive (408 after)")
	duration("upload-timeout", "VIBESYNC_UPLOAD_TIMEOUT", "5m", "body timeout of upload routes (chat photos)")
	duration("write-timeout", "VIBESYNC_WRITE_TIMEOUT", "30s", "how long writing an answer may take, after the body's bound")
	duration("live-poll", "VIBESYNC_LIVE_POLL", "25ms", "how often an instance reads the database for other instances' writes while writes come: live events and sync pokes arrive up to this much later across instances")
	duration("live-idle-poll", "VIBESYNC_LIVE_IDLE_POLL", "1s", "on a libSQL server, how far that interval backs off after 2s without a write seen (an idle instance sends about one read per interval; the first write after an idle spell arrives up to this much later)")
	defaults := ratelimit.Defaults()
	limits := map[string]*string{}
	limit := func(name, envName string, def ratelimit.Limit, help string) {
		v := env(envName, def.String())
		limits[name] = &v
		fs.StringVar(&v, name, v, help+": N/s, N/m or N/h, with :BURST, or off ("+envName+")")
	}
	limit("rate-auth", "VIBESYNC_RATE_AUTH", defaults.Auth, "per client address on each of register, login and refresh")
	limit("rate-login-failures", "VIBESYNC_RATE_LOGIN_FAILURES", defaults.LoginFailures, "wrong passwords per account and client address")
	limit("rate-account-failures", "VIBESYNC_RATE_ACCOUNT_FAILURES", defaults.AccountFailures, "wrong passwords per account from addresses that never signed in to it")
	limit("rate-writes", "VIBESYNC_RATE_WRITES", defaults.Writes, "writes per user: REST calls other than GET, and pushed mutations")
	limit("rate-exports", "VIBESYNC_RATE_EXPORTS", defaults.Exports, "data exports per user (GET /users/me/export)")
	proxies := fs.String("trusted-proxies", env("VIBESYNC_TRUSTED_PROXIES", ""), "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For is believed (VIBESYNC_TRUSTED_PROXIES)")
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
	var errs []error
	set := map[string]*time.Duration{"password-wait": &o.cfg.PasswordWait, "body-timeout": &o.cfg.BodyTimeout,
		"upload-timeout": &o.cfg.UploadTimeout, "write-timeout": &o.cfg.WriteTimeout, "live-poll": &o.cfg.Live.PollInterval,
		"live-idle-poll": &o.cfg.Live.IdlePollInterval}
	for name, text := range durations {
		v, err := time.ParseDuration(*text)
		if err != nil || v <= 0 {
			errs = append(errs, fmt.Errorf("-%s %q: want a positive duration such as 30s", name, *text))
		}
		*set[name] = v
	}
	rl := ratelimit.Defaults()
	setLimit := map[string]*ratelimit.Limit{"rate-auth": &rl.Auth, "rate-login-failures": &rl.LoginFailures,
		"rate-account-failures": &rl.AccountFailures, "rate-writes": &rl.Writes, "rate-exports": &rl.Exports}
	for name, text := range limits {
		l, err := ratelimit.Parse(*text)
		if err != nil {
			errs = append(errs, fmt.Errorf("-%s: %w", name, err))
		}
		*setLimit[name] = l
	}
	if rl.TrustedProxies, err = ratelimit.ParseProxies(*proxies); err != nil {
		errs = append(errs, fmt.Errorf("-trusted-proxies: %w", err))
	}
	o.cfg.RateLimits = &rl
	if o.cfg.PasswordConcurrency < 0 {
		errs = append(errs, errors.New("-password-concurrency must not be negative"))
	}
	return o, errors.Join(append(errs, o.cfg.Validate())...)
}

// envIntFrom is the integer environment variable name, or def when unset or
// not a number (the flag's own parsing reports a bad value given as a flag).
func envIntFrom(getenv func(string) string, name string, def int) int {
	if v, err := strconv.Atoi(getenv(name)); err == nil {
		return v
	}
	return def
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
