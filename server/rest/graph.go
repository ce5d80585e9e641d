package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
)

func (a *API) follow(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.FollowUser(r.Context(), caller(r), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"following": true})
	return nil
}

func (a *API) unfollow(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.UnfollowUser(r.Context(), caller(r), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"following": false})
	return nil
}

func (a *API) block(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.BlockUser(r.Context(), caller(r), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"blocked": true})
	return nil
}

func (a *API) unblock(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.UnblockUser(r.Context(), caller(r), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"blocked": false})
	return nil
}

func (a *API) following(w http.ResponseWriter, r *http.Request) error {
	return a.userList(w, r, a.svc.Following)
}

func (a *API) followers(w http.ResponseWriter, r *http.Request) error {
	return a.userList(w, r, a.svc.Followers)
}

func (a *API) blocked(w http.ResponseWriter, r *http.Request) error {
	return a.userList(w, r, a.svc.BlockedUsers)
}

// userList answers {users, count} for one page of a graph list.
func (a *API) userList(w http.ResponseWriter, r *http.Request,
	list func(ctx context.Context, c social.Caller, p social.Page) ([]social.User, int, error)) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	users, total, err := list(r.Context(), caller(r), p)
	if err != nil {
		return err
	}
	if users == nil {
		users = []social.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "count": total})
	return nil
}

func (a *API) putStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Text            string  `json:"text"`
		ExpiresAt       *string `json:"expiresAt"`
		DurationMinutes *int    `json:"durationMinutes"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	var exp *time.Time
	if in.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *in.ExpiresAt)
		if err != nil {
			return apperr.InvalidField("expiresAt", "expiresAt must be an RFC 3339 time such as 2025-09-10T09:55:18.000Z")
		}
		exp = &t
	}
	st, err := a.svc.SetStatus(r.Context(), caller(r), social.StatusInput{Text: in.Text, ExpiresAt: exp, DurationMinutes: in.DurationMinutes})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": st})
	return nil
}

func (a *API) deleteStatus(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.ClearStatus(r.Context(), caller(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
