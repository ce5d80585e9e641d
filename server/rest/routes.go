package rest

import "net/http"

// Register mounts every REST route on mux. This is the whole route table.
func (a *API) Register(mux *http.ServeMux) {
	// Health.
	mux.Handle("GET /healthz", a.public(a.healthz))
	mux.Handle("GET /readyz", a.public(a.readyz))

	// Auth.
	mux.Handle("POST /auth/register", a.public(a.register))
	mux.Handle("POST /auth/login", a.public(a.login))
	mux.Handle("POST /auth/refresh", a.public(a.refresh))
	mux.Handle("POST /auth/logout", a.authed(a.logout))

	// Users.
	mux.Handle("GET /users", a.authed(a.listUsers))
	mux.Handle("GET /users/me", a.authed(a.getMe))
	mux.Handle("PATCH /users/me", a.authed(a.patchMe))
	mux.Handle("GET /users/{id}", a.authed(a.getUser))

	// Live channel: WebSocket upgrade, authenticated before it (Bearer or ?token=).
	if a.live != nil {
		mux.Handle("GET /ws", a.public(a.socket))
	}
}
