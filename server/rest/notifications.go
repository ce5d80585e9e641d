package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/social"
)

// GET /notifications?page&limit&unread=true answers {notifications, count,
// unreadCount}: dismissed notifications (requests already answered), and
// those caused by a user hidden by a block, are left out; count matches
// the filter, unreadCount is over all of them.
func (a *API) listNotifications(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	unread, err := boolParam(r, "unread")
	if err != nil {
		return err
	}
	list, err := a.svc.Notifications(r.Context(), caller(r), social.NotificationQuery{UnreadOnly: unread != nil && *unread}, p)
	if err != nil {
		return err
	}
	items := list.Items
	if items == nil {
		items = []social.Notification{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": items, "count": list.Total, "unreadCount": list.Unread})
	return nil
}

func (a *API) readNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := a.svc.ReadNotification(r.Context(), caller(r), social.NotificationRef{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"notification": n})
	return nil
}

func (a *API) readAllNotifications(w http.ResponseWriter, r *http.Request) error {
	n, err := a.svc.ReadAllNotifications(r.Context(), caller(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"updated": n})
	return nil
}

// GET /users/:id/score answers {score, actions}: the total and one page
// (limit/page) of the actions behind it, newest first. "me" is the caller.
func (a *API) userScore(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == "me" {
		id = caller(r).UserID
	}
	sc, err := a.svc.UserScore(r.Context(), caller(r), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}
