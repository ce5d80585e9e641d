package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/apperr"
)

func (a *API) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := a.ready(r.Context()); err != nil {
		a.log.WarnContext(r.Context(), "not ready", "err", err)
		return apperr.New(apperr.Unavailable, "not_ready", "The server is not ready")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
