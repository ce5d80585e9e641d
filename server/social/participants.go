package social

import (
	"context"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// Participants of group chats.
//
// Decisions where the documents are loose:
//   - Joining a restricted group directly is 403 chat_restricted (ask with
//     a join request instead).
//   - An empty participants list for POST /participants/multiple is 400;
//     when every listed user is already in the chat the answer is 201 with
//     an empty list.
//   - Removing the last admin (including leaving as the last admin) is 409
//     last_admin. Granting or revoking one's own admin access is 403
//     own_admin_access.
//   - Participant status (event chats) is `accepted` or `rejected`; the
//     participant gets a notification, a live event and a push.
//   - join-group-chat is scored once per user and chat, whether they
//     joined directly or by an accepted request: leaving and joining again
//     earns nothing.

// Notification type of event participation.
const NotificationParticipantStatus = "chat-participant-status"

// ChatJoined is the payload of chat-joined, whichever way people joined
// (by themselves, added by an admin, or by an accepted request): the chat
// and the new participants.
type ChatJoined struct {
	Chat         string        `json:"chat"`
	Participants []Participant `json:"participants"`
}

// Join adds the caller to an open group chat and scores join-group-chat.
func (s *Service) Join(ctx context.Context, c Caller, chatID string) (out Participant, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.join(ctx, tx, c, chatID)
		return err
	})
	return out, err
}

func (s *Service) join(ctx context.Context, tx *store.Tx, c Caller, chatID string) (Participant, error) {
	if err := c.valid(); err != nil {
		return Participant{}, err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return Participant{}, err
	}
	ch, err := tx.Chat(ctx, chatID)
	if err != nil {
		return Participant{}, err
	}
	if err := requireGroup(ch); err != nil {
		return Participant{}, err
	}
	if ch.Restricted {
		return Participant{}, apperr.Forbiddenf("chat_restricted", "This group is restricted: send a join request")
	}
	// Like a join request, joining crosses no block with an admin.
	admins, err := tx.ChatAdmins(ctx, chatID)
	if err != nil {
		return Participant{}, err
	}
	if err := notBlockedByAny(ctx, tx, c.UserID, admins); err != nil {
		return Participant{}, err
	}
	p, err := s.addMember(ctx, tx, chatID, c.UserID, false, nil)
	if err != nil {
		return Participant{}, err
	}
	out := participantFrom(p, ref(p.UserID))
	// The chat's audience includes the joiner (and their other devices).
	if err := emit(ctx, tx, c, EventChatJoined, ChatJoined{Chat: chatID, Participants: []Participant{out}}, ChatBucket(chatID)); err != nil {
		return Participant{}, err
	}
	_, err = addScoreOnce(ctx, tx, c, c.UserID, ActionJoinGroupChat, chatID)
	return out, err
}

// AddParticipants adds the listed users (people the admin follows or is
// connected to) who are not in the chat yet; each gets chat-joined live
// and by push.
func (s *Service) AddParticipants(ctx context.Context, c Caller, chatID string, ids []string) ([]Participant, error) {
	var out []Participant
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.addParticipants(ctx, tx, c, chatID, ids)
		return err
	})
	return out, err
}

func (s *Service) addParticipants(ctx context.Context, tx *store.Tx, c Caller, chatID string, ids []string) ([]Participant, error) {
	if err := c.valid(); err != nil {
		return nil, err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, apperr.InvalidField("participants", "participants must list at least one user")
	}
	invitees, err := validInvitees("participants", ids, c.UserID)
	if err != nil {
		return nil, err
	}
	out := []Participant{}
	ch, _, err := adminOf(ctx, tx, chatID, c.UserID)
	if err != nil {
		return out, err
	}
	ppl, err := s.loadPeople(ctx, tx, invitees)
	if err != nil {
		return out, err
	}
	for _, id := range invitees {
		if _, ok := ppl.users[id]; !ok {
			return out, apperr.NotFoundf("user_not_found", "User %s not found", id)
		}
	}
	if err := checkReachable(ctx, tx, c.UserID, invitees); err != nil {
		return out, err
	}
	parts, err := tx.ParticipantsOf(ctx, []string{chatID})
	if err != nil {
		return out, err
	}
	in := map[string]bool{}
	for _, p := range parts[chatID] {
		in[p.UserID] = true
	}
	var added []string
	for _, id := range invitees {
		if in[id] {
			continue
		}
		p, err := s.addMember(ctx, tx, chatID, id, false, &ppl)
		if err != nil {
			return out, err
		}
		out = append(out, participantFrom(p, ref(p.UserID)))
		added = append(added, id)
	}
	if len(added) == 0 {
		return out, nil
	}
	// The chat's audience now includes everyone added.
	if err := emit(ctx, tx, c, EventChatJoined, ChatJoined{Chat: chatID, Participants: out}, ChatBucket(chatID)); err != nil {
		return out, err
	}
	return out, s.pushTo(ctx, tx, added, EventChatJoined, "New group", "You were added to "+ch.Name, map[string]string{"chat": chatID})
}

