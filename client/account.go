package client

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// ErrAccountDeleted: the account was deleted (from this device or
// another). The replica, the outbox and the session are wiped; queued
// mutations are reported rejected with reason "account_deleted". It also
// matches ErrSessionEnded, so loops that stop on an ended session stop.
var ErrAccountDeleted = errors.New("client: the account has been deleted")

// Session is one login of the user, as the server lists them.
type Session struct {
	ID         string    `json:"_id"`
	Client     string    `json:"client"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	Current    bool      `json:"current"` // this replica's own session
}

// authed calls a REST endpoint with a valid access token; a 401 costs one
// refresh and one retry.
func (c *Client) authed(ctx context.Context, method, path string, in, out any) error {
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return err
	}
	err = c.rest(ctx, method, path, tok, in, out)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusUnauthorized {
		if tok, err = c.accessToken(ctx, tok); err != nil {
			return err
		}
		err = c.rest(ctx, method, path, tok, in, out)
	}
	return err
}

// ChangePassword sets a new password (online only). The user's other
// sessions end; this replica's stays.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	return c.authed(ctx, "POST", "/auth/password", map[string]string{"currentPassword": current, "newPassword": next}, nil)
}

// Sessions lists the user's logins, most recently used first (online only).
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	var out struct {
		Sessions []Session `json:"sessions"`
	}
	err := c.authed(ctx, "GET", "/auth/sessions", nil, &out)
	return out.Sessions, err
}

// EndSession ends one of the user's sessions (a lost phone's), online only.
func (c *Client) EndSession(ctx context.Context, id string) error {
	return c.authed(ctx, "DELETE", "/auth/sessions/"+url.PathEscape(id), nil, nil)
}

// EndOtherSessions ends every session of the user but this replica's and
// returns how many ended.
func (c *Client) EndOtherSessions(ctx context.Context) (int, error) {
	var out struct {
		Ended int `json:"ended"`
	}
	err := c.authed(ctx, "DELETE", "/auth/sessions", nil, &out)
	return out.Ended, err
}

// DeleteAccount deletes the user's account (online only; the password is
// checked by the server). On success the replica is wiped as for
// ErrAccountDeleted and nil is returned.
func (c *Client) DeleteAccount(ctx context.Context, password string) error {
	if err := c.authed(ctx, "DELETE", "/users/me", map[string]string{"password": password}, nil); err != nil {
		return err
	}
	return c.forgetAccount(ctx)
}

// Export streams the user's data archive (JSON) into w and returns the
// number of bytes written. Online only; the server limits how often.
func (c *Client) Export(ctx context.Context, w io.Writer) (int64, error) {
	get := func(tok string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", c.opts.Server+"/users/me/export", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := c.stream.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrOffline, err)
		}
		return res, nil
	}
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return 0, err
	}
	res, err := get(tok)
	if err == nil && res.StatusCode == http.StatusUnauthorized {
		res.Body.Close()
		if tok, err = c.accessToken(ctx, tok); err != nil {
			return 0, err
		}
		res, err = get(tok)
	}
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, apiError(res)
	}
	return io.Copy(w, res.Body)
}

// forgetAccount wipes the replica, the outbox and the session of a
// deleted account, reporting each queued mutation as rejected with reason
// account_deleted (they were never applied: the server refuses every
// request of a deleted account).
func (c *Client) forgetAccount(ctx context.Context) error {
	var rejected []Rejection
	ctx = context.WithoutCancel(ctx)
	err := c.tx(ctx, func(tx *sql.Tx) error {
		rejected = rejected[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id, kind FROM outbox WHERE acked_at IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			r := Rejection{Code: "unauthenticated", Reason: syncv1.ReasonAccountDeleted, Message: "This account has been deleted", At: c.opts.Now().UTC()}
			if err := rows.Scan(&r.MutationID, &r.Kind); err != nil {
				rows.Close()
				return err
			}
			rejected = append(rejected, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := wipe(ctx, tx, true); err != nil {
			return err
		}
		for _, r := range rejected {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO rejections (mutation_id, kind, code, reason, message, field, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				r.MutationID, r.Kind, r.Code, r.Reason, r.Message, r.Field, r.At.UnixMilli()); err != nil {
				return err
			}
		}
		if err := setMeta(ctx, tx, "refresh_lease", "0"); err != nil {
			return err
		}
		return setMetaJSON(ctx, tx, "session", session{})
	})
	if err != nil {
		return fmt.Errorf("client: wipe deleted account: %w", err)
	}
	for _, r := range rejected {
		if c.opts.OnRejected != nil {
			c.opts.OnRejected(r)
		}
	}
	return nil
}

// apiError reads an error answer of the REST API from res.
func apiError(res *http.Response) error {
	e := &APIError{Status: res.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if json.Unmarshal(data, e) != nil || e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}
