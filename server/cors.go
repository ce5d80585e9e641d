package server

import (
	"net/http"
	"slices"

	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"

	"github.com/vibesync/vibesync/server/rest"
)

// CORSMaxAge is how long (seconds) a browser may cache a preflight answer;
// Chromium caps it at two hours.
const CORSMaxAge = 7200

// withCORS lets the browser origins in allowed ("*" for any) call the REST
// API and the Connect services (Connect, gRPC-Web and their streams) from
// scripts. Credentials stay off: the API authenticates with a bearer
// token, never a cookie, so a page must hold the token itself. Preflights
// are answered here, before routing, and cached CORSMaxAge seconds. With
// no allowed origins the handler is returned as is (same origin only). The
// WebSocket checks Origin itself (server/live) against the same list.
func withCORS(h http.Handler, allowed []string) http.Handler {
	if len(allowed) == 0 {
		return h
	}
	return cors.New(corsOptions(allowed)).Handler(h)
}

func corsOptions(allowed []string) cors.Options {
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	headers := []string{"Authorization", "Content-Type", rest.SocketHeader, "X-Request-Id"}
	exposed := []string{"X-Request-Id", "WWW-Authenticate", "Retry-After", "Allow"}
	return cors.Options{
		AllowedOrigins:   slices.Clone(allowed),
		AllowedMethods:   union(methods, connectcors.AllowedMethods()),
		AllowedHeaders:   union(headers, connectcors.AllowedHeaders()),
		ExposedHeaders:   union(exposed, connectcors.ExposedHeaders()),
		AllowCredentials: false,
		MaxAge:           CORSMaxAge,
	}
}

// union is a followed by the entries of b it lacks.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
