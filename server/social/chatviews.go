package social

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// UserRef is a user as other documents mention them: populated (an object
// with _id, name, username, photo and isOnline) in read answers and in
// replicated rows (there a snapshot of the profile at the time of the
// write, isOnline always false: presence is live, not replicated; replicas
// prefer the user's own `user` row, see profiles.go), or just the id
// string in write answers, as the spec's examples show them.
type UserRef struct {
	ID       string
	Name     string
	Username string
	Photo    string
	IsOnline bool
	// Populated selects the object form.
	Populated bool
}

type userRefObject struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Photo    string `json:"photo,omitempty"`
	IsOnline bool   `json:"isOnline"`
}

// MarshalJSON writes the object form when populated, the id otherwise.
func (u UserRef) MarshalJSON() ([]byte, error) {
	if !u.Populated {
		return json.Marshal(u.ID)
	}
	return json.Marshal(userRefObject{ID: u.ID, Name: u.Name, Username: u.Username, Photo: u.Photo, IsOnline: u.IsOnline})
}

// UnmarshalJSON accepts either form.
func (u *UserRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*u = UserRef{}
		return json.Unmarshal(b, &u.ID)
	}
	var o userRefObject
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*u = UserRef{ID: o.ID, Name: o.Name, Username: o.Username, Photo: o.Photo, IsOnline: o.IsOnline, Populated: true}
	return nil
}

func ref(id string) UserRef { return UserRef{ID: id} }

// people resolves user ids to populated refs for one answer: one users
// query (and, for read answers, one presence query) whatever the number
// of ids.
type people struct {
	users  map[string]store.User
	online map[string]bool
}

// loadPeople resolves ids without presence: for replicated rows (a
// snapshot of the profile, isOnline false: presence is live, not
// replicated) and write answers.
func (s *Service) loadPeople(ctx context.Context, tx *store.Tx, ids []string) (people, error) {
	return s.resolvePeople(ctx, tx, ids, false)
}

// loadPeopleOnline resolves ids with isOnline from live presence, inside
// the answer's transaction: for read answers.
func (s *Service) loadPeopleOnline(ctx context.Context, tx *store.Tx, ids []string) (people, error) {
	return s.resolvePeople(ctx, tx, ids, true)
}

func (s *Service) resolvePeople(ctx context.Context, tx *store.Tx, ids []string, presence bool) (people, error) {
	seen := make(map[string]bool, len(ids))
	uniq := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	users, err := tx.UsersByID(ctx, uniq)
	if err != nil {
		return people{}, err
	}
	online := map[string]bool{}
	if presence {
		if online, err = tx.Online(ctx, uniq); err != nil {
			return people{}, err
		}
	}
	return people{users: users, online: online}, nil
}

// personRef returns the populated ref of id (without presence), from ppl
// when it holds them.
func (s *Service) personRef(ctx context.Context, tx *store.Tx, ppl *people, id string) (UserRef, error) {
	if ppl != nil {
		if _, ok := ppl.users[id]; ok {
			return ppl.ref(id), nil
		}
	}
	one, err := s.loadPeople(ctx, tx, []string{id})
	if err != nil {
		return UserRef{}, err
	}
	return one.ref(id), nil
}

// ref returns the populated ref of id (just the id for an unknown user).
func (p people) ref(id string) UserRef {
	u, ok := p.users[id]
	if !ok {
		return UserRef{ID: id}
	}
	return UserRef{ID: u.ID, Name: u.Name, Username: u.Username, Photo: u.Photo, IsOnline: p.online[id], Populated: true}
}

// Tag is one of a group chat's file tags.
type Tag struct {
	Tag   string `json:"tag"`
	Label string `json:"label"`
}

// Event is the event an Event-category group chat carries. It is active
// from StartsAt (inclusive) to EndsAt (exclusive).
type Event struct {
	ID       string    `json:"_id"`
	StartsAt wire.Time `json:"startsAt"`
	EndsAt   wire.Time `json:"endsAt"`
	Location string    `json:"location,omitempty"`
	IsActive bool      `json:"isActive"`
}

// Participant is a member of a chat.
type Participant struct {
	ID         string    `json:"_id"`
	Chat       string    `json:"chat,omitempty"`
	User       UserRef   `json:"user"`
	IsAdmin    bool      `json:"isAdmin,omitempty"`
	Status     string    `json:"status,omitempty"`
	LastReadAt wire.Time `json:"lastReadAt"`
}

