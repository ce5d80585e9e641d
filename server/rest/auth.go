package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/social"
)

func (a *API) register(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name     string `json:"name"`
		Username string `json:"username"`
		Password string `json:"password"`
		Client   string `json:"client"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	out, err := a.svc.Register(r.Context(), social.Registration{Name: in.Name, Username: in.Username, Password: in.Password, Client: in.Client})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Client   string `json:"client"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	addr := a.clientAddr(r)
	if a.limits != nil && in.Username != "" && in.Password != "" {
		if err := a.limits.LoginAllowed(in.Username, addr); err != nil {
			return err
		}
	}
	out, err := a.svc.LoginWith(r.Context(), social.Credentials{Username: in.Username, Password: in.Password, Client: in.Client})
	if a.limits != nil {
		if e, ok := apperr.As(err); ok && e.Reason == "invalid_credentials" {
			a.limits.LoginFailed(in.Username, addr)
		} else if err == nil {
			a.limits.LoginSucceeded(in.Username, addr)
		}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) refresh(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		RefreshToken string `json:"refreshToken"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	out, err := a.svc.Refresh(r.Context(), in.RefreshToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	c, _ := auth.FromContext(r.Context())
	if err := a.svc.Logout(r.Context(), c.SessionID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
