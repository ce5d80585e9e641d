// Package server wires vibesync together: configuration, the database, the
// rule layer and the transports on one http.ServeMux, and graceful shutdown.
package server

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/live"
	"github.com/vibesync/vibesync/server/media"
	"github.com/vibesync/vibesync/server/metrics"
	"github.com/vibesync/vibesync/server/push"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/rest"
	"github.com/vibesync/vibesync/server/rpc"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// Config is everything the server needs. Zero values take the defaults
// documented on each field.
type Config struct {
	// Listen is the TCP address to serve on (default "127.0.0.1:8080").
	Listen string
	// DatabaseURL is "file:PATH" for the embedded database (default
	// "file:<DataDir>/vibesync.db") or a libsql://, https:// or wss:// URL.
	DatabaseURL string
	// DatabaseAuthToken authenticates to a remote libSQL server.
	DatabaseAuthToken string
	// DataDir holds the embedded database and, unless MediaS3 is set, the
	// uploaded media in its media/ folder (default "./data").
	DataDir string
	// MediaS3 keeps uploaded media in an S3-compatible bucket instead of
	// <DataDir>/media, so that instances on several hosts serve the same
	// files: "http(s)://HOST[:PORT]/BUCKET" for an S3-compatible server
	// (SeaweedFS, MinIO, Ceph, R2, …), "s3://BUCKET" for AWS S3.
	// Credentials come from the AWS SDK's default chain
	// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or the
	// machine's role); the bucket must exist. The instance streams the
	// files at the same /media/ URLs either way.
	MediaS3 string
	// MediaS3Region signs S3 requests (default AWS_REGION, else
	// "us-east-1").
	MediaS3Region string
	// OpenMediaS3 opens the bucket of MediaS3: s3media.Open, which
	// cmd/vibesyncd sets. The server does not import the S3 driver
	// itself, so that what links it without serving from a bucket (its
	// tests, the client's, the benchmark) does not carry the AWS SDK;
	// MediaS3 without OpenMediaS3 is a configuration error.
	OpenMediaS3 media.S3Opener
	// TokenSecret signs access tokens; at least 32 bytes. When empty, one is
	// generated on first start and kept in the database, so every instance
	// sharing the database agrees on it.
	TokenSecret string
	// PublicURL is the base of absolute URLs the server hands out (default
	// "http://<Listen>").
	PublicURL string
	// Password sets the argon2id cost (default auth.DefaultPasswordParams).
	Password auth.PasswordParams
	// PasswordConcurrency is how many password hashes may run at once
	// (default the number of CPUs); PasswordWait is how long a sign-in
	// waits for one before it gets 503 with Retry-After (default 2s).
	PasswordConcurrency int
	PasswordWait        time.Duration
	// RateLimits are the request budgets (nil: ratelimit.Defaults()).
	RateLimits *ratelimit.Config
	// BodyTimeout is how long a request body may take to arrive (default
	// 30s); UploadTimeout replaces it on upload routes (default 5m);
	// WriteTimeout bounds writing an answer, after the body's bound
	// (default 30s). GET /ws and the Subscribe stream are exempt.
	BodyTimeout   time.Duration
	UploadTimeout time.Duration
	WriteTimeout  time.Duration
	// FCMServiceAccountFile is a Google service-account key file; when set
	// (or FCMProjectID is), push notifications go out through FCM HTTP v1,
	// otherwise they are only logged.
	FCMServiceAccountFile string
	// FCMProjectID is the Firebase project to send through (default: the
	// key file's). Set without a key file, the server uses Google's
	// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
	// gcloud's, or the metadata server on Google Cloud).
	FCMProjectID string
	// FCMEndpoint is the FCM API base (default push.DefaultFCMEndpoint):
	// an emulator, or the bench's stand-in on loopback.
	FCMEndpoint string
	// PushInterval is how often the push worker looks for due
	// notifications when the outbox had none (push.Worker.Interval,
	// default 1s): the most a notification waits to be sent, against one
	// outbox read per interval on an idle instance.
	PushInterval time.Duration
	// ShutdownTimeout bounds graceful shutdown (default 10s).
	ShutdownTimeout time.Duration
	// Log receives structured logs (default: discarded).
	Log *slog.Logger
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
	// AllowedOrigins are browser origins (e.g. "https://app.example.com")
	// allowed to call the REST API and the Connect services (CORS, see
	// cors.go) and to open the live WebSocket, besides the server's own
	// origin; clients that send no Origin are always allowed. "*" allows any.
	AllowedOrigins []string
	// Live tunes the WebSocket hub (limits, heartbeats, polling); zero
	// values take live.Options' defaults. Its AllowedOrigins is replaced by
	// the field above.
	Live live.Options
	// TombstoneWindow is how long deletions stay in the change feed (default
	// 30 days). A sync client whose cursor is older gets a reset.
	TombstoneWindow time.Duration
	// MetricsListen, when set, serves GET /metrics on its own address
	// (e.g. "127.0.0.1:9090", for deployments that keep it private) and
	// not on Listen. Empty: GET /metrics on the main listener.
	MetricsListen string
	// MetricsReadTimeout bounds the database read of one scrape of
	// /metrics (default 2s); a scrape whose read takes longer leaves the
	// read's figures out and counts vibesync_metrics_database_read_errors_total.
	MetricsReadTimeout time.Duration
}

