package social

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// Data export (GDPR articles 15 and 20): one JSON document of everything
// the caller has here, streamed.
//
//	{"format": "vibesync-export/1", "exportedAt", "profile", "sessions",
//	 "connections", "following", "followers", "blocked", "chats",
//	 "messages", "requests", "notifications"}
//
// Every list is read in pages (ExportPage items, each page its own short
// read transaction) and written out before the next is read, so memory
// stays bounded whatever the user's history; a long export never holds a
// database snapshot open. A write committed while the export runs may
// or may not be in it. Entities have their REST shapes; "messages" are
// the caller's own messages in every chat, oldest id first.

// ExportFormat names the document's layout; it changes if the layout does.
const ExportFormat = "vibesync-export/1"

// ExportPage is how many items an export reads at once.
const ExportPage = 100

// Export is a data export that passed its checks and may be written.
type Export struct {
	s       *Service
	c       Caller
	profile User
	created time.Time
	at      time.Time
}

// StartExport reads the caller's profile. Nothing is written yet, so a
// transport can still answer an error normally. Transports budget
// exports (REST: ratelimit.Set.Export).
func (s *Service) StartExport(ctx context.Context, c Caller) (*Export, error) {
	if err := ValidID(FieldUserID, c.UserID); err != nil {
		return nil, err
	}
	// One read of the user: the profile (as Me shows it, with the status)
	// and the creation time the profile does not carry.
	var u User
	var row store.User
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		if row, err = visibleUser(ctx, tx, c.UserID, c.UserID); err != nil {
			return err
		}
		us, err := withStatuses(ctx, tx, []store.User{row})
		if err != nil {
			return err
		}
		u = us[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Export{s: s, c: c, profile: u, created: row.CreatedAt, at: s.db.Now()}, nil
}

// Filename is a download name for the export.
func (e *Export) Filename() string {
	return "vibesync-export-" + e.profile.Username + "-" + e.at.UTC().Format("2006-01-02") + ".json"
}

// WriteTo writes the export document to w. An error after some bytes were
// written leaves the document truncated (not valid JSON): the transport
// must make the reader see a failure, not a short file.
func (e *Export) WriteTo(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	j := &jsonStream{w: bw}
	j.raw(`{"format":`)
	j.value(ExportFormat)
	j.raw(`,"exportedAt":`)
	j.value(wire.T(e.at))
	j.raw(`,"profile":`)
	j.value(struct {
		User
		CreatedAt wire.Time `json:"createdAt"`
	}{e.profile, wire.T(e.created)})
	sessions, err := e.s.Sessions(ctx, e.c.UserID, "")
	if err != nil {
		return err
	}
	j.raw(`,"sessions":`)
	j.value(sessions)
	s, c := e.s, e.c
	sections := []struct {
		name string
		page func(p Page) ([]any, error)
	}{
		{"connections", func(p Page) ([]any, error) {
			l, _, err := s.Connections(ctx, c, ConnectionQuery{}, p)
			return anys(l), err
		}},
		{"following", func(p Page) ([]any, error) { l, _, err := s.Following(ctx, c, p); return anys(l), err }},
		{"followers", func(p Page) ([]any, error) { l, _, err := s.Followers(ctx, c, p); return anys(l), err }},
		{"blocked", func(p Page) ([]any, error) { l, _, err := s.BlockedUsers(ctx, c, p); return anys(l), err }},
		{"chats", func(p Page) ([]any, error) { l, _, err := s.Chats(ctx, c, ChatFilter{}, p); return anys(l), err }},
	}
	for _, sec := range sections {
		if err := j.pagedOffset(sec.name, sec.page); err != nil {
			return err
		}
	}
	if err := e.messages(ctx, j); err != nil {
		return err
	}
	more := []struct {
		name string
		page func(p Page) ([]any, error)
	}{
		{"requests", func(p Page) ([]any, error) { l, _, err := s.Requests(ctx, c, RequestFilter{}, p); return anys(l), err }},
		{"notifications", func(p Page) ([]any, error) {
			l, err := s.Notifications(ctx, c, NotificationQuery{WithDismissed: true}, p)
			return anys(l.Items), err
		}},
	}
	for _, sec := range more {
		if err := j.pagedOffset(sec.name, sec.page); err != nil {
			return err
		}
	}
	j.raw("}\n")
	if j.err != nil {
		return j.err
	}
	return bw.Flush()
}

// messages writes the caller's messages, by id, a keyset page at a time.
func (e *Export) messages(ctx context.Context, j *jsonStream) error {
	me := UserRef{ID: e.profile.ID, Name: e.profile.Name, Username: e.profile.Username, Photo: e.profile.Photo, Populated: true}
	j.raw(`,"messages":[`)
	after, n := "", 0
	for {
		var page []store.Message
		err := e.s.db.Read(ctx, func(tx *store.Tx) (err error) {
			page, err = tx.MessagesBy(ctx, e.c.UserID, after, ExportPage)
			return err
		})
		if err != nil {
			return err
		}
		for _, m := range page {
			row, err := messageFrom(m, me)
			if err != nil {
				return err
			}
			if n > 0 {
				j.raw(",")
			}
			j.value(row)
			n++
		}
		if j.err != nil {
			return j.err
		}
		if len(page) < ExportPage {
			break
		}
		after = page[len(page)-1].ID
	}
	j.raw("]")
	return j.err
}

// jsonStream writes JSON pieces, keeping the first error.
type jsonStream struct {
	w   *bufio.Writer
	err error
}

func (j *jsonStream) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

func (j *jsonStream) value(v any) {
	if j.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		j.err = fmt.Errorf("social: export: encode %T: %w", v, err)
		return
	}
	_, j.err = j.w.Write(b)
}

// pagedOffset writes `,"name":[...]` reading pages until one comes back
// short.
func (j *jsonStream) pagedOffset(name string, page func(Page) ([]any, error)) error {
	j.raw(`,"` + name + `":[`)
	for off := 0; ; off += ExportPage {
		items, err := page(Page{Offset: off, Limit: ExportPage})
		if err != nil {
			return err
		}
		for i, it := range items {
			if off+i > 0 {
				j.raw(",")
			}
			j.value(it)
		}
		if j.err != nil {
			return j.err
		}
		if len(items) < ExportPage {
			break
		}
	}
	j.raw("]")
	return j.err
}

func anys[T any](l []T) []any {
	out := make([]any, len(l))
	for i := range l {
		out[i] = l[i]
	}
	return out
}
