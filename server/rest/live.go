package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/auth"
)

// Live serves the WebSocket endpoint (server/live implements it).
type Live interface {
	// ServeSocket upgrades r for the authenticated userID. It returns an
	// error only before the upgrade, for the API to answer as JSON.
	ServeSocket(w http.ResponseWriter, r *http.Request, userID string) error
}

// socket authenticates GET /ws before the upgrade: the token comes as
// Authorization: Bearer, or as ?token= for browsers, which cannot set
// headers on a WebSocket. Failures are 401 JSON like every other route.
func (a *API) socket(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.Authenticate(r, a.tokens, a.svc.CheckSession, true)
	if err != nil {
		return err
	}
	return a.live.ServeSocket(w, r.WithContext(auth.WithClaims(r.Context(), c)), c.UserID)
}
