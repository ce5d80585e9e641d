// Command libsql-test-server serves a SQLite database over Hrana over HTTP
// for the integration suite (see package libsqlserver). It is a test
// fixture, not a database server to deploy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vibesync/vibesync/integration/libsqlserver"
)

func main() {
	listen := flag.String("listen", "0.0.0.0:8080", "address to serve on")
	path := flag.String("db", "/data/libsql.db", "SQLite database file")
	latency := flag.Duration("latency", 0, "delay added to every pipeline request (a round trip to a distant database)")
	ttl := flag.Duration("stream-ttl", 10*time.Second, "close streams idle for longer")
	busy := flag.Duration("busy-timeout", 5*time.Second, "how long a writer waits for another stream's lock")
	token := flag.String("auth-token", os.Getenv("LIBSQL_AUTH_TOKEN"), "require this bearer token (LIBSQL_AUTH_TOKEN)")
	flag.Parse()

	srv, err := libsqlserver.New(libsqlserver.Config{Path: *path, Latency: *latency, StreamTTL: *ttl, BusyTimeout: *busy, AuthToken: *token})
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Addr: *listen, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	fmt.Printf("libsql-test-server: serving %s on %s (latency %s)\n", *path, *listen, *latency)
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		log.Fatal(err)
	}
}