// Defaults returns c with every unset field given its default.
func Defaults(c Config) Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "file:" + filepath.ToSlash(filepath.Join(c.DataDir, "vibesync.db"))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TombstoneWindow <= 0 {
		c.TombstoneWindow = 30 * 24 * time.Hour
	}
	if c.RateLimits == nil {
		d := ratelimit.Defaults()
		c.RateLimits = &d
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = 30 * time.Second
	}
	if c.UploadTimeout <= 0 {
		c.UploadTimeout = 5 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", c.Listen, err))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("metrics listen address %q: %w", c.MetricsListen, err))
		} else if c.MetricsListen == c.Listen {
			errs = append(errs, fmt.Errorf("metrics listen address %q is the main listen address; leave it empty to serve /metrics there", c.MetricsListen))
		}
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil {
		errs = append(errs, fmt.Errorf("database URL: %w", err))
	} else {
		switch u.Scheme {
		case "file", "libsql", "http", "https", "ws", "wss":
		default:
			errs = append(errs, fmt.Errorf("database URL %q: scheme must be file, libsql, http(s) or ws(s)", u.Redacted()))
		}
	}
	if c.TokenSecret != "" && len(c.TokenSecret) < 32 {
		errs = append(errs, errors.New("token secret must be at least 32 bytes"))
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("public URL %q must be an absolute http(s) URL", c.PublicURL))
	}
	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme == "" || u.Host == "" || strings.Trim(u.Path, "/") != "") {
			errs = append(errs, fmt.Errorf("allowed origin %q must be scheme://host[:port] or *", o))
		}
	}
	if c.MediaS3 != "" {
		if _, _, err := media.ParseS3URL(c.MediaS3); err != nil {
			errs = append(errs, err)
		}
		if c.OpenMediaS3 == nil {
			errs = append(errs, errors.New("media S3 bucket is set but this server is built without the S3 driver (Config.OpenMediaS3: s3media.Open)"))
		}
	} else if c.MediaS3Region != "" {
		errs = append(errs, errors.New("media S3 region is set but the media S3 bucket is not"))
	}
	return errors.Join(errs...)
}

// Server is a configured vibesync instance.
type Server struct {
	cfg     Config
	db      *store.DB
	social  *social.Service
	rpc     *rpc.Services
	hub     *live.Hub
	handler http.Handler
	pusher  *push.Worker
	metrics *metrics.Metrics
	media   media.Store
}

