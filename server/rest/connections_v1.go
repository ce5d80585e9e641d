package rest

import (
	"context"
	"net/http"
	"strconv"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/wire"
)

// The v1 connection API (spec/5): /v1/connections/{user_id}/... with
// integer ids (the records' Num), snake_case JSON and page/per_page paging.
// {user_id} must be the caller. Views over the same social connection
// methods as spec/1 and spec/4.
//
// Each notification item carries its own integer "id", the
// {notification_id} its read endpoint takes (connection_request_id is the
// connection's). GET .../notifications pages with page/per_page like the
// other v1 lists and, beyond the documented fields, answers the same
// pagination object, so a client can tell that there is more than one
// page; unread_count is over all of the caller's connection notifications.

// v1 paging: per_page default 10, at most 50.
const (
	V1DefaultPerPage = 10
	V1MaxPerPage     = 50
)

// authedV1 is authed with the v1 error wording.
func (a *API) authedV1(fn handlerFunc) http.Handler {
	return auth.Middleware(a.tokens, a.svc.CheckSession, a.writeV1Error)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkSocket(fn)(w, r); err != nil {
			a.writeV1Error(w, r, err)
		}
	}))
}

// writeV1Error answers err as v1 documents it: {"error": "Resource not
// found", …} for a 404, the status text otherwise.
func (a *API) writeV1Error(w http.ResponseWriter, r *http.Request, err error) {
	a.writeErrorTitled(w, r, err, func(status int) string {
		if status == http.StatusNotFound {
			return "Resource not found"
		}
		return http.StatusText(status)
	})
}

// v1Caller checks that {user_id} is the caller.
func v1Caller(r *http.Request) (social.Caller, error) {
	c := caller(r)
	if r.PathValue("user_id") != c.UserID {
		return social.Caller{}, apperr.Forbiddenf("not_your_account", "Not authorized to act for this user")
	}
	return c, nil
}

// v1CallerAnd is v1Caller plus the integer id in path parameter name.
func v1CallerAnd(r *http.Request, name string) (social.Caller, int64, error) {
	c, err := v1Caller(r)
	if err != nil {
		return social.Caller{}, 0, err
	}
	num, err := numParam(r, name)
	return c, num, err
}

func numParam(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v < 1 {
		return 0, apperr.InvalidField(name, "%s must be a positive whole number", name)
	}
	return v, nil
}

type v1Message struct {
	Message string `json:"message"`
}

// v1User is a user as v1 shows one.
type v1User struct {
	ClientUserID string `json:"client_user_id"`
	DisplayName  string `json:"display_name"`
}

func v1UserOf(u social.User) v1User { return v1User{ClientUserID: u.ID, DisplayName: u.Name} }

type v1Pagination struct {
	CurrentPage int `json:"current_page"`
	TotalPages  int `json:"total_pages"`
	TotalItems  int `json:"total_items"`
	PerPage     int `json:"per_page"`
}

func v1PaginationOf(p social.Page, total int) v1Pagination {
	return v1Pagination{CurrentPage: p.Offset/p.Limit + 1, TotalPages: (total + p.Limit - 1) / p.Limit, TotalItems: total, PerPage: p.Limit}
}

