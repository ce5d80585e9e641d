package rest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/wire"
)

// appendChatViewsJSON appends the JSON array of views to b: the same
// document encoding/json makes of them (same fields, order, omissions and
// values; of their Expanded form when they carry Members), written
// without reflection. Chat lists are the largest read
// answers (a page of 10 group chats carries hundreds of populated users),
// so GET /chats writes them this way. The rare parts (explore's reels and
// requests, message files) go through encoding/json.
func appendChatViewsJSON(b []byte, views []social.ChatView) ([]byte, error) {
	if views == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range views {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendChatView(b, &views[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func appendChatView(b []byte, v *social.ChatView) ([]byte, error) {
	c := &v.Chat
	b = append(b, `{"_id":`...)
	b = appendString(b, c.ID)
	b = append(b, `,"creator":`...)
	b = appendUserRef(b, &c.Creator)
	b = append(b, `,"isGroup":`...)
	b = strconv.AppendBool(b, c.IsGroup)
	if c.Category != "" {
		b = append(b, `,"category":`...)
		b = appendString(b, c.Category)
	}
	b = append(b, `,"name":`...)
	b = appendString(b, c.Name)
	if c.Photo != "" {
		b = append(b, `,"photo":`...)
		b = appendString(b, c.Photo)
	}
	b = append(b, `,"allowPublicPost":`...)
	b = strconv.AppendBool(b, c.AllowPublicPost)
	b = append(b, `,"restricted":`...)
	b = strconv.AppendBool(b, c.Restricted)
	b = append(b, `,"tags":`...)
	if c.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, t := range c.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"tag":`...)
			b = appendString(b, t.Tag)
			b = append(b, `,"label":`...)
			b = appendString(b, t.Label)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if c.MeetMe != "" {
		b = append(b, `,"meetMe":`...)
		b = appendString(b, c.MeetMe)
	}
	if e := c.Event; e != nil {
		b = append(b, `,"event":{"_id":`...)
		b = appendString(b, e.ID)
		b = append(b, `,"startsAt":`...)
		b = appendTime(b, e.StartsAt)
		b = append(b, `,"endsAt":`...)
		b = appendTime(b, e.EndsAt)
		if e.Location != "" {
			b = append(b, `,"location":`...)
			b = appendString(b, e.Location)
		}
		b = append(b, `,"isActive":`...)
		b = strconv.AppendBool(b, e.IsActive)
		b = append(b, '}')
	}
	if m := v.Members; m != nil {
		if len(m.Items) > 0 {
			b = append(b, `,"participants":`...)
			b = appendParticipants(b, m, v.Online)
		}
	} else if len(c.Participants) > 0 {
		b = append(b, `,"participants":[`...)
		for i := range c.Participants {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendParticipant(b, &c.Participants[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"createdAt":`...)
	b = appendTime(b, c.CreatedAt)
	b = append(b, `,"updatedAt":`...)
	b = appendTime(b, c.UpdatedAt)
	if v.User != nil {
		b = append(b, `,"user":`...)
		b = appendUserRef(b, v.User)
	}
	b = append(b, `,"lastMessage":`...)
	if m := v.LastMessage; m == nil {
		b = append(b, "null"...)
	} else {
		var err error
		if b, err = appendMessage(b, m); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"unread":`...)
	b = strconv.AppendInt(b, int64(v.Unread), 10)
	b = append(b, `,"isJoined":`...)
	b = strconv.AppendBool(b, v.IsJoined)
	b = append(b, `,"areYouAdmin":`...)
	b = strconv.AppendBool(b, v.AreYouAdmin)
	b = append(b, `,"participantsCount":`...)
	b = strconv.AppendInt(b, int64(v.ParticipantsCount), 10)
	var err error
	if v.Reels != nil {
		b = append(b, `,"reels":`...)
		if b, err = appendMarshal(b, v.Reels); err != nil {
			return nil, err
		}
	}
	if v.ReelsCount != nil {
		b = append(b, `,"reelsCount":`...)
		b = strconv.AppendInt(b, int64(*v.ReelsCount), 10)
	}
	if v.Request != nil {
		b = append(b, `,"request":`...)
		if b, err = appendMarshal(b, v.Request); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// participantsTemplate is the JSON array of a participant list's items,
// written once per list (kept with it: social.ParticipantList.Encoded),
// with a hole where each populated user's isOnline goes.
type participantsTemplate struct {
	buf   []byte
	holes []int // offset in buf of each hole (where "false" was)
	items []int // the item each hole belongs to
}

const onlineHole = `"isOnline":false`

// appendParticipants appends the JSON array of l's items, each populated
// user's isOnline taken from online (aligned with the items; nil: none
// online): what appendParticipant writes for each item with IsOnline so
// set. The array without the isOnline values is written once per list and
// copied after that.
func appendParticipants(b []byte, l *social.ParticipantList, online []bool) []byte {
	t := l.Encoded(newParticipantsTemplate).(*participantsTemplate)
	prev := 0
	for k, at := range t.holes {
		b = append(b, t.buf[prev:at]...)
		if i := t.items[k]; i < len(online) && online[i] {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
		prev = at + len("false")
	}
	return append(b, t.buf[prev:]...)
}

func newParticipantsTemplate(items []social.Participant) any {
	t := &participantsTemplate{buf: []byte{'['}}
	for i := range items {
		if i > 0 {
			t.buf = append(t.buf, ',')
		}
		p := items[i]
		p.User.IsOnline = false
		start := len(t.buf)
		t.buf = appendParticipant(t.buf, &p)
		if p.User.Populated {
			// Strings are escaped (a quote inside one is \"), so the
			// pattern occurs once: in the user object.
			if k := bytes.LastIndex(t.buf[start:], []byte(onlineHole)); k >= 0 {
				t.holes = append(t.holes, start+k+len(onlineHole)-len("false"))
				t.items = append(t.items, i)
			}
		}
	}
	t.buf = append(t.buf, ']')
	return t
}

func appendParticipant(b []byte, p *social.Participant) []byte {
	b = append(b, `{"_id":`...)
	b = appendString(b, p.ID)
	if p.Chat != "" {
		b = append(b, `,"chat":`...)
		b = appendString(b, p.Chat)
	}
	b = append(b, `,"user":`...)
	b = appendUserRef(b, &p.User)
	if p.IsAdmin {
		b = append(b, `,"isAdmin":true`...)
	}
	if p.Status != "" {
		b = append(b, `,"status":`...)
		b = appendString(b, p.Status)
	}
	b = append(b, `,"lastReadAt":`...)
	b = appendTime(b, p.LastReadAt)
	return append(b, '}')
}

func appendMessage(b []byte, m *social.Message) ([]byte, error) {
	b = append(b, `{"_id":`...)
	b = appendString(b, m.ID)
	b = append(b, `,"user":`...)
	b = appendUserRef(b, &m.User)
	b = append(b, `,"chat":`...)
	b = appendString(b, m.Chat)
	if m.Text != "" {
		b = append(b, `,"text":`...)
		b = appendString(b, m.Text)
	}
	if m.Tag != "" {
		b = append(b, `,"tag":`...)
		b = appendString(b, m.Tag)
	}
	b = append(b, `,"files":`...)
	switch {
	case m.Files == nil:
		b = append(b, "null"...)
	case len(m.Files) == 0:
		b = append(b, "[]"...)
	default:
		var err error
		if b, err = appendMarshal(b, m.Files); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"at":`...)
	b = appendTime(b, m.At)
	return append(b, '}'), nil
}

func appendUserRef(b []byte, u *social.UserRef) []byte {
	if !u.Populated {
		return appendString(b, u.ID)
	}
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
	b = append(b, `,"isOnline":`...)
	b = strconv.AppendBool(b, u.IsOnline)
	return append(b, '}')
}

// appendMarshal appends the encoding/json form of v.
func appendMarshal(b []byte, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

func appendTime(b []byte, t wire.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, wire.TimeLayout)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json writes it
// with HTML escaping off: control characters, quotes and backslashes
// escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
