package social

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/vibesync/vibesync/server/store"
)

// ParticipantList is a chat's participants as GET /chats shows them at
// one members_version: built once and shared, never modified, by every
// answer while the version holds. Presence is not part of it: a view
// pairs it with the isOnline of each participant (ChatView.Online).
type ParticipantList struct {
	Items []Participant // users populated as the list shows them, IsOnline false

	once    sync.Once
	encoded any
}

// Encoded returns what encode makes of the list's items: it runs once per
// list, on first use, and its result is kept with the list and shared by
// every later answer while the chat's members_version holds. It is where
// a transport keeps its wire form of a list (REST's GET /chats writes the
// participants' JSON once per list); there is one slot, for one encoding.
func (l *ParticipantList) Encoded(encode func([]Participant) any) any {
	l.once.Do(func() { l.encoded = encode(l.Items) })
	return l.encoded
}

// Expanded returns v with its participants as Participants, for callers
// that encode views with encoding/json: the same participants, presence
// included, that Members and Online stand for.
func (v ChatView) Expanded() ChatView {
	if v.Members == nil {
		return v
	}
	parts := make([]Participant, len(v.Members.Items))
	copy(parts, v.Members.Items)
	for i := range parts {
		parts[i].User.IsOnline = parts[i].User.Populated && i < len(v.Online) && v.Online[i]
	}
	v.Participants, v.Members, v.Online = parts, nil, nil
	return v
}

// chatMembers is what the chat list keeps of a chat at one
// members_version: the participants as answers show them, their JSON, and
// the participants' presence as last read.
//
// The list's items are all the chat list keeps per participant, and their
// strings share one allocation per chat: a server keeps thousands of
// chats of up to hundreds of participants, and the garbage collector
// visits every object it keeps on each cycle (with one object per string,
// a cache of 100-member chats cost the collector more than the answers
// themselves).
type chatMembers struct {
	list     *ParticipantList
	presence atomic.Pointer[chatPresence]
}

// chatPresence is whether each participant (aligned with the list's
// items) was online, read at a time at a presence generation of this
// process.
type chatPresence struct {
	online []bool
	at     time.Time
	gen    int64
}

func newChatMembers(people []store.ParticipantPerson) *chatMembers {
	// Every string of the items, copied into one buffer, then cut from
	// one string made of it.
	size := 0
	for _, p := range people {
		size += len(p.ID) + len(p.UserID) + len(p.Status)
		if p.User != nil {
			size += len(p.User.Name) + len(p.User.Username) + len(p.User.Photo)
		}
	}
	buf := make([]byte, 0, size)
	type span struct{ at, n int }
	put := func(s string) span {
		sp := span{len(buf), len(s)}
		buf = append(buf, s...)
		return sp
	}
	spans := make([]span, 0, 6*len(people))
	for _, p := range people {
		spans = append(spans, put(p.ID), put(p.UserID), put(p.Status))
		if p.User != nil {
			spans = append(spans, put(p.User.Name), put(p.User.Username), put(p.User.Photo))
		}
	}
	arena := string(buf)
	k := 0
	next := func() string {
		sp := spans[k]
		k++
		if sp.n == 0 {
			return ""
		}
		return arena[sp.at : sp.at+sp.n]
	}
	chat := ""
	if len(people) > 0 {
		chat = people[0].ChatID
	}
	items := make([]Participant, len(people))
	for i, p := range people {
		part := p.Participant
		part.ID, part.UserID, part.Status = next(), next(), next()
		if p.ChatID == chat {
			part.ChatID = chat
		}
		u := UserRef{ID: part.UserID}
		if p.User != nil {
			u = UserRef{ID: part.UserID, Name: next(), Username: next(), Photo: next(), Populated: true}
		}
		items[i] = participantFrom(part, u)
	}
	return &chatMembers{list: &ParticipantList{Items: items}}
}
