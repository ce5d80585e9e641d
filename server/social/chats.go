package social

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// Chats: one-to-one and group chats, their participants and settings.
//
// Where the documented API is loose, these are the decisions:
//
//   - A one-to-one chat needs `user`; `meetMe` is optional. When given it
//     must be an accepted connection between the caller and `user`, made in
//     answer to a meet-me status that still exists (not expired) and belongs
//     to one of the two. Such chats are the "meet me" chats of meetMeOnly.
//   - Blocking: a one-to-one chat with someone either side blocks cannot be
//     created (404 user_not_found, as if they did not exist), and nobody can
//     post in one while a block stands (403 blocked).
//   - A group needs `name`, `category` and the `participants` field (an
//     empty list is allowed: a group may start with only its creator).
//     `tags` ([{tag, label}]) and `allowPublicPost` (default true) are
//     accepted too. Category `Event` needs `event {startsAt, endsAt,
//     location?}`; other categories may not carry one.
//   - Operations that only make sense on a group answer 409 not_group_chat
//     on a one-to-one chat; a caller who is not a participant gets 403
//     not_participant, a participant who is not an admin 403 not_admin.
//   - :participantId in the participant routes is the participant's `_id`
//     or the participant's user id; both work.
//   - Write answers (POST, PUT) show users as ids, as the spec's examples
//     do; read answers populate them. The event is always an object
//     {_id, startsAt, endsAt, location, isActive}.
//   - GET /chats orders by latest activity (newest message, or creation).
//   - POST /chats/:id/read answers 200 {participant}.

// Chat categories with rules of their own.
const (
	CategoryEvent   = "Event"
	CategoryCourses = "Courses"
)

// Limits on chat fields.
const (
	MaxChatNameLen     = wire.MaxChatNameLen
	MaxCategoryLen     = wire.MaxCategoryLen
	MaxTags            = 20
	MaxGroupInvitees   = wire.MaxGroupInvitees
	TrendingWindow     = 7 * 24 * time.Hour
	MinExploreSearch   = 3
	MaxSearchLen       = 100
	chatNotFoundReason = "chat_not_found"
)

// Live events of chats.
const (
	EventChatCreated            = "chat-created"
	EventChatUpdated            = "chat-updated"
	EventChatDeleted            = "chat-deleted"
	EventChatJoined             = "chat-joined"
	EventChatParticipantRemoved = "chat-participant-removed"
	EventChatAccessRemoved      = "chat-access-removed"
	EventChatAdminGranted       = "chat-admin-access-granted"
	EventChatAdminRemoved       = "chat-admin-access-removed"
	EventParticipantStatus      = "chat-participant-status"
	EventMessageCreated         = "message-created"
)

// NewEvent is the event given when creating an Event chat.
type NewEvent struct {
	StartsAt wire.Time
	EndsAt   wire.Time
	Location string
}

// NewChat is the input of CreateChat.
type NewChat struct {
	// ID is a client-proposed id (optional; see proposed.go): kept when
	// nothing uses it, 409 id_taken otherwise. For a pair that already has
	// its one-to-one chat, it becomes an alias of that chat for the caller.
	ID      string
	IsGroup bool
	// One-to-one.
	User   string
	MeetMe string
	// Group.
	Name            string
	Category        string
	Participants    *[]string
	Restricted      *bool
	AllowPublicPost *bool
	Tags            []Tag
	Event           *NewEvent
}

// CreateChat creates a chat with its participants and tells each of them
// (and the caller's other devices) with chat-created. A one-to-one chat
// that already exists for the pair is returned with created=false.
func (s *Service) CreateChat(ctx context.Context, c Caller, in NewChat) (out Chat, created bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, created, err = s.createChat(ctx, tx, c, in)
		return err
	})
	return out, created, err
}

func (s *Service) createChat(ctx context.Context, tx *store.Tx, c Caller, in NewChat) (Chat, bool, error) {
	if err := c.valid(); err != nil {
		return Chat{}, false, err
	}
	if in.IsGroup {
		return s.createGroup(ctx, tx, c, in)
	}
	return s.createDirect(ctx, tx, c, in)
}

