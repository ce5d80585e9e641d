package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/social"
)

type userBody struct {
	User social.User `json:"user"`
}

func (a *API) getMe(w http.ResponseWriter, r *http.Request) error {
	u, err := a.svc.Me(r.Context(), caller(r).UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userBody{u})
	return nil
}

func (a *API) patchMe(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name     *string `json:"name"`
		Username *string `json:"username"`
		Bio      *string `json:"bio"`
		Photo    *string `json:"photo"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	u, err := a.svc.UpdateProfile(r.Context(), caller(r), social.ProfileUpdate{Name: in.Name, Username: in.Username, Bio: in.Bio, Photo: in.Photo})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userBody{u})
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.svc.User(r.Context(), caller(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userBody{u})
	return nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	users, total, err := a.svc.SearchUsers(r.Context(), caller(r).UserID, r.URL.Query().Get("search"), p)
	if err != nil {
		return err
	}
	if users == nil {
		users = []social.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "count": total})
	return nil
}
