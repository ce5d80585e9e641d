package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/wire"
)

// The spec/4 connection shapes: /connections/:userId/status,
// /connections/established and /connections/pending. Views over the same
// social connection methods as spec/1.

// pagination is spec/4's pagination object.
type pagination struct {
	CurrentPage     int  `json:"currentPage"`
	TotalPages      int  `json:"totalPages"`
	TotalCount      int  `json:"totalCount"`
	HasNextPage     bool `json:"hasNextPage"`
	HasPreviousPage bool `json:"hasPreviousPage"`
	Limit           int  `json:"limit"`
}

func paginationOf(p social.Page, total int) pagination {
	page := p.Offset/p.Limit + 1
	pages := (total + p.Limit - 1) / p.Limit
	return pagination{CurrentPage: page, TotalPages: pages, TotalCount: total,
		HasNextPage: page < pages, HasPreviousPage: page > 1, Limit: p.Limit}
}

// connectionStatus is ConnectionStatusResponse; the fields present depend
// on status (none, pending, connected, declined).
type connectionStatus struct {
	Status       string    `json:"status"`
	Type         string    `json:"type,omitempty"`
	ConnectionID string    `json:"connectionId,omitempty"`
	CreatedAt    wire.Time `json:"createdAt,omitzero"`
	ConnectedAt  wire.Time `json:"connectedAt,omitzero"`
	RequestedAt  wire.Time `json:"requestedAt,omitzero"`
	RespondedAt  wire.Time `json:"respondedAt,omitzero"`
}

func (a *API) connectionStatus(w http.ResponseWriter, r *http.Request) error {
	me := caller(r)
	c, err := a.svc.ConnectionWith(r.Context(), me, r.PathValue("userId"))
	if err != nil {
		return userIDField(err)
	}
	out := connectionStatus{Status: "none"}
	switch {
	case c == nil:
	case c.Status == social.ConnectionPending:
		out = connectionStatus{Status: "pending", Type: c.Side(me.UserID), ConnectionID: c.ID, CreatedAt: c.CreatedAt}
	case c.Status == social.ConnectionAccepted:
		out = connectionStatus{Status: "connected", ConnectionID: c.ID, ConnectedAt: c.AcceptedAt, RequestedAt: c.CreatedAt}
	case c.Status == social.ConnectionDeclined:
		out = connectionStatus{Status: "declined", Type: c.Side(me.UserID), ConnectionID: c.ID, RespondedAt: c.RespondedAt}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// establishedConnection is spec/4's EstablishedConnection.
type establishedConnection struct {
	ID            string      `json:"id"`
	ConnectedUser social.User `json:"connectedUser"`
	ConnectedAt   wire.Time   `json:"connectedAt"`
}

func (a *API) establishedConnections(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	me := caller(r)
	conns, total, err := a.svc.Connections(r.Context(), me, social.ConnectionQuery{Statuses: []string{social.ConnectionAccepted}}, p)
	if err != nil {
		return err
	}
	out := make([]establishedConnection, len(conns))
	for i, c := range conns {
		out[i] = establishedConnection{ID: c.ID, ConnectedUser: c.Other(me.UserID), ConnectedAt: c.AcceptedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": out, "pagination": paginationOf(p, total)})
	return nil
}

// pendingConnection is spec/4's PendingConnection.
type pendingConnection struct {
	ID        string      `json:"id"`
	User      social.User `json:"user"`
	Type      string      `json:"type"`
	Message   string      `json:"message,omitempty"`
	CreatedAt wire.Time   `json:"createdAt"`
}

func (a *API) pendingConnections(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := social.ConnectionQuery{Statuses: []string{social.ConnectionPending}}
	switch t := r.URL.Query().Get("type"); t {
	case "", "sent", "received":
		q.Role = t
	default:
		return apperr.InvalidField("type", "type must be sent or received")
	}
	me := caller(r)
	conns, total, err := a.svc.Connections(r.Context(), me, q, p)
	if err != nil {
		return err
	}
	out := make([]pendingConnection, len(conns))
	for i, c := range conns {
		out[i] = pendingConnection{ID: c.ID, User: c.Other(me.UserID), Type: c.Side(me.UserID), Message: c.Message, CreatedAt: c.CreatedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": out, "pagination": paginationOf(p, total)})
	return nil
}