// Chat is a chat in the API's write-answer form: users as ids.
type Chat struct {
	ID              string        `json:"_id"`
	Creator         UserRef       `json:"creator"`
	IsGroup         bool          `json:"isGroup"`
	Category        string        `json:"category,omitempty"`
	Name            string        `json:"name"`
	Photo           string        `json:"photo,omitempty"`
	AllowPublicPost bool          `json:"allowPublicPost"`
	Restricted      bool          `json:"restricted"`
	Tags            []Tag         `json:"tags"`
	MeetMe          string        `json:"meetMe,omitempty"`
	Event           *Event        `json:"event,omitempty"`
	Participants    []Participant `json:"participants,omitempty"`
	CreatedAt       wire.Time     `json:"createdAt"`
	UpdatedAt       wire.Time     `json:"updatedAt"`
}

// ChatView is a chat as one viewer reads it: users populated, the other
// user of a one-to-one chat, the newest message, the viewer's unread count
// and role. Explore answers add reels and the viewer's pending request.
type ChatView struct {
	Chat
	User              *UserRef     `json:"user,omitempty"`
	LastMessage       *Message     `json:"lastMessage"`
	Unread            int          `json:"unread"`
	IsJoined          bool         `json:"isJoined"`
	AreYouAdmin       bool         `json:"areYouAdmin"`
	ParticipantsCount int          `json:"participantsCount"`
	Reels             []Reel       `json:"reels,omitzero"`
	ReelsCount        *int         `json:"reelsCount,omitempty"`
	Request           *JoinRequest `json:"request,omitempty"`
	// Members and Online stand for Participants in GET /chats answers
	// (ListChats): the chat's participants as shared between answers, and
	// whether each is online (aligned with Members.Items). Expanded turns
	// them into Participants.
	Members *ParticipantList `json:"-"`
	Online  []bool           `json:"-"`
}

// File is one file of a message.
type File struct {
	ID    string          `json:"_id"`
	URL   string          `json:"url"`
	Cover string          `json:"cover,omitempty"`
	Meta  json.RawMessage `json:"meta,omitempty"`
}

// Message is a chat message.
type Message struct {
	ID    string    `json:"_id"`
	User  UserRef   `json:"user"`
	Chat  string    `json:"chat"`
	Text  string    `json:"text,omitempty"`
	Tag   string    `json:"tag,omitempty"`
	Files []File    `json:"files"`
	At    wire.Time `json:"at"`
}

// ChatFile is a file as GET /chats/:id/files lists it.
type ChatFile struct {
	ID      string    `json:"_id"`
	User    string    `json:"user"`
	Chat    string    `json:"chat"`
	At      wire.Time `json:"at"`
	Message string    `json:"message"`
	Type    string    `json:"type"`
	Tag     string    `json:"tag"`
	File    File      `json:"file"`
}

// Membership is the row in a user's bucket that says they take part in a
// chat; its tombstone says they left.
type Membership struct {
	Chat        string `json:"chat"`
	Participant string `json:"participant"`
	IsAdmin     bool   `json:"isAdmin"`
	Status      string `json:"status,omitempty"`
}

// Feed entity names of chats.
const (
	EntityChat        = "chat"
	EntityParticipant = "participant"
	EntityMessage     = "message"
	EntityFile        = "file"
	EntityMembership  = "membership"
)

func (s *Service) mediaURL(key string) string {
	if key == "" {
		return ""
	}
	return s.media.URL(key)
}

func decodeTags(raw string) []Tag {
	tags := []Tag{}
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &tags) // written by encode; a bad row shows no tags rather than failing the list
	}
	return tags
}

func eventFrom(e store.ChatEvent, now interface{ UnixMilli() int64 }) *Event {
	n := now.UnixMilli()
	return &Event{
		ID: e.ID, StartsAt: wire.T(e.StartsAt), EndsAt: wire.T(e.EndsAt), Location: e.Location,
		IsActive: e.StartsAt.UnixMilli() <= n && n < e.EndsAt.UnixMilli(),
	}
}

func participantFrom(p store.Participant, u UserRef) Participant {
	return Participant{ID: p.ID, Chat: p.ChatID, User: u, IsAdmin: p.IsAdmin, Status: p.Status, LastReadAt: wire.T(p.LastReadAt)}
}

