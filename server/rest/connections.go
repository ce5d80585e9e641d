package rest

import (
	"net/http"
	"strconv"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/wire"
)

// The spec/1 connection API: /connections. Thin views over the social
// connection methods; the rules live there.

// connectionBody is a record with bare user ids, as POST answers it.
type connectionBody struct {
	ID         string    `json:"_id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Status     string    `json:"status"`
	CreatedAt  wire.Time `json:"createdAt"`
	AcceptedAt wire.Time `json:"acceptedAt,omitzero"`
}

func connectionBodyOf(c social.Connection) connectionBody {
	return connectionBody{ID: c.ID, From: c.From.ID, To: c.To.ID, Status: c.Status, CreatedAt: c.CreatedAt, AcceptedAt: c.AcceptedAt}
}

// connectionItem is a record in GET /connections: both users populated,
// and user = the other party.
type connectionItem struct {
	ID         string      `json:"_id"`
	From       social.User `json:"from"`
	To         social.User `json:"to"`
	Status     string      `json:"status"`
	CreatedAt  wire.Time   `json:"createdAt"`
	AcceptedAt wire.Time   `json:"acceptedAt,omitzero"`
	User       social.User `json:"user"`
}

func (a *API) listConnections(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := social.ConnectionQuery{Statuses: []string{social.ConnectionPending, social.ConnectionAccepted}}
	switch s := r.URL.Query().Get("status"); s {
	case "":
	case social.ConnectionPending, social.ConnectionAccepted:
		q.Statuses = []string{s}
	default:
		return apperr.InvalidField("status", "status must be pending or accepted")
	}
	me := caller(r)
	conns, total, err := a.svc.Connections(r.Context(), me, q, p)
	if err != nil {
		return err
	}
	items := make([]connectionItem, len(conns))
	for i, c := range conns {
		items[i] = connectionItem{ID: c.ID, From: c.From, To: c.To, Status: c.Status, CreatedAt: c.CreatedAt, AcceptedAt: c.AcceptedAt, User: c.Other(me.UserID)}
	}
	// Written by hand: the document writeJSON makes of
	// {"connections": items, "count": total}, without reflection.
	buf := listBufs.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 1<<20 {
			listBufs.Put(buf)
		}
	}()
	b := appendConnectionsAnswer((*buf)[:0], items, total)
	*buf = b
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // the client went away; nothing left to tell it
	return nil
}

// appendConnectionsAnswer appends GET /connections' answer: the bytes
// writeJSON writes for {"connections": items, "count": total}, newline
// included.
func appendConnectionsAnswer(b []byte, items []connectionItem, total int) []byte {
	b = append(b, `{"connections":[`...)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		c := &items[i]
		b = append(b, `{"_id":`...)
		b = appendString(b, c.ID)
		b = append(b, `,"from":`...)
		b = appendUser(b, &c.From)
		b = append(b, `,"to":`...)
		b = appendUser(b, &c.To)
		b = append(b, `,"status":`...)
		b = appendString(b, c.Status)
		b = append(b, `,"createdAt":`...)
		b = appendTime(b, c.CreatedAt)
		if !c.AcceptedAt.IsZero() {
			b = append(b, `,"acceptedAt":`...)
			b = appendTime(b, c.AcceptedAt)
		}
		b = append(b, `,"user":`...)
		b = appendUser(b, &c.User)
		b = append(b, '}')
	}
	b = append(b, `],"count":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	return append(b, "}\n"...)
}

// appendUser appends u as encoding/json writes it (HTML escaping off).
func appendUser(b []byte, u *social.User) []byte {
	b = append(b, `{"_id":`...)
	b = appendString(b, u.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, u.Name)
	b = append(b, `,"username":`...)
	b = appendString(b, u.Username)
	if u.Photo != "" {
		b = append(b, `,"photo":`...)
		b = appendString(b, u.Photo)
	}
	if u.Bio != "" {
		b = append(b, `,"bio":`...)
		b = appendString(b, u.Bio)
	}
	if st := u.Status; st != nil {
		b = append(b, `,"status":{"_id":`...)
		b = appendString(b, st.ID)
		b = append(b, `,"text":`...)
		b = appendString(b, st.Text)
		b = append(b, `,"expiresAt":`...)
		b = appendTime(b, st.ExpiresAt)
		b = append(b, `,"createdAt":`...)
		b = appendTime(b, st.CreatedAt)
		b = append(b, '}')
	}
	if u.Deleted {
		b = append(b, `,"deleted":true`...)
	}
	return append(b, '}')
}

// userIDField names the other user of a connection call after the path
// parameter {userId}.
func userIDField(err error) error {
	return apperr.RenameField(err, social.FieldOtherUser, "userId")
}

func (a *API) createConnection(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Message string `json:"message"`
	}
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	c, fresh, err := a.svc.RequestConnection(r.Context(), caller(r), social.ConnectionRequest{
		To: r.PathValue("userId"), Message: in.Message, AnswerStatus: true,
	})
	if err != nil {
		return userIDField(err)
	}
	status := http.StatusOK
	if fresh {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"connection": connectionBodyOf(c)})
	return nil
}

func (a *API) acceptConnection(w http.ResponseWriter, r *http.Request) error {
	c, err := a.svc.AcceptConnection(r.Context(), caller(r), social.ByUser(r.PathValue("userId")))
	if err != nil {
		return userIDField(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"connection": connectionBodyOf(c)})
	return nil
}

func (a *API) deleteConnection(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := a.svc.DeleteConnection(r.Context(), caller(r), r.PathValue("userId")); err != nil {
		return userIDField(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
