// Package rpc serves vibesync's Connect-RPC services (the sync protocol,
// vibesync.sync.v1.SyncService) on the same mux as REST: Connect, gRPC and
// gRPC-Web over HTTP/1.1 and h2c, with gRPC reflection so grpcurl and
// `buf curl` can list and call them. Handlers are thin: check the protocol
// version, decode, call server/social, encode.
package rpc

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/social"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
	"github.com/vibesync/vibesync/wire"
)

// ProtocolVersion is the sync protocol version this server speaks. Every
// request carries the client's; any other is refused with
// FAILED_PRECONDITION, reason "protocol_version_unsupported".
const ProtocolVersion = 1

// MaxRequestBytes bounds a request message (decompressed): a pull
// listing a hundred thousand buckets, or a full push, fits; anything
// larger is refused with RESOURCE_EXHAUSTED before it is decoded.
const MaxRequestBytes = wire.MaxSyncRequestBytes

// Config wires the services.
type Config struct {
	Social *social.Service
	Tokens *auth.Tokens
	Log    *slog.Logger
	// Feed tells Subscribe when a user's buckets move. The server passes
	// the live hub, so Subscribe streams and WebSockets share one tail of
	// the database (and see other instances' writes).
	Feed Watcher
	// Writes is each user's write budget, shared with REST: every pushed
	// mutation takes a token (nil: unlimited).
	Writes *ratelimit.Keyed
	// Interceptors run around every call, outside the service's own (auth,
	// error mapping), so they see the codes clients get (metrics).
	Interceptors []connect.Interceptor
}

// Watcher reports feed positions at which a user's buckets moved. The
// positions channel holds only the newest position not yet taken, and is
// closed when the watcher shuts down; ended is closed when login session
// sessionID has ended (the watcher re-checks it periodically); stop
// releases the watch.
type Watcher interface {
	Watch(userID, sessionID string) (positions <-chan int64, ended <-chan struct{}, stop func())
}

// Services are the Connect handlers.
type Services struct {
	svc      *social.Service
	feed     Watcher
	tokens   *auth.Tokens
	log      *slog.Logger
	writes   *ratelimit.Keyed
	outer    []connect.Interceptor
	done     chan struct{} // closed by Shutdown
	shutdown sync.Once
}

// New returns the services; mount them with Register.
func New(cfg Config) *Services {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Services{svc: cfg.Social, feed: cfg.Feed, tokens: cfg.Tokens, log: log, writes: cfg.Writes, outer: cfg.Interceptors, done: make(chan struct{})}
}

// Shutdown ends every open Subscribe stream (clients reconnect to another
// instance or later) so a graceful shutdown does not wait for them.
func (s *Services) Shutdown() {
	s.shutdown.Do(func() { close(s.done) })
}

// compressMinBytes: answers smaller than this go uncompressed (an
// incremental pull's few hundred bytes, a push's results): setting up
// gzip for them cost more CPU (about 1 ms a pull, profiled) than the
// bytes it saved.
const compressMinBytes = 1024

// gzipLevel is the level of the gzip answers: BestSpeed. At the default
// level gzip was a third of the server's CPU in a first sync (~0.3 s per
// 100k rows, profiled) while the pull's pages stay a few percent of the
// same messages as REST JSON either way (docs/PERFORMANCE.md, fifth
// pass); the level changes nothing a client sees but the byte count.
const gzipLevel = gzip.BestSpeed

// newGzipWriter is connect's gzip compressor at gzipLevel (connect pools
// the writers and resets them per message).
func newGzipWriter() connect.Compressor {
	w, err := gzip.NewWriterLevel(io.Discard, gzipLevel)
	if err != nil { // only for a level out of range
		panic(err)
	}
	return w
}

// newGzipReader is connect's gzip decompressor, as its default.
func newGzipReader() connect.Decompressor { return &gzip.Reader{} }