// targetOf loads the participant ref names in chatID (404 participant_not_found).
func targetOf(ctx context.Context, tx *store.Tx, chatID, participantRef string) (store.Participant, error) {
	if participantRef == "" {
		return store.Participant{}, apperr.InvalidField(FieldParticipant, "%s is required", FieldParticipant)
	}
	return tx.ParticipantByRef(ctx, chatID, participantRef)
}

// RemoveParticipant removes a participant from a group: anyone may leave;
// removing someone else takes an admin. At least one admin always remains.
// The remaining participants get chat-participant-removed; someone removed
// by an admin gets chat-access-removed (live and by push).
func (s *Service) RemoveParticipant(ctx context.Context, c Caller, chatID, participantRef string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return s.removeParticipant(ctx, tx, c, chatID, participantRef) })
}

func (s *Service) removeParticipant(ctx context.Context, tx *store.Tx, c Caller, chatID, participantRef string) error {
	if err := c.valid(); err != nil {
		return err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return err
	}
	ch, me, err := memberOf(ctx, tx, chatID, c.UserID)
	if err != nil {
		return err
	}
	if err := requireGroup(ch); err != nil {
		return err
	}
	target, err := targetOf(ctx, tx, chatID, participantRef)
	if err != nil {
		return err
	}
	self := target.UserID == c.UserID
	if !self && !me.IsAdmin {
		return apperr.Forbiddenf("not_admin", "Only an admin of this chat may remove others")
	}
	if target.IsAdmin {
		n, err := tx.CountAdmins(ctx, chatID)
		if err != nil {
			return err
		}
		if n <= 1 {
			return apperr.Conflictf("last_admin", "A group needs at least one admin")
		}
	}
	if err := s.removeMember(ctx, tx, target); err != nil {
		return err
	}
	if target.IsAdmin {
		if err := s.shareRequests(ctx, tx, chatID, target.UserID, false); err != nil {
			return err
		}
	}
	// The chat's audience no longer includes the removed user; someone
	// who left hears it on their own bucket (their other devices).
	removed := participantFrom(target, ref(target.UserID))
	if err := emit(ctx, tx, c, EventChatParticipantRemoved, removed, ChatBucket(chatID)); err != nil {
		return err
	}
	if self {
		return emit(ctx, tx, c, EventChatParticipantRemoved, removed, UserBucket(c.UserID))
	}
	if err := emit(ctx, tx, c, EventChatAccessRemoved, map[string]string{"chat": chatID}, UserBucket(target.UserID)); err != nil {
		return err
	}
	return s.pushTo(ctx, tx, []string{target.UserID}, EventChatAccessRemoved, "Removed from group", "You were removed from "+ch.Name,
		map[string]string{"chat": chatID})
}

// SetAdmin grants (admin=true) or revokes admin access of a participant.
// Only admins may, never on themselves; revoking keeps at least one admin.
// The participant gets chat-admin-access-granted or -removed.
func (s *Service) SetAdmin(ctx context.Context, c Caller, chatID, participantRef string, admin bool) (Participant, error) {
	var out Participant
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.setAdmin(ctx, tx, c, chatID, participantRef, admin)
		return err
	})
	return out, err
}