func (s *Service) createDirect(ctx context.Context, tx *store.Tx, c Caller, in NewChat) (Chat, bool, error) {
	if in.User == "" {
		return Chat{}, false, apperr.InvalidField("user", "user is required for a one-to-one chat")
	}
	if err := ValidID("user", in.User); err != nil {
		return Chat{}, false, err
	}
	if in.User == c.UserID {
		return Chat{}, false, apperr.InvalidField("user", "user cannot be yourself")
	}
	if in.MeetMe != "" {
		if err := ValidID("meetMe", in.MeetMe); err != nil {
			return Chat{}, false, err
		}
	}
	var out Chat
	created := false
	other, err := tx.User(ctx, in.User)
	if err != nil {
		return out, created, err
	}
	if !other.DeletedAt.IsZero() {
		return out, created, apperr.NotFoundf("user_not_found", "User not found")
	}
	if blocked, err := tx.Blocked(ctx, c.UserID, in.User); err != nil {
		return out, created, err
	} else if blocked {
		return out, created, apperr.NotFoundf("user_not_found", "User not found")
	}
	pair := store.PairKey(c.UserID, in.User)
	if in.MeetMe != "" {
		link, err := tx.MeetMeLinkByID(ctx, in.MeetMe)
		if err != nil {
			return out, created, err
		}
		if link.PairKey != pair {
			return out, created, apperr.NotFoundf("connection_not_found", "Connection not found")
		}
		if link.Status != "accepted" {
			return out, created, apperr.Conflictf("connection_not_accepted", "The connection is not accepted")
		}
		if link.StatusID == "" {
			return out, created, apperr.Conflictf("not_meet_me", "The connection was not made through a meet-me status")
		}
		owner, err := tx.LiveStatusOwner(ctx, link.StatusID)
		if err != nil {
			return out, created, err
		}
		if owner != c.UserID && owner != in.User {
			return out, created, apperr.NotFoundf("status_not_found", "Meet-me status not found")
		}
	}
	existing, err := tx.ChatByPair(ctx, pair)
	switch {
	case err == nil:
		if err = s.aliasPairChat(ctx, tx, c, in.ID, existing.ID); err == nil {
			out, err = s.chatWithParts(ctx, tx, existing)
		}
	case apperr.Is(err, apperr.NotFound):
		var id string
		if id, err = newChatID(ctx, tx, in.ID); err != nil {
			return Chat{}, false, err
		}
		ch := store.Chat{ID: id, CreatorID: c.UserID, MeetMeID: in.MeetMe, PairKey: pair, AllowPublicPost: true,
			LastActivityAt: tx.Now, CreatedAt: tx.Now, UpdatedAt: tx.Now}
		out, err = s.insertChat(ctx, tx, c, ch, nil, []string{in.User})
		created = true
	}
	if err != nil {
		return Chat{}, false, err
	}
	// The answer names the chat after the other user, as reads do.
	out.Name, out.Photo = other.Name, other.Photo
	return out, created, nil
}

func validChatName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", apperr.InvalidField("name", "name is required for a group chat")
	}
	if utf8.RuneCountInString(name) > MaxChatNameLen {
		return "", apperr.InvalidField("name", "name must be at most %d characters", MaxChatNameLen)
	}
	return name, nil
}

func validCategory(cat string) (string, error) {
	cat = strings.TrimSpace(cat)
	if cat == "" {
		return "", apperr.InvalidField("category", "category is required for a group chat")
	}
	if utf8.RuneCountInString(cat) > MaxCategoryLen {
		return "", apperr.InvalidField("category", "category must be at most %d characters", MaxCategoryLen)
	}
	return cat, nil
}

func validTags(tags []Tag) ([]Tag, error) {
	if len(tags) > MaxTags {
		return nil, apperr.InvalidField("tags", "at most %d tags", MaxTags)
	}
	out := make([]Tag, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		t.Tag, t.Label = strings.TrimSpace(t.Tag), strings.TrimSpace(t.Label)
		if t.Tag == "" || t.Label == "" || len(t.Tag) > MaxCategoryLen || utf8.RuneCountInString(t.Label) > MaxChatNameLen {
			return nil, apperr.InvalidField("tags", "each tag needs a tag (at most %d bytes) and a label (at most %d characters)", MaxCategoryLen, MaxChatNameLen)
		}
		if t.Tag == DefaultFileTag || seen[t.Tag] {
			return nil, apperr.InvalidField("tags", "tag %q is reserved or repeated", t.Tag)
		}
		seen[t.Tag] = true
		out = append(out, t)
	}
	return out, nil
}