// Register mounts the sync service and gRPC reflection (v1 and v1alpha) on mux.
func (s *Services) Register(mux *http.ServeMux) {
	interceptors := append(append([]connect.Interceptor(nil), s.outer...), s.authInterceptor(), s.errorInterceptor())
	opts := connect.WithHandlerOptions(
		connect.WithInterceptors(interceptors...),
		connect.WithReadMaxBytes(MaxRequestBytes),
		connect.WithCompressMinBytes(compressMinBytes),
		connect.WithCompression("gzip", newGzipReader, newGzipWriter))
	mux.Handle(syncv1connect.NewSyncServiceHandler(&syncHandler{s: s}, opts))
	reflector := grpcreflect.NewStaticReflector(syncv1connect.SyncServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
}

// codeOf is the one table from error codes to Connect codes.
var codeOf = map[apperr.Code]connect.Code{
	apperr.Invalid:          connect.CodeInvalidArgument,
	apperr.Unauthenticated:  connect.CodeUnauthenticated,
	apperr.Forbidden:        connect.CodePermissionDenied,
	apperr.NotFound:         connect.CodeNotFound,
	apperr.Conflict:         connect.CodeAborted,
	apperr.TooLarge:         connect.CodeResourceExhausted,
	apperr.RateLimited:      connect.CodeResourceExhausted,
	apperr.Unavailable:      connect.CodeUnavailable,
	apperr.TimedOut:         connect.CodeDeadlineExceeded,
	apperr.UnsupportedMedia: connect.CodeInvalidArgument,
	apperr.HeadersTooLarge:  connect.CodeResourceExhausted,
	apperr.Internal:         connect.CodeInternal,
}

// toConnect turns err into a *connect.Error: an *apperr.Error keeps its
// message (its field named as the proto names it, fieldNames) and carries
// its reason in the "vibesync-reason" trailer; anything
// else is logged once here and shown as "internal".
func (s *Services) toConnect(ctx context.Context, procedure string, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, err)
	}
	pub := apperr.Public(apperr.RenameFields(err, fieldNames))
	code, ok := codeOf[pub.Code]
	if !ok {
		code = connect.CodeInternal
	}
	if code == connect.CodeInternal {
		s.log.ErrorContext(ctx, "rpc failed", "procedure", procedure, "err", err)
	}
	out := connect.NewError(code, errors.New(pub.Message))
	if pub.Reason != "" {
		out.Meta().Set(syncv1.ReasonKey, pub.Reason)
	}
	if pub.RetryAfter > 0 {
		out.Meta().Set("Retry-After", ratelimit.RetryAfterSeconds(pub.RetryAfter))
	}
	return out
}

// errorInterceptor maps every handler error through toConnect.
func (s *Services) errorInterceptor() connect.Interceptor {
	return errorInterceptor{s}
}

type errorInterceptor struct{ s *Services }

func (i errorInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		if err != nil {
			return nil, i.s.toConnect(ctx, req.Spec().Procedure, err)
		}
		return res, nil
	}
}

func (i errorInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i errorInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := next(ctx, conn); err != nil {
			return i.s.toConnect(ctx, conn.Spec().Procedure, err)
		}
		return nil
	}
}

// authInterceptor admits only calls with a valid, unrevoked bearer access
// token and puts its claims in the context (auth.FromContext).
func (s *Services) authInterceptor() connect.Interceptor {
	return authInterceptor{s}
}

type authInterceptor struct{ s *Services }

func (i authInterceptor) authenticate(ctx context.Context, h http.Header) (context.Context, error) {
	r := &http.Request{Header: h}
	c, err := auth.Authenticate(r.WithContext(ctx), i.s.tokens, i.s.svc.CheckSession, false)
	if err != nil {
		ce := i.s.toConnect(ctx, "", err).(*connect.Error)
		ce.Meta().Set("WWW-Authenticate", `Bearer realm="vibesync"`)
		return nil, ce
	}
	return auth.WithClaims(ctx, c), nil
}

func (i authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, err := i.authenticate(ctx, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// caller is the authenticated user of ctx.
func caller(ctx context.Context) social.Caller {
	c, _ := auth.FromContext(ctx)
	return social.Caller{UserID: c.UserID}
}

// checkVersion refuses requests of another protocol version.
func checkVersion(v uint32) error {
	if v == ProtocolVersion {
		return nil
	}
	msg := "this server speaks sync protocol version 1; "
	switch {
	case v == 0:
		msg += "the request carries no protocol_version: set it"
	case v > ProtocolVersion:
		msg += "the client is newer than the server: use a client for protocol 1"
	default:
		msg += "upgrade the client and reset its replica"
	}
	err := connect.NewError(connect.CodeFailedPrecondition, errors.New(msg))
	err.Meta().Set(syncv1.ReasonKey, syncv1.ReasonProtocolVersionUnsupported)
	return err
}
