package rest

import (
	"encoding/json"
	"net/http"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
)

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID    string `json:"_id"`
		Text  string `json:"text"`
		Tag   string `json:"tag"`
		Files []struct {
			URL   string          `json:"url"`
			Cover string          `json:"cover"`
			Meta  json.RawMessage `json:"meta"`
		} `json:"files"`
		Socket string `json:"socket"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	nm := social.NewMessage{ID: in.ID, Text: in.Text, Tag: in.Tag}
	for _, f := range in.Files {
		nm.Files = append(nm.Files, social.NewFile{URL: f.URL, Cover: f.Cover, Meta: f.Meta})
	}
	sent, err := a.svc.SendMessage(r.Context(), withSocket(r, in.Socket), r.PathValue("id"), nm)
	if err != nil {
		return apperr.RenameField(err, social.FieldMessageID, "_id") // the body's proposed id
	}
	status := http.StatusOK
	if sent.Created {
		status = http.StatusCreated
	}
	writeWrapped(w, status, "message", sent.JSON, sent.Message)
	return nil
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r, "limit", social.DefaultMessages, MaxLimit)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	msgs, total, err := a.svc.Messages(r.Context(), caller(r), r.PathValue("id"),
		social.MessageFilter{Before: q.Get("before"), After: q.Get("after"), Limit: p.Limit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs, "count": total})
	return nil
}

// deleteMessage is DELETE /chats/{id}/messages/{messageId}: 204, or the
// errors of social.DeleteMessage.
func (a *API) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	var in socketBody
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	if err := a.svc.DeleteMessage(r.Context(), withSocket(r, in.Socket), r.PathValue("id"), r.PathValue("messageId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