func (s *Service) setAdmin(ctx context.Context, tx *store.Tx, c Caller, chatID, participantRef string, admin bool) (Participant, error) {
	if err := c.valid(); err != nil {
		return Participant{}, err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return Participant{}, err
	}
	var out Participant
	ch, _, err := adminOf(ctx, tx, chatID, c.UserID)
	if err != nil {
		return out, err
	}
	target, err := targetOf(ctx, tx, chatID, participantRef)
	if err != nil {
		return out, err
	}
	if target.UserID == c.UserID {
		return out, apperr.Forbiddenf("own_admin_access", "You cannot change your own admin access")
	}
	if target.IsAdmin == admin {
		if admin {
			return out, apperr.Conflictf("already_admin", "The participant is already an admin")
		}
		return out, apperr.Conflictf("not_an_admin", "The participant is not an admin")
	}
	if !admin {
		n, err := tx.CountAdmins(ctx, chatID)
		if err != nil {
			return out, err
		}
		if n <= 1 {
			return out, apperr.Conflictf("last_admin", "A group needs at least one admin")
		}
	}
	if err := tx.UpdateParticipant(ctx, target.ID, store.ParticipantUpdate{IsAdmin: &admin}); err != nil {
		return out, err
	}
	target.IsAdmin = admin
	if err := s.putMember(ctx, tx, target, nil); err != nil {
		return out, err
	}
	if err := s.shareRequests(ctx, tx, chatID, target.UserID, admin); err != nil {
		return out, err
	}
	out = participantFrom(target, ref(target.UserID))
	event, msg := EventChatAdminGranted, "You are now an admin of "+ch.Name
	if !admin {
		event, msg = EventChatAdminRemoved, "You are no longer an admin of "+ch.Name
	}
	if _, err := notify(ctx, tx, store.Notification{UserID: target.UserID, Type: event, ActorID: c.UserID,
		SubjectType: EntityChat, SubjectID: chatID, ChatID: chatID, Message: msg}); err != nil {
		return out, err
	}
	return out, emit(ctx, tx, c, event, out, UserBucket(target.UserID))
}

// SetParticipantStatus records whether a participant of an event chat
// attends (accepted) or not (rejected). Admins only, while the event is
// active; the participant is notified.
func (s *Service) SetParticipantStatus(ctx context.Context, c Caller, chatID, participantRef, status string) (out Participant, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.setParticipantStatus(ctx, tx, c, chatID, participantRef, status)
		return err
	})
	return out, err
}

func (s *Service) setParticipantStatus(ctx context.Context, tx *store.Tx, c Caller, chatID, participantRef, status string) (Participant, error) {
	if err := c.valid(); err != nil {
		return Participant{}, err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return Participant{}, err
	}
	if status != "accepted" && status != "rejected" {
		return Participant{}, apperr.InvalidField("status", "status must be accepted or rejected")
	}
	ch, _, err := adminOf(ctx, tx, chatID, c.UserID)
	if err != nil {
		return Participant{}, err
	}
	events, err := tx.EventsOf(ctx, []string{chatID})
	if err != nil {
		return Participant{}, err
	}
	ev, ok := events[chatID]
	if !ok {
		return Participant{}, apperr.Conflictf("no_event", "This chat has no event")
	}
	if !eventFrom(ev, tx.Now).IsActive {
		return Participant{}, apperr.Conflictf("event_not_active", "The event is not active")
	}
	target, err := targetOf(ctx, tx, chatID, participantRef)
	if err != nil {
		return Participant{}, err
	}
	if err := tx.UpdateParticipant(ctx, target.ID, store.ParticipantUpdate{Status: &status}); err != nil {
		return Participant{}, err
	}
	target.Status = status
	if err := s.putMember(ctx, tx, target, nil); err != nil {
		return Participant{}, err
	}
	out := participantFrom(target, ref(target.UserID))
	if _, err := notify(ctx, tx, store.Notification{UserID: target.UserID, Type: NotificationParticipantStatus, ActorID: c.UserID,
		SubjectType: EntityChat, SubjectID: chatID, ChatID: chatID, Message: "Your place at " + ch.Name + " was " + status}); err != nil {
		return Participant{}, err
	}
	if err := emit(ctx, tx, c, EventParticipantStatus, out, UserBucket(target.UserID)); err != nil {
		return Participant{}, err
	}
	return out, s.pushTo(ctx, tx, []string{target.UserID}, EventParticipantStatus, ch.Name, "Your place was "+status,
		map[string]string{"chat": chatID, "status": status})
}