// New validates cfg, opens and migrates the database, and wires the
// transports. Close releases what it opened.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg = cfg.withDefaults()
	db, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, AuthToken: cfg.DatabaseAuthToken, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	s, err := build(ctx, cfg, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func build(ctx context.Context, cfg Config, db *store.DB) (*Server, error) {
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	secret, err := tokenSecret(ctx, db, cfg.TokenSecret)
	if err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(secret, auth.AccessTTL, cfg.Now)
	if err != nil {
		return nil, err
	}
	var sender push.Sender = push.LogSender{Log: cfg.Log}
	if cfg.FCMServiceAccountFile != "" || cfg.FCMProjectID != "" {
		fcm, err := push.NewFCM(ctx, push.FCMConfig{ServiceAccountFile: cfg.FCMServiceAccountFile, ProjectID: cfg.FCMProjectID, Endpoint: cfg.FCMEndpoint})
		if err != nil {
			return nil, err
		}
		cfg.Log.Info("push notifications through FCM", "project", fcm.Project())
		sender = fcm
	}
	files, err := openMedia(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			files.Close()
		}
	}()
	passwords := auth.NewHasher(auth.HasherConfig{Params: cfg.Password, Concurrency: cfg.PasswordConcurrency, Wait: cfg.PasswordWait})
	svc, err := social.New(social.Config{DB: db, Tokens: tokens, Passwords: passwords, Log: cfg.Log, Media: files})
	if err != nil {
		return nil, err
	}
	opts := cfg.Live
	opts.AllowedOrigins = cfg.AllowedOrigins
	hub, err := live.New(ctx, live.Config{DB: db, Log: cfg.Log, Now: cfg.Now, Options: opts})
	if err != nil {
		return nil, err
	}
	met := newMetrics(db, hub, cfg.MetricsReadTimeout)
	limits := ratelimit.NewSet(*cfg.RateLimits, cfg.Now)
	api := rest.New(rest.Config{Social: svc, Tokens: tokens, Log: cfg.Log, Ready: db.Ready, Media: files, Live: hub,
		Limits:    limits,
		Timeouts:  rest.Timeouts{Body: cfg.BodyTimeout, Upload: cfg.UploadTimeout, Write: cfg.WriteTimeout},
		Streaming: []string{"/ws", syncv1connect.SyncServiceSubscribeProcedure}})
	mux := http.NewServeMux()
	api.Register(mux)
	streams := rpc.New(rpc.Config{Social: svc, Tokens: tokens, Log: cfg.Log, Feed: hub, Writes: limits.WritesLimiter(),
		Interceptors: []connect.Interceptor{met.Interceptor()}})
	streams.Register(mux)
	if cfg.MetricsListen == "" {
		mux.Handle("GET /metrics", met.Handler())
	}
	pusher := &push.Worker{DB: db, Sender: sender, Log: cfg.Log, Observer: met, Interval: cfg.PushInterval}
	handler := met.InstrumentHTTP(mux, withCORS(api.Middleware(mux), cfg.AllowedOrigins))
	ok = true
	return &Server{cfg: cfg, db: db, social: svc, rpc: streams, hub: hub, handler: handler, pusher: pusher, metrics: met, media: files}, nil
}

