package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/social"
)

type requestBody struct {
	Request social.JoinRequest `json:"request"`
}

func (a *API) listRequests(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	reqs, total, err := a.svc.Requests(r.Context(), caller(r), social.RequestFilter{Type: q.Get("type"), Status: q.Get("status")}, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": reqs, "count": total})
	return nil
}

func (a *API) getRequest(w http.ResponseWriter, r *http.Request) error {
	req, err := a.svc.Request(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, requestBody{req})
	return nil
}

func (a *API) createRequest(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Chat   string `json:"chat"`
		Socket string `json:"socket"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	req, err := a.svc.CreateRequest(r.Context(), withSocket(r, in.Socket), in.Chat)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, requestBody{req})
	return nil
}

func (a *API) answerRequest(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status string `json:"status"`
		Socket string `json:"socket"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	req, err := a.svc.AnswerRequest(r.Context(), withSocket(r, in.Socket), r.PathValue("id"), in.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, requestBody{req})
	return nil
}