// chatFrom is the write-answer form of c (the replicated row when parts is nil).
func (s *Service) chatFrom(c store.Chat, ev *store.ChatEvent, parts []store.Participant, now interface{ UnixMilli() int64 }) Chat {
	out := Chat{
		ID: c.ID, Creator: ref(c.CreatorID), IsGroup: c.IsGroup, Category: c.Category, Name: c.Name, Photo: s.mediaURL(c.Photo),
		AllowPublicPost: c.AllowPublicPost, Restricted: c.Restricted, Tags: decodeTags(c.Tags), MeetMe: c.MeetMeID,
		CreatedAt: wire.T(c.CreatedAt), UpdatedAt: wire.T(c.UpdatedAt),
	}
	if ev != nil {
		out.Event = eventFrom(*ev, now)
	}
	for _, p := range parts {
		out.Participants = append(out.Participants, participantFrom(p, ref(p.UserID)))
	}
	return out
}

func messageFrom(m store.Message, u UserRef) (Message, error) {
	out := Message{ID: m.ID, User: u, Chat: m.ChatID, Text: m.Text, Tag: m.Tag, At: wire.T(m.CreatedAt), Files: []File{}}
	if err := json.Unmarshal([]byte(m.Files), &out.Files); err != nil {
		return Message{}, fmt.Errorf("social: decode files of message %s: %w", m.ID, err)
	}
	return out, nil
}

// viewOpts selects the extras of chatViews.
type viewOpts struct {
	populate   bool // participants' users as objects (the creator always is)
	reelsLimit int  // explore: reels per chat (0: no reels)
	explore    bool // explore: reels, reelsCount and the viewer's pending request
}

// chatViews renders chats for viewer with a fixed number of queries per
// call, whatever the number of chats: participants, events, last messages,
// unread counts and users each come in one query (explore adds reels,
// reel counts, reactions and requests, one query each).
func (s *Service) chatViews(ctx context.Context, tx *store.Tx, viewer string, chats []store.Chat, o viewOpts) ([]ChatView, error) {
	out := make([]ChatView, 0, len(chats))
	if len(chats) == 0 {
		return out, nil
	}
	ids := make([]string, len(chats))
	for i, c := range chats {
		ids[i] = c.ID
	}
	parts, err := tx.ParticipantsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	events, err := tx.EventsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	last, err := tx.LastMessages(ctx, ids)
	if err != nil {
		return nil, err
	}
	unread, err := tx.UnreadCounts(ctx, viewer, ids)
	if err != nil {
		return nil, err
	}
	var reels map[string][]Reel
	var reelCounts map[string]int
	var requests map[string]store.JoinRequest
	if o.explore {
		if reels, reelCounts, err = s.reelsOf(ctx, tx, viewer, ids, o.reelsLimit); err != nil {
			return nil, err
		}
		if requests, err = tx.PendingRequestsOf(ctx, viewer, ids); err != nil {
			return nil, err
		}
	}
	userIDs := []string{viewer}
	for _, c := range chats {
		userIDs = append(userIDs, c.CreatorID)
		for _, p := range parts[c.ID] {
			userIDs = append(userIDs, p.UserID)
		}
		if m, ok := last[c.ID]; ok {
			userIDs = append(userIDs, m.UserID)
		}
	}
	ppl, err := s.loadPeopleOnline(ctx, tx, userIDs)
	if err != nil {
		return nil, err
	}
	x := chatExtras{parts: parts, events: events, last: last, unread: unread, ppl: ppl,
		reels: reels, reelCounts: reelCounts, requests: requests}
	return s.renderChatViews(viewer, chats, x, o, tx.Now)
}

// chatExtras is what chatViews shows beside each chat, keyed by chat id.
type chatExtras struct {
	parts      map[string][]store.Participant
	events     map[string]store.ChatEvent
	last       map[string]store.Message
	unread     map[string]int
	ppl        people
	reels      map[string][]Reel
	reelCounts map[string]int
	requests   map[string]store.JoinRequest
}