// openMedia opens the configured media store: the S3 bucket of
// cfg.MediaS3, else the folder <DataDir>/media.
func openMedia(ctx context.Context, cfg Config) (media.Store, error) {
	if cfg.MediaS3 == "" {
		return media.NewDir(filepath.Join(cfg.DataDir, "media"), cfg.PublicURL)
	}
	b, err := cfg.OpenMediaS3(ctx, media.S3Config{URL: cfg.MediaS3, Region: cfg.MediaS3Region}, cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	cfg.Log.Info("media in an S3 bucket", "bucket", cfg.MediaS3)
	return b, nil
}

// newMetrics creates the server's metrics and connects them to the
// database's writer, the live hub and the figures read at scrape time.
func newMetrics(db *store.DB, hub *live.Hub, readTimeout time.Duration) *metrics.Metrics {
	met := metrics.New()
	db.Observe(met)
	writer, reader := db.Pools()
	met.Watch(metrics.Sources{
		Live: func() metrics.LiveStats {
			s := hub.Stats()
			return metrics.LiveStats{Sockets: s.Sockets, Users: s.Users, Subscribers: s.Subscribers,
				FramesSent: s.Sent, SlowClosed: s.Dropped, TailSeq: s.TailSeq}
		},
		DB: func(ctx context.Context) (st metrics.DBState, err error) {
			err = db.ReadUncounted(ctx, func(tx *store.Tx) (err error) {
				if st.FeedHead, err = tx.FeedHead(ctx); err != nil {
					return err
				}
				st.OutboxDepth, err = tx.PushOutboxDepth(ctx)
				return err
			})
			return st, err
		},
		ReadTimeout: readTimeout,
		Pools:       map[string]*sql.DB{"writer": writer, "reader": reader},
	})
	return met
}

// tokenSecret returns the configured secret, or the one kept in the
// database (generated on the first start of the first instance).
func tokenSecret(ctx context.Context, db *store.DB, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate token secret: %w", err)
	}
	var secret string
	err := db.Write(ctx, func(tx *store.Tx) (err error) {
		secret, err = tx.SetSettingIfAbsent(ctx, "token_secret", hex.EncodeToString(b))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("token secret: %w", err)
	}
	return []byte(secret), nil
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics is the server's Prometheus instrumentation; its Handler is
// what GET /metrics serves.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// DB is the server's database (for tools and tests in this module).
func (s *Server) DB() *store.DB { return s.db }

// Social is the server's rule layer (for tests in this module).
func (s *Server) Social() *social.Service { return s.social }

// Hub is the server's live WebSocket hub (for tests and benchmarks).
func (s *Server) Hub() *live.Hub { return s.hub }

// DeliverPushes runs one pass of the push-notification worker now (Serve
// runs it every few seconds): for tools and tests. It returns how many
// pushes were delivered.
func (s *Server) DeliverPushes(ctx context.Context) (int, error) { return s.pusher.RunOnce(ctx) }

// mediaRetryInterval is how often Serve looks for stored files whose
// deletion failed (or was cut short) and is due again.
const mediaRetryInterval = 30 * time.Second

// DeleteQueuedMedia runs one pass of the media-deletion retry now (Serve
// runs it every 30 s): for tools and tests. It returns how many files were
// deleted.
func (s *Server) DeleteQueuedMedia(ctx context.Context) (int, error) {
	return s.social.DeleteQueuedMedia(ctx)
}

// Run listens on cfg.Listen and serves until ctx ends, then shuts down
// gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTP/1.1 and cleartext HTTP/2 (h2c) on ln until ctx ends,
// then closes live sockets with 1001, stops accepting, lets requests in
// flight finish (up to ShutdownTimeout) and returns. It does not close the
// database; Close does.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Handler:           s.handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	hs.RegisterOnShutdown(s.rpc.Shutdown)
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if s.cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", s.cfg.MetricsListen)
		if err != nil {
			hs.Close()
			return fmt.Errorf("metrics listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metrics.Handler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn)}
		go func() { errc <- ms.Serve(mln) }()
		defer ms.Close()
		s.cfg.Log.Info("serving metrics", "addr", mln.Addr().String())
	}
	pctx, stopBackground := context.WithCancel(ctx)
	pushDone := make(chan struct{})
	go func() { defer close(pushDone); s.pusher.Run(pctx) }()
	pruneDone := make(chan struct{})
	go func() { defer close(pruneDone); s.pruneFeed(pctx) }()
	mediaDone := make(chan struct{})
	go func() { defer close(mediaDone); s.social.RunMediaDeletions(pctx, mediaRetryInterval) }()
	defer func() { stopBackground(); <-pushDone; <-pruneDone; <-mediaDone }()
	s.cfg.Log.Info("serving", "addr", ln.Addr().String(), "database", redact(s.cfg.DatabaseURL))
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.cfg.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// Hijacked WebSocket connections are invisible to hs.Shutdown: the hub
	// closes them itself.
	if err := s.hub.Shutdown(sctx); err != nil {
		s.cfg.Log.Warn("live shutdown", "err", err)
	}
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// pruneFeed drops tombstones older than the window, hourly, until ctx ends.
func (s *Server) pruneFeed(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := s.social.PruneFeed(ctx, s.cfg.TombstoneWindow); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("prune feed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close closes the live sockets (if Serve has not) and releases the
// database.
func (s *Server) Close() error {
	return errors.Join(s.hub.Close(), s.social.Close(), s.db.Close(), s.media.Close())
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
