package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Status is the replica's sync status, as an app shows it (in the spirit
// of PowerSync's SyncStatus): online or not, what is being uploaded and
// downloaded, when it last synced and what went wrong last, plus the
// replica's bookkeeping.
type Status struct {
	UserID   string
	ClientID string
	// Online: the last Sync reached the server (false before the first
	// one, and after one that found it unreachable).
	Online bool
	// Uploading: a push is in progress. Outbox mutations are queued and not
	// yet acknowledged; Awaiting were applied and wait for a pull to show
	// the server's version.
	Uploading bool
	Outbox    int
	Awaiting  int
	// Downloading: a pull is in progress; Received of its Total changes
	// have arrived (Total is the server's count at the pull's first page).
	Downloading bool
	Received    int64
	Total       int64
	// LastSync is when the last Sync succeeded (zero: never).
	LastSync time.Time
	// LastError is what the last Sync failed with ("" if it succeeded).
	LastError string
	// Rejections is how many rejected mutations are kept (see Rejections).
	Rejections int
	Cursor     int64
	Buckets    []string
	Rows       int
}

// progress is the part of Status only the process syncing knows.
type progress struct {
	mu          sync.Mutex
	uploading   bool
	downloading bool
	received    int64
	total       int64
}

func (c *Client) setProgress(ctx context.Context, fn func(p *progress)) {
	c.prog.mu.Lock()
	fn(&c.prog)
	c.prog.mu.Unlock()
	c.notify(ctx)
}

// notify tells Options.OnStatus the current status.
func (c *Client) notify(ctx context.Context) {
	if c.opts.OnStatus == nil {
		return
	}
	st, err := c.Status(context.WithoutCancel(ctx))
	if err != nil {
		c.opts.Log.Warn("client: status", "err", err)
		return
	}
	c.opts.OnStatus(st)
}

// Status reports the sync status and the replica's bookkeeping. Another
// process sharing the data folder sees what was persisted (online, last
// sync, last error, queue sizes), not this one's progress.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	s.UserID = c.UserID(ctx)
	var err error
	if s.ClientID, err = getMeta(ctx, c.db, "client_id"); err != nil {
		return s, err
	}
	if s.Cursor, err = getMetaInt(ctx, c.db, "cursor"); err != nil {
		return s, err
	}
	if err := getMetaJSON(ctx, c.db, "buckets", &s.Buckets); err != nil {
		return s, err
	}
	var last string
	if last, err = getMeta(ctx, c.db, "last_sync"); err != nil {
		return s, err
	} else if last != "" {
		s.LastSync, _ = time.Parse(time.RFC3339Nano, last)
	}
	var online string
	if online, err = getMeta(ctx, c.db, "online"); err != nil {
		return s, err
	}
	s.Online = online == "1"
	if s.LastError, err = getMeta(ctx, c.db, "last_error"); err != nil {
		return s, err
	}
	err = c.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL),
		(SELECT COUNT(*) FROM outbox WHERE acked_at IS NOT NULL),
		(SELECT COUNT(*) FROM rejections),
		(SELECT COUNT(*) FROM rows)`).Scan(&s.Outbox, &s.Awaiting, &s.Rejections, &s.Rows)
	c.prog.mu.Lock()
	s.Uploading, s.Downloading, s.Received, s.Total = c.prog.uploading, c.prog.downloading, c.prog.received, c.prog.total
	c.prog.mu.Unlock()
	return s, err
}

// recordOutcome persists what a Sync ended with: whether it reached the
// server and its error.
func (c *Client) recordOutcome(ctx context.Context, err error) {
	ctx = context.WithoutCancel(ctx)
	online, msg := "1", ""
	if err != nil {
		msg = err.Error()
		if errors.Is(err, ErrOffline) {
			online = "0"
		}
	}
	if e := setMeta(ctx, c.db, "online", online); e != nil {
		c.opts.Log.Warn("client: record sync outcome", "err", e)
	}
	if e := setMeta(ctx, c.db, "last_error", msg); e != nil {
		c.opts.Log.Warn("client: record sync outcome", "err", e)
	}
}

// Arrival is one change a pull brought, for display.
type Arrival struct {
	Bucket  string
	Entity  string // "message", "connection", "chat", …
	ID      string
	Deleted bool
	// Summary is one line about it, e.g. `@bob: see you at noon`.
	Summary string
}

// maxArrivals bounds SyncResult.Arrived; Pulled counts them all.
const maxArrivals = 100

// summarize is a one-line description of a replicated row.
func summarize(entity string, data []byte) string {
	var v struct {
		Name     string          `json:"name"`
		Username string          `json:"username"`
		Text     string          `json:"text"`
		Status   json.RawMessage `json:"status"`
		Type     string          `json:"type"`
		Message  string          `json:"message"`
		User     User            `json:"user"`
		From     User            `json:"from"`
		To       User            `json:"to"`
		Chat     string          `json:"chat"`
	}
	_ = json.Unmarshal(data, &v) // a row that does not fit shows less
	at := func(u User) string {
		if u.Username != "" {
			return "@" + u.Username
		}
		if u.ID != "" {
			return u.ID
		}
		return "?"
	}
	line := ""
	switch entity {
	case "message":
		line = fmt.Sprintf("%s: %s", at(v.User), v.Text)
	case "connection":
		var status string
		_ = json.Unmarshal(v.Status, &status)
		line = fmt.Sprintf("%s → %s: %s", at(v.From), at(v.To), status)
	case "chat":
		line = v.Name
	case "participant":
		line = fmt.Sprintf("%s in chat %s", at(v.User), v.Chat)
	case "user":
		line = fmt.Sprintf("%s (@%s)", v.Name, v.Username)
	case "notification":
		line = strings.TrimSpace(v.Type + " " + v.Message)
	case "request":
		var status string
		_ = json.Unmarshal(v.Status, &status)
		line = fmt.Sprintf("%s asks to join chat %s: %s", at(v.User), v.Chat, status)
	}
	line = strings.Join(strings.Fields(line), " ")
	if r := []rune(line); len(r) > 80 {
		line = string(r[:79]) + "…"
	}
	return line
}