// renderChatViews builds the views of chats from what was loaded for them.
func (s *Service) renderChatViews(viewer string, chats []store.Chat, x chatExtras, o viewOpts, now interface{ UnixMilli() int64 }) ([]ChatView, error) {
	out := make([]ChatView, 0, len(chats))
	parts, events, last, unread, ppl := x.parts, x.events, x.last, x.unread, x.ppl
	reels, reelCounts, requests := x.reels, x.reelCounts, x.requests
	userRef := func(id string) UserRef {
		if o.populate {
			return ppl.ref(id)
		}
		return ref(id)
	}
	for _, c := range chats {
		var ev *store.ChatEvent
		if e, ok := events[c.ID]; ok {
			ev = &e
		}
		v := ChatView{Chat: s.chatFrom(c, ev, nil, now), Unread: unread[c.ID], ParticipantsCount: len(parts[c.ID])}
		// Every read answer of the spec shows the creator populated, even
		// explore, whose participants are ids.
		v.Creator = ppl.ref(c.CreatorID)
		v.Participants = []Participant{}
		for _, p := range parts[c.ID] {
			v.Participants = append(v.Participants, participantFrom(p, userRef(p.UserID)))
			if p.UserID == viewer {
				v.IsJoined, v.AreYouAdmin = true, p.IsAdmin
			} else if !c.IsGroup {
				u := ppl.ref(p.UserID)
				v.User, v.Name, v.Photo = &u, u.Name, u.Photo
			}
		}
		if m, ok := last[c.ID]; ok {
			msg, err := messageFrom(m, ppl.ref(m.UserID))
			if err != nil {
				return nil, err
			}
			v.LastMessage = &msg
		}
		if o.explore {
			v.Reels = reels[c.ID]
			if v.Reels == nil {
				v.Reels = []Reel{}
			}
			n := reelCounts[c.ID]
			v.ReelsCount = &n
			if r, ok := requests[c.ID]; ok {
				jr := requestFrom(r)
				v.Request = &jr
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// chatListViews reads one page of the caller's chat list and renders it
// as chatViews does with populate set, the participants as Members and
// Online (see ChatView). Whatever the page size, it runs one statement
// when what it keeps in memory is current (the list, see store.ChatList),
// and at most one more for each of: the rows and events of the chats
// whose card_version is not cached; the participants with their profiles
// of the chats whose members_version is not cached; the message
// summaries of the chats whose messages_version is not cached (two); the
// unread counts of viewers whose read mark is older than a summary's
// window; creators and newest messages' authors who are not
// participants; the presence of people not seen within PresenceCacheTTL
// (see chatlistcache.go). presenceGen is the store's PresenceGeneration
// read before tx's snapshot began.
func (s *Service) chatListViews(ctx context.Context, tx *store.Tx, f store.ChatFilter, presenceGen int64) ([]ChatView, int, error) {
	rows, total, err := tx.ChatList(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	if len(rows) == 0 {
		return []ChatView{}, total, nil
	}
	cards := make([]*store.ChatCard, len(rows))
	members := make([]*chatMembers, len(rows))
	sums := make([]*store.MessageSummary, len(rows))
	var missCards, miss, missSums []string
	for i, r := range rows {
		if card, ok := s.cards.get(r.ID, r.CardVersion); ok {
			cards[i] = card
		} else {
			missCards = append(missCards, r.ID)
		}
		if cm, ok := s.members.get(r.ID, r.MembersVersion); ok {
			members[i] = cm
		} else {
			miss = append(miss, r.ID)
		}
		if sum, ok := s.summaries.get(r.ID, r.MessagesVersion); ok {
			sums[i] = sum
		} else {
			missSums = append(missSums, r.ID)
		}
	}
	if len(missCards) > 0 {
		got, err := tx.ChatCards(ctx, missCards)
		if err != nil {
			return nil, 0, err
		}
		for i, r := range rows {
			if card, ok := got[r.ID]; ok && cards[i] == nil {
				cards[i] = &card
				s.cards.put(r.ID, r.CardVersion, cards[i])
			}
		}
		for i, r := range rows {
			if cards[i] == nil { // same snapshot: every listed chat has its row
				return nil, 0, fmt.Errorf("social: chat list: chat %s has no row", r.ID)
			}
		}
	}
	if len(miss) > 0 {
		got, err := tx.ChatMembers(ctx, miss)
		if err != nil {
			return nil, 0, err
		}
		for i, r := range rows {
			if members[i] == nil {
				members[i] = newChatMembers(got[r.ID])
				s.members.put(r.ID, r.MembersVersion, members[i])
			}
		}
	}
	if len(missSums) > 0 {
		got, err := tx.MessageSummaries(ctx, missSums, summaryWindow)
		if err != nil {
			return nil, 0, err
		}
		for i, r := range rows {
			if sum, ok := got[r.ID]; ok && sums[i] == nil {
				sums[i] = sum
				s.summaries.put(r.ID, r.MessagesVersion, sum)
			}
		}
	}
	unread := make([]int, len(rows))
	var count []string // chats whose unread count the summary cannot tell
	for i, r := range rows {
		n, ok := sums[i].Unread(f.UserID, r.LastReadAt.UnixMilli())
		if !ok {
			count = append(count, r.ID)
		}
		unread[i] = n
	}
	if len(count) > 0 {
		got, err := tx.UnreadCounts(ctx, f.UserID, count)
		if err != nil {
			return nil, 0, err
		}
		for i, r := range rows {
			if n, ok := got[r.ID]; ok {
				unread[i] = n
			}
		}
	}
	// People shown outside the participants: creators and newest
	// messages' authors. They are most often participants, whose profiles
	// the participants brought; others are read.
	ppl := people{users: make(map[string]store.User, 2*len(rows)), online: make(map[string]bool, 2*len(rows))}
	var others []string
	find := func(i int, id string) {
		for j := range members[i].list.Items {
			if u := &members[i].list.Items[j].User; u.ID == id {
				if u.Populated {
					ppl.users[id] = store.User{ID: u.ID, Name: u.Name, Username: u.Username, Photo: u.Photo}
				}
				return
			}
		}
		if !slices.Contains(others, id) {
			others = append(others, id)
		}
	}
	for i := range rows {
		find(i, cards[i].Chat.CreatorID)
		if m := sums[i].Last; m != nil {
			find(i, m.UserID)
		}
	}
	if len(others) > 0 {
		got, err := tx.People(ctx, others)
		if err != nil {
			return nil, 0, err
		}
		for _, p := range got {
			ppl.users[p.ID] = store.User{ID: p.ID, Name: p.Name, Username: p.Username, Photo: p.Photo}
		}
	}
	online, err := s.listPresence(ctx, tx, members, ppl, presenceGen)
	if err != nil {
		return nil, 0, err
	}
	out := make([]ChatView, len(rows))
	for i, r := range rows {
		c, cm := cards[i].Chat, members[i]
		c.LastActivityAt = r.LastActivityAt
		v := ChatView{Chat: s.chatFrom(c, cards[i].Event, nil, tx.Now), Unread: unread[i], ParticipantsCount: len(cm.list.Items),
			Members: cm.list, Online: online[i]}
		v.Creator = ppl.ref(c.CreatorID)
		for j := range cm.list.Items {
			if p := &cm.list.Items[j]; p.User.ID == f.UserID {
				v.IsJoined, v.AreYouAdmin = true, p.IsAdmin
			} else if !c.IsGroup {
				u := p.User
				u.IsOnline = u.Populated && online[i][j]
				v.User, v.Name, v.Photo = &u, u.Name, u.Photo
			}
		}
		if m := sums[i].Last; m != nil {
			msg, err := messageFrom(*m, ppl.ref(m.UserID))
			if err != nil {
				return nil, 0, err
			}
			v.LastMessage = &msg
		}
		out[i] = v
	}
	return out, total, nil
}

// listPresence fills ppl.online for its users and returns, per chat of
// members, whether each participant is online: a chat's answer is kept
// with its members and used again while it is as fresh as the
// presence cache's entries would be (same generation, within
// PresenceCacheTTL of the oldest entry it was made from). One query at
// most, for the users not seen within PresenceCacheTTL.
func (s *Service) listPresence(ctx context.Context, tx *store.Tx, members []*chatMembers, ppl people, gen int64) ([][]bool, error) {
	now := tx.Now
	out := make([][]bool, len(members))
	ids := make([]string, 0, len(ppl.users))
	for id := range ppl.users {
		ids = append(ids, id)
	}
	var stale []int
	for i, cm := range members {
		if p := cm.presence.Load(); p != nil && p.gen == gen && !now.Before(p.at) && now.Sub(p.at) < PresenceCacheTTL {
			out[i] = p.online
			continue
		}
		stale = append(stale, i)
		for _, p := range cm.list.Items {
			if p.User.Populated {
				ids = append(ids, p.User.ID)
			}
		}
	}
	online := ppl.online
	oldest, err := s.presence.online(ctx, tx, ids, now, gen, online)
	if err != nil {
		return nil, err
	}
	for _, i := range stale {
		cm := members[i]
		on := make([]bool, len(cm.list.Items))
		for j, p := range cm.list.Items {
			on[j] = online[p.User.ID]
		}
		cm.presence.Store(&chatPresence{online: on, at: oldest, gen: gen})
		out[i] = on
	}
	return out, nil
}