func validInvitees(field string, ids []string, self string) ([]string, error) {
	if len(ids) > MaxGroupInvitees {
		return nil, apperr.InvalidField(field, "at most %d participants at once", MaxGroupInvitees)
	}
	var out []string
	for _, id := range ids {
		if err := ValidID(field, id); err != nil {
			return nil, err
		}
		if id != self && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// checkReachable answers 403 participant_not_allowed unless every id is a
// user the caller follows or is connected to (and no block stands).
func checkReachable(ctx context.Context, tx *store.Tx, caller string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ok, err := tx.Reachable(ctx, caller, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !ok[id] {
			return apperr.Forbiddenf("participant_not_allowed", "Participants must be people you follow or are connected with")
		}
	}
	return nil
}

// newChatID is a new chat's id: the proposed one if nothing uses it.
func newChatID(ctx context.Context, tx *store.Tx, proposed string) (string, error) {
	return newID(tx, FieldChatID, proposed, func() (bool, error) { return tx.ChatIDUsed(ctx, proposed) })
}

// aliasPairChat makes the caller's proposed id for a pair's one-to-one
// chat an alias of the pair's existing chat. Nothing to do without a
// proposed id, or when it is the chat's id or already the caller's alias
// of it; an id used otherwise is 409 id_taken.
func (s *Service) aliasPairChat(ctx context.Context, tx *store.Tx, c Caller, proposed, chatID string) error {
	if proposed == "" || proposed == chatID {
		return nil
	}
	if err := ValidID(FieldChatID, proposed); err != nil {
		return err
	}
	if target, user, err := tx.ChatAlias(ctx, proposed); err != nil {
		return err
	} else if target == chatID && user == c.UserID {
		return nil
	}
	used, err := tx.ChatIDUsed(ctx, proposed)
	if err != nil {
		return err
	}
	if used {
		return idTaken(FieldChatID)
	}
	return tx.AddChatAlias(ctx, proposed, chatID, c.UserID)
}

func (s *Service) createGroup(ctx context.Context, tx *store.Tx, c Caller, in NewChat) (Chat, bool, error) {
	name, err := validChatName(in.Name)
	if err != nil {
		return Chat{}, false, err
	}
	cat, err := validCategory(in.Category)
	if err != nil {
		return Chat{}, false, err
	}
	if in.Participants == nil {
		return Chat{}, false, apperr.InvalidField("participants", "participants is required for a group chat")
	}
	invitees, err := validInvitees("participants", *in.Participants, c.UserID)
	if err != nil {
		return Chat{}, false, err
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return Chat{}, false, err
	}
	var ev *store.ChatEvent
	// An Event chat may come without its event (the spec's own example
	// creates one so); such a chat answers no_event where an event is
	// needed.
	switch {
	case cat != CategoryEvent && in.Event != nil:
		return Chat{}, false, apperr.InvalidField("event", "only an Event chat carries an event")
	case in.Event != nil:
		if in.Event.StartsAt.IsZero() || in.Event.EndsAt.IsZero() {
			return Chat{}, false, apperr.InvalidField("event", "event needs startsAt and endsAt")
		}
		if !in.Event.EndsAt.After(in.Event.StartsAt.Time) {
			return Chat{}, false, apperr.InvalidField("event", "event must end after it starts")
		}
		if utf8.RuneCountInString(in.Event.Location) > MaxChatNameLen*2 {
			return Chat{}, false, apperr.InvalidField("event", "event location must be at most %d characters", MaxChatNameLen*2)
		}
		ev = &store.ChatEvent{StartsAt: in.Event.StartsAt.Time, EndsAt: in.Event.EndsAt.Time, Location: strings.TrimSpace(in.Event.Location)}
	}
	restricted := in.Restricted != nil && *in.Restricted
	if cat == CategoryCourses {
		restricted = false
	}
	allow := !restricted // restricted groups take reels from members only, unless they say otherwise
	if in.AllowPublicPost != nil {
		allow = *in.AllowPublicPost
	}
	tagsJSON, err := encode(tags)
	if err != nil {
		return Chat{}, false, err
	}
	users, err := tx.UsersByID(ctx, invitees)
	if err != nil {
		return Chat{}, false, err
	}
	for _, id := range invitees {
		if _, ok := users[id]; !ok {
			return Chat{}, false, apperr.NotFoundf("user_not_found", "User %s not found", id)
		}
	}
	if err := checkReachable(ctx, tx, c.UserID, invitees); err != nil {
		return Chat{}, false, err
	}
	id, err := newChatID(ctx, tx, in.ID)
	if err != nil {
		return Chat{}, false, err
	}
	ch := store.Chat{ID: id, CreatorID: c.UserID, IsGroup: true, Name: name, Category: cat, Restricted: restricted,
		AllowPublicPost: allow, Tags: string(tagsJSON), LastActivityAt: tx.Now, CreatedAt: tx.Now, UpdatedAt: tx.Now}
	out, err := s.insertChat(ctx, tx, c, ch, ev, invitees)
	return out, err == nil, err
}

// insertChat writes a new chat with the caller (admin of a group) and the
// others as participants, the event if any, feed rows, chat-created to
// everyone and a push to the others of a group.
func (s *Service) insertChat(ctx context.Context, tx *store.Tx, c Caller, ch store.Chat, ev *store.ChatEvent, others []string) (Chat, error) {
	if err := tx.CreateChat(ctx, ch); err != nil {
		return Chat{}, err
	}
	if ev != nil {
		ev.ID, ev.ChatID, ev.CreatedAt = oid.NewAt(tx.Now), ch.ID, tx.Now
		if err := tx.CreateEvent(ctx, *ev); err != nil {
			return Chat{}, err
		}
	}
	everyone := append([]string{c.UserID}, others...)
	ppl, err := s.loadPeople(ctx, tx, everyone)
	if err != nil {
		return Chat{}, err
	}
	parts := make([]store.Participant, 0, len(everyone))
	for i, id := range everyone {
		p, err := s.addMember(ctx, tx, ch.ID, id, ch.IsGroup && i == 0, &ppl)
		if err != nil {
			return Chat{}, err
		}
		parts = append(parts, p)
	}
	row := s.chatFrom(ch, ev, nil, tx.Now)
	row.Creator = ppl.ref(ch.CreatorID)
	if err := put(ctx, tx, EntityChat, ch.ID, row, ChatBucket(ch.ID)); err != nil {
		return Chat{}, err
	}
	out := s.chatFrom(ch, ev, parts, tx.Now)
	targets := make([]string, len(parts))
	for i, p := range parts {
		targets[i] = UserBucket(p.UserID)
	}
	if err := emit(ctx, tx, c, EventChatCreated, out, targets...); err != nil {
		return Chat{}, err
	}
	if ch.IsGroup {
		if err := s.pushTo(ctx, tx, others, EventChatCreated, "New group", "You were added to "+ch.Name, map[string]string{"chat": ch.ID}); err != nil {
			return Chat{}, err
		}
	}
	return out, nil
}

// addMember makes user a participant of chat: the row, bucket membership,
// the user's profile in the chat's bucket (if not there yet), the
// participant's feed row and the membership row in the user's bucket.
// ppl may hold the user already (nil: looked up).
func (s *Service) addMember(ctx context.Context, tx *store.Tx, chatID, userID string, admin bool, ppl *people) (store.Participant, error) {
	p := store.Participant{ID: oid.NewAt(tx.Now), ChatID: chatID, UserID: userID, IsAdmin: admin, LastReadAt: tx.Now, JoinedAt: tx.Now}
	if err := tx.AddParticipant(ctx, p); err != nil {
		return store.Participant{}, err
	}
	if err := tx.AddBucketMember(ctx, ChatBucket(chatID), userID); err != nil {
		return store.Participant{}, err
	}
	if err := shareUser(ctx, tx, userID, ChatBucket(chatID)); err != nil {
		return store.Participant{}, err
	}
	return p, s.putMember(ctx, tx, p, ppl)
}

// putMember replicates p's current state to the chat and to its user. The
// replicated participant carries its user populated (a snapshot of the
// profile at the time of the write); ppl may hold that user already.
func (s *Service) putMember(ctx context.Context, tx *store.Tx, p store.Participant, ppl *people) error {
	u, err := s.personRef(ctx, tx, ppl, p.UserID)
	if err != nil {
		return err
	}
	if err := put(ctx, tx, EntityParticipant, p.ID, participantFrom(p, u), ChatBucket(p.ChatID)); err != nil {
		return err
	}
	return put(ctx, tx, EntityMembership, p.ChatID, Membership{Chat: p.ChatID, Participant: p.ID, IsAdmin: p.IsAdmin, Status: p.Status}, UserBucket(p.UserID))
}

// removeMember undoes addMember.
func (s *Service) removeMember(ctx context.Context, tx *store.Tx, p store.Participant) error {
	if err := tx.RemoveParticipant(ctx, p.ID); err != nil {
		return err
	}
	if err := tx.RemoveBucketMember(ctx, ChatBucket(p.ChatID), p.UserID); err != nil {
		return err
	}
	if err := drop(ctx, tx, EntityParticipant, p.ID, ChatBucket(p.ChatID)); err != nil {
		return err
	}
	return drop(ctx, tx, EntityMembership, p.ChatID, UserBucket(p.UserID))
}

func (s *Service) chatWithParts(ctx context.Context, tx *store.Tx, ch store.Chat) (Chat, error) {
	parts, err := tx.ParticipantsOf(ctx, []string{ch.ID})
	if err != nil {
		return Chat{}, err
	}
	events, err := tx.EventsOf(ctx, []string{ch.ID})
	if err != nil {
		return Chat{}, err
	}
	var ev *store.ChatEvent
	if e, ok := events[ch.ID]; ok {
		ev = &e
	}
	return s.chatFrom(ch, ev, parts[ch.ID], tx.Now), nil
}

// memberOf loads a chat and the caller's participant row: 404
// chat_not_found, or 403 not_participant.
func memberOf(ctx context.Context, tx *store.Tx, chatID, userID string) (store.Chat, store.Participant, error) {
	ch, err := tx.Chat(ctx, chatID)
	if err != nil {
		return store.Chat{}, store.Participant{}, err
	}
	p, err := tx.ParticipantOf(ctx, chatID, userID)
	if apperr.Is(err, apperr.NotFound) {
		return store.Chat{}, store.Participant{}, apperr.Forbiddenf("not_participant", "You are not a participant of this chat")
	}
	return ch, p, err
}

// adminOf is memberOf for group-admin operations: also 409 not_group_chat
// and 403 not_admin.
func adminOf(ctx context.Context, tx *store.Tx, chatID, userID string) (store.Chat, store.Participant, error) {
	ch, p, err := memberOf(ctx, tx, chatID, userID)
	if err != nil {
		return ch, p, err
	}
	if err := requireGroup(ch); err != nil {
		return ch, p, err
	}
	if !p.IsAdmin {
		return ch, p, apperr.Forbiddenf("not_admin", "Only an admin of this chat may do that")
	}
	return ch, p, nil
}

func requireGroup(ch store.Chat) error {
	if !ch.IsGroup {
		return apperr.Conflictf("not_group_chat", "This is not a group chat")
	}
	return nil
}

// MarkRead marks every message of the chat read for the caller.
func (s *Service) MarkRead(ctx context.Context, c Caller, chatID string) (Participant, error) {
	var out Participant
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.markRead(ctx, tx, c, chatID)
		return err
	})
	return out, err
}

func (s *Service) markRead(ctx context.Context, tx *store.Tx, c Caller, chatID string) (Participant, error) {
	if err := ValidID(FieldChatID, chatID); err != nil {
		return Participant{}, err
	}
	var out Participant
	_, p, err := memberOf(ctx, tx, chatID, c.UserID)
	if err != nil {
		return out, err
	}
	now, err := readTime(ctx, tx, chatID)
	if err != nil {
		return out, err
	}
	if err := tx.UpdateParticipant(ctx, p.ID, store.ParticipantUpdate{LastReadAt: &now}); err != nil {
		return out, err
	}
	p.LastReadAt = now
	out = participantFrom(p, ref(p.UserID))
	return out, s.putMember(ctx, tx, p, nil)
}
