package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/social"
)

// sessionOf is the login session of r's access token (authed routes only).
func sessionOf(r *http.Request) string {
	c, _ := auth.FromContext(r.Context())
	return c.SessionID
}

// withPassword runs fn, which checks the caller's password, within the
// sign-in budgets: refused before the check when the caller's wrong
// passwords used them up (429), a wrong password counted.
func (a *API) withPassword(r *http.Request, password string, fn func() error) error {
	if a.limits == nil || password == "" {
		return fn()
	}
	user, addr := caller(r).UserID, a.clientAddr(r)
	if err := a.limits.PasswordAllowed(user, addr); err != nil {
		return err
	}
	err := fn()
	if e, ok := apperr.As(err); ok && e.Reason == "wrong_password" {
		a.limits.PasswordFailed(user, addr)
	}
	return err
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	err := a.withPassword(r, in.CurrentPassword, func() error {
		return a.svc.ChangePassword(r.Context(), caller(r).UserID, sessionOf(r),
			social.PasswordChange{Current: in.CurrentPassword, New: in.NewPassword})
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := a.svc.Sessions(r.Context(), caller(r).UserID, sessionOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Sessions []social.Session `json:"sessions"`
		Count    int              `json:"count"`
	}{list, len(list)})
	return nil
}

func (a *API) endSession(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.EndSession(r.Context(), caller(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) endOtherSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := a.svc.EndOtherSessions(r.Context(), caller(r).UserID, sessionOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Ended int `json:"ended"`
	}{n})
	return nil
}

func (a *API) deleteMe(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	err := a.withPassword(r, in.Password, func() error { return a.svc.DeleteAccount(r.Context(), caller(r), in.Password) })
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// exportMe streams the caller's data archive. Errors found before the
// first byte (rate limit, auth) are ordinary JSON errors; a failure
// mid-stream aborts the connection, so the download fails instead of
// ending in a short file that looks complete.
func (a *API) exportMe(w http.ResponseWriter, r *http.Request) error {
	if a.limits != nil {
		if err := a.limits.Export(caller(r).UserID); err != nil {
			return err
		}
	}
	exp, err := a.svc.StartExport(r.Context(), caller(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+exp.Filename()+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := exp.WriteTo(r.Context(), w); err != nil {
		if r.Context().Err() == nil {
			a.log.ErrorContext(r.Context(), "export failed", "err", err, "request_id", requestID(r.Context()))
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}