func (a *API) v1Request(w http.ResponseWriter, r *http.Request) error {
	c, err := v1Caller(r)
	if err != nil {
		return err
	}
	var in struct {
		ReceiverID string `json:"receiver_id"`
		Message    string `json:"message"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	conn, _, err := a.svc.RequestConnection(r.Context(), c, social.ConnectionRequest{To: in.ReceiverID, Message: in.Message})
	if err != nil {
		return apperr.RenameField(err, social.FieldOtherUser, "receiver_id")
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "Connection request sent successfully", "id": conn.Num})
	return nil
}

func (a *API) v1Accept(w http.ResponseWriter, r *http.Request) error {
	return a.v1Answer(w, r, a.svc.AcceptConnection, "Connection request accepted successfully")
}

func (a *API) v1Decline(w http.ResponseWriter, r *http.Request) error {
	return a.v1Answer(w, r, a.svc.DeclineConnection, "Connection request declined successfully")
}

func (a *API) v1Answer(w http.ResponseWriter, r *http.Request,
	answer func(ctx context.Context, c social.Caller, ref social.ConnectionRef) (social.Connection, error), done string) error {
	c, num, err := v1CallerAnd(r, "request_id")
	if err != nil {
		return err
	}
	if _, err := answer(r.Context(), c, social.ByNum(num)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1Message{done})
	return nil
}

func (a *API) v1Remove(w http.ResponseWriter, r *http.Request) error {
	c, num, err := v1CallerAnd(r, "connection_id")
	if err != nil {
		return err
	}
	if err := a.svc.RemoveConnection(r.Context(), c, social.ByNum(num)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1Message{"Connection removed successfully"})
	return nil
}

// v1Request is a request in the sent and received lists.
type v1RequestItem struct {
	ID          int64     `json:"id"`
	User        v1User    `json:"user"`
	Status      string    `json:"status"`
	Message     string    `json:"message"`
	CreatedAt   wire.Time `json:"created_at"`
	RespondedAt wire.Time `json:"responded_at"`
}

func (a *API) v1Sent(w http.ResponseWriter, r *http.Request) error {
	return a.v1Requests(w, r, "sent")
}

func (a *API) v1Received(w http.ResponseWriter, r *http.Request) error {
	return a.v1Requests(w, r, "received")
}

func (a *API) v1Requests(w http.ResponseWriter, r *http.Request, role string) error {
	c, err := v1Caller(r)
	if err != nil {
		return err
	}
	p, err := pageParams(r, "per_page", V1DefaultPerPage, V1MaxPerPage)
	if err != nil {
		return err
	}
	q := social.ConnectionQuery{Role: role}
	switch s := r.URL.Query().Get("status"); s {
	case "", "all":
	case social.ConnectionPending, social.ConnectionAccepted, social.ConnectionDeclined:
		q.Statuses = []string{s}
	default:
		return apperr.InvalidField("status", "status must be pending, accepted, declined or all")
	}
	conns, total, err := a.svc.Connections(r.Context(), c, q, p)
	if err != nil {
		return err
	}
	items := make([]v1RequestItem, len(conns))
	for i, conn := range conns {
		items[i] = v1RequestItem{ID: conn.Num, User: v1UserOf(conn.Other(c.UserID)), Status: conn.Status,
			Message: conn.Message, CreatedAt: conn.CreatedAt, RespondedAt: conn.RespondedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": items, "pagination": v1PaginationOf(p, total)})
	return nil
}

type v1ActiveItem struct {
	ID             int64     `json:"id"`
	ConnectedUser  v1User    `json:"connected_user"`
	ConnectedSince wire.Time `json:"connected_since"`
}

func (a *API) v1Active(w http.ResponseWriter, r *http.Request) error {
	c, err := v1Caller(r)
	if err != nil {
		return err
	}
	p, err := pageParams(r, "per_page", V1DefaultPerPage, V1MaxPerPage)
	if err != nil {
		return err
	}
	conns, total, err := a.svc.Connections(r.Context(), c, social.ConnectionQuery{Statuses: []string{social.ConnectionAccepted}}, p)
	if err != nil {
		return err
	}
	items := make([]v1ActiveItem, len(conns))
	for i, conn := range conns {
		items[i] = v1ActiveItem{ID: conn.Num, ConnectedUser: v1UserOf(conn.Other(c.UserID)), ConnectedSince: conn.AcceptedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": items, "pagination": v1PaginationOf(p, total)})
	return nil
}

// v1NotificationTypes maps stored notification types to v1's.
var v1NotificationTypes = map[string]string{
	social.NotifyConnectionRequest:  "new_request",
	social.NotifyConnectionAccepted: "request_accepted",
	social.NotifyConnectionDeclined: "request_declined",
}

type v1NotificationItem struct {
	ID                  int64     `json:"id"`
	Type                string    `json:"type"`
	ConnectionRequestID *int64    `json:"connection_request_id"`
	OtherUser           *v1User   `json:"other_user"`
	Message             string    `json:"message"`
	Timestamp           wire.Time `json:"timestamp"`
	Read                bool      `json:"read"`
}

func (a *API) v1Notifications(w http.ResponseWriter, r *http.Request) error {
	c, err := v1Caller(r)
	if err != nil {
		return err
	}
	p, err := pageParams(r, "per_page", V1DefaultPerPage, V1MaxPerPage)
	if err != nil {
		return err
	}
	list, err := a.svc.Notifications(r.Context(), c, social.NotificationQuery{Types: social.ConnectionNotificationTypes(), WithDismissed: true}, p)
	if err != nil {
		return err
	}
	items := make([]v1NotificationItem, len(list.Items))
	for i, n := range list.Items {
		items[i] = v1NotificationItem{ID: n.Num, Type: v1NotificationTypes[n.Type], Message: n.Message, Timestamp: n.CreatedAt, Read: n.Read}
		if num, ok := list.SubjectNums[n.Subject]; ok {
			items[i].ConnectionRequestID = &num
		}
		if u, ok := list.Actors[n.Actor]; ok {
			v := v1UserOf(u)
			items[i].OtherUser = &v
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": items, "unread_count": list.Unread, "pagination": v1PaginationOf(p, list.Total)})
	return nil
}

func (a *API) v1ReadNotification(w http.ResponseWriter, r *http.Request) error {
	c, num, err := v1CallerAnd(r, "notification_id")
	if err != nil {
		return err
	}
	if _, err := a.svc.ReadNotification(r.Context(), c, social.NotificationRef{Num: num, Types: social.ConnectionNotificationTypes()}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v1Message{"Notification marked as read"})
	return nil
}
