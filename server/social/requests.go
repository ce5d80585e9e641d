package social

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// Join requests for restricted groups.
//
// Decisions where the documented API is loose:
//   - GET /requests lists the requests the caller sent plus those to chats
//     the caller administers; type=sent or type=received narrows it.
//   - GET /requests/:id is visible to the requester and the chat's admins;
//     anyone else gets 404 request_not_found, as if it did not exist.
//   - Rejecting also dismisses the admins' chat-join-request notifications
//     (the request is handled either way); only acceptance notifies the
//     requester, adds them and scores join-group-chat.
//   - A request whose sender joined the chat meanwhile can still be
//     accepted; it just does not add them twice.
//   - Nobody may ask to join a group when a block stands either way
//     between them and one of its admins (403 blocked); GET /requests
//     leaves out requests from users hidden from the caller by a block.
//   - Requests replicate to the requester's bucket and each admin's
//     bucket; someone who becomes an admin receives the chat's requests,
//     someone who stops being one (revoked, left or removed) loses them.
//     The requester's profile goes with them into each admin's bucket
//     (unless a block stands between the two) and leaves when nothing
//     there mentions them any more (see profiles.go).

// Request statuses.
const (
	RequestPending  = "pending"
	RequestAccepted = "accepted"
	RequestRejected = "rejected"
)

// Live events and notification types of join requests.
const (
	EventChatJoinRequest     = "chat-join-request"
	EventChatRequestAccepted = "chat-request-accepted"
	EntityRequest            = "request"
)

// RequestChat is the chat of a request as GET /requests shows it.
type RequestChat struct {
	Chat
	AreYouAdmin bool `json:"areYouAdmin"`
}

// ChatRef is a chat as a request mentions it: its id in write answers, a
// summary in read answers.
type ChatRef struct {
	ID   string
	Chat *RequestChat
}

// MarshalJSON writes the summary when present, the id otherwise.
func (c ChatRef) MarshalJSON() ([]byte, error) {
	if c.Chat == nil {
		return json.Marshal(c.ID)
	}
	return json.Marshal(c.Chat)
}

// UnmarshalJSON accepts either form.
func (c *ChatRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*c = ChatRef{}
		return json.Unmarshal(b, &c.ID)
	}
	var rc RequestChat
	if err := json.Unmarshal(b, &rc); err != nil {
		return err
	}
	*c = ChatRef{ID: rc.ID, Chat: &rc}
	return nil
}

// JoinRequest is a request to join a restricted group.
type JoinRequest struct {
	ID        string    `json:"_id"`
	User      UserRef   `json:"user"`
	Chat      ChatRef   `json:"chat"`
	Status    string    `json:"status"`
	CreatedAt wire.Time `json:"createdAt"`
}

func requestFrom(r store.JoinRequest) JoinRequest {
	return JoinRequest{ID: r.ID, User: ref(r.UserID), Chat: ChatRef{ID: r.ChatID}, Status: r.Status, CreatedAt: wire.T(r.CreatedAt)}
}

// putRequest replicates r, its sender populated, to the sender and the
// chat's admins.
func (s *Service) putRequest(ctx context.Context, tx *store.Tx, r store.JoinRequest, admins []string) error {
	buckets := []string{UserBucket(r.UserID)}
	for _, a := range admins {
		buckets = append(buckets, UserBucket(a))
	}
	row := requestFrom(r)
	u, err := s.personRef(ctx, tx, nil, r.UserID)
	if err != nil {
		return err
	}
	row.User = u
	if err := put(ctx, tx, EntityRequest, r.ID, row, buckets...); err != nil {
		return err
	}
	for _, a := range admins {
		if err := settleProfile(ctx, tx, a, r.UserID); err != nil {
			return err
		}
	}
	return nil
}

// shareRequests replicates every request of chat to userID's bucket
// (admin=true: they became an admin) or tombstones them there (they no
// longer are), except the requests userID sent, which stay theirs.
func (s *Service) shareRequests(ctx context.Context, tx *store.Tx, chatID, userID string, admin bool) error {
	reqs, err := tx.RequestsOfChat(ctx, chatID)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if r.UserID == userID {
			continue
		}
		if !admin {
			if err := drop(ctx, tx, EntityRequest, r.ID, UserBucket(userID)); err != nil {
				return err
			}
			if err := settleProfile(ctx, tx, userID, r.UserID); err != nil {
				return err
			}
			continue
		}
		row := requestFrom(r)
		if row.User, err = s.personRef(ctx, tx, nil, r.UserID); err != nil {
			return err
		}
		if err := put(ctx, tx, EntityRequest, r.ID, row, UserBucket(userID)); err != nil {
			return err
		}
		if err := settleProfile(ctx, tx, userID, r.UserID); err != nil {
			return err
		}
	}
	return nil
}

// CreateRequest asks to join a restricted group chat and notifies its
// admins (notification, chat-join-request event, push).
func (s *Service) CreateRequest(ctx context.Context, c Caller, chatID string) (JoinRequest, error) {
	var out JoinRequest
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.createRequest(ctx, tx, c, chatID, "")
		return err
	})
	return out, err
}

// createRequest makes the caller's join request, under the id the client
// proposed when given (see proposed.go).
func (s *Service) createRequest(ctx context.Context, tx *store.Tx, c Caller, chatID, proposed string) (JoinRequest, error) {
	if err := c.valid(); err != nil {
		return JoinRequest{}, err
	}
	if chatID == "" {
		return JoinRequest{}, apperr.InvalidField("chat", "chat is required")
	}
	if err := ValidID("chat", chatID); err != nil {
		return JoinRequest{}, err
	}
	var out JoinRequest
	ch, err := tx.Chat(ctx, chatID)
	if err != nil {
		return out, err
	}
	if err := requireGroup(ch); err != nil {
		return out, err
	}
	if !ch.Restricted {
		return out, apperr.Conflictf("chat_not_restricted", "This group is open: join it directly")
	}
	if _, err := tx.ParticipantOf(ctx, chatID, c.UserID); err == nil {
		return out, apperr.Conflictf("already_participant", "You are already a participant of this chat")
	} else if !apperr.Is(err, apperr.NotFound) {
		return out, err
	}
	admins, err := tx.ChatAdmins(ctx, chatID)
	if err != nil {
		return out, err
	}
	if err := notBlockedByAny(ctx, tx, c.UserID, admins); err != nil {
		return out, err
	}
	id, err := newID(tx, FieldRequestID, proposed, func() (bool, error) {
		if taken, err := tx.IDTaken(ctx, "join_requests", proposed); err != nil || taken {
			return taken, err
		}
		return tx.FeedHas(ctx, UserBucket(c.UserID), EntityRequest, proposed)
	})
	if err != nil {
		return out, err
	}
	r := store.JoinRequest{ID: id, ChatID: chatID, UserID: c.UserID, Status: RequestPending, CreatedAt: tx.Now, UpdatedAt: tx.Now}
	if err := tx.CreateRequest(ctx, r); err != nil {
		return out, err
	}
	if err := s.putRequest(ctx, tx, r, admins); err != nil {
		return out, err
	}
	out = requestFrom(r)
	targets := make([]string, len(admins))
	for i, a := range admins {
		targets[i] = UserBucket(a)
		if _, err := notify(ctx, tx, store.Notification{UserID: a, Type: EventChatJoinRequest, ActorID: c.UserID,
			SubjectType: EntityRequest, SubjectID: r.ID, ChatID: chatID, Message: "New request to join " + ch.Name}); err != nil {
			return out, err
		}
	}
	if err := emit(ctx, tx, c, EventChatJoinRequest, out, targets...); err != nil {
		return out, err
	}
	return out, s.pushTo(ctx, tx, admins, EventChatJoinRequest, "Join request", "Someone asked to join "+ch.Name,
		map[string]string{"chat": chatID, "request": r.ID})
}

// notBlockedByAny answers 403 blocked when a block stands either way
// between user and any of admins: the admins of a group are who would see
// the user's request or reel there, and a block hides the two from each
// other.
func notBlockedByAny(ctx context.Context, tx *store.Tx, user string, admins []string) error {
	for _, a := range admins {
		blocked, err := tx.Blocked(ctx, user, a)
		if err != nil {
			return err
		}
		if blocked {
			return apperr.Forbiddenf("blocked", "You cannot post to or ask to join this group")
		}
	}
	return nil
}

// RequestFilter selects the caller's requests: Type "sent", "received" or
// "" (both); Status one of the statuses or "" (any).
type RequestFilter struct {
	Type   string
	Status string
}

// Requests lists the requests the caller sent and those to chats they
// administer, newest first, with user and chat populated.
func (s *Service) Requests(ctx context.Context, c Caller, f RequestFilter, p Page) ([]JoinRequest, int, error) {
	sf := store.RequestFilter{UserID: c.UserID, Offset: p.Offset, Limit: p.Limit}
	switch f.Type {
	case "":
		sf.Sent, sf.Received = true, true
	case "sent":
		sf.Sent = true
	case "received":
		sf.Received = true
	default:
		return nil, 0, apperr.InvalidField("type", "type must be sent or received")
	}
	switch f.Status {
	case "", RequestPending, RequestAccepted, RequestRejected:
		sf.Status = f.Status
	default:
		return nil, 0, apperr.InvalidField("status", "status must be pending, accepted or rejected")
	}
	var out []JoinRequest
	var total int
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, n, err := tx.Requests(ctx, sf)
		if err != nil {
			return err
		}
		total = n
		out, err = s.requestViews(ctx, tx, c.UserID, rows)
		return err
	})
	return out, total, err
}

// requestViews populates requests with a fixed number of queries.
func (s *Service) requestViews(ctx context.Context, tx *store.Tx, viewer string, rows []store.JoinRequest) ([]JoinRequest, error) {
	out := make([]JoinRequest, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	var chatIDs, userIDs []string
	for _, r := range rows {
		chatIDs, userIDs = append(chatIDs, r.ChatID), append(userIDs, r.UserID)
	}
	chats, err := tx.ChatsByID(ctx, chatIDs)
	if err != nil {
		return nil, err
	}
	parts, err := tx.ParticipantsOf(ctx, chatIDs)
	if err != nil {
		return nil, err
	}
	ppl, err := s.loadPeopleOnline(ctx, tx, userIDs)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		v := requestFrom(r)
		v.User = ppl.ref(r.UserID)
		if ch, ok := chats[r.ChatID]; ok {
			rc := &RequestChat{Chat: s.chatFrom(ch, nil, parts[ch.ID], tx.Now)}
			for _, p := range parts[ch.ID] {
				if p.UserID == viewer && p.IsAdmin {
					rc.AreYouAdmin = true
				}
			}
			v.Chat.Chat = rc
		}
		out = append(out, v)
	}
	return out, nil
}

// visibleRequest loads request id for the caller: its sender or an admin
// of its chat; 404 request_not_found for anyone else.
func visibleRequest(ctx context.Context, tx *store.Tx, id, userID string) (store.JoinRequest, error) {
	r, err := tx.Request(ctx, id)
	if err != nil {
		return r, err
	}
	if r.UserID == userID {
		return r, nil
	}
	if p, err := tx.ParticipantOf(ctx, r.ChatID, userID); err == nil && p.IsAdmin {
		return r, nil
	} else if err != nil && !apperr.Is(err, apperr.NotFound) {
		return r, err
	}
	return store.JoinRequest{}, apperr.NotFoundf("request_not_found", "Request not found")
}

// Request returns request id to its sender or an admin of its chat.
func (s *Service) Request(ctx context.Context, c Caller, id string) (JoinRequest, error) {
	if err := ValidID(FieldRequestID, id); err != nil {
		return JoinRequest{}, err
	}
	var out JoinRequest
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := visibleRequest(ctx, tx, id, c.UserID)
		if err != nil {
			return err
		}
		views, err := s.requestViews(ctx, tx, c.UserID, []store.JoinRequest{r})
		if err != nil {
			return err
		}
		out = views[0]
		return nil
	})
	return out, err
}

// AnswerRequest accepts or rejects a pending request (admins of its chat
// only). Accepting adds the sender as a participant, notifies them with
// chat-request-accepted and scores join-group-chat; either answer
// dismisses the admins' chat-join-request notifications.
func (s *Service) AnswerRequest(ctx context.Context, c Caller, id, status string) (JoinRequest, error) {
	var out JoinRequest
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.answerRequest(ctx, tx, c, id, status)
		return err
	})
	return out, err
}

func (s *Service) answerRequest(ctx context.Context, tx *store.Tx, c Caller, id, status string) (JoinRequest, error) {
	if err := c.valid(); err != nil {
		return JoinRequest{}, err
	}
	if err := ValidID(FieldRequestID, id); err != nil {
		return JoinRequest{}, err
	}
	if status != RequestAccepted && status != RequestRejected {
		return JoinRequest{}, apperr.InvalidField("status", "status must be accepted or rejected")
	}
	var out JoinRequest
	r, err := tx.Request(ctx, id)
	if err != nil {
		return out, err
	}
	ch, _, err := adminOf(ctx, tx, r.ChatID, c.UserID)
	if err != nil {
		return out, err
	}
	if r.Status != RequestPending {
		return out, apperr.Conflictf("request_not_pending", "The request was already %s", r.Status)
	}
	if err := tx.SetRequestStatus(ctx, id, status); err != nil {
		return out, err
	}
	r.Status, r.UpdatedAt = status, tx.Now
	admins, err := tx.ChatAdmins(ctx, r.ChatID)
	if err != nil {
		return out, err
	}
	if err := s.putRequest(ctx, tx, r, admins); err != nil {
		return out, err
	}
	if err := dismissNotifications(ctx, tx, store.NotificationMatch{SubjectID: r.ID, Type: EventChatJoinRequest}); err != nil {
		return out, err
	}
	out = requestFrom(r)
	if status == RequestRejected {
		return out, nil
	}
	if _, err := tx.ParticipantOf(ctx, r.ChatID, r.UserID); apperr.Is(err, apperr.NotFound) {
		p, err := s.addMember(ctx, tx, r.ChatID, r.UserID, false, nil)
		if err != nil {
			return out, err
		}
		joined := participantFrom(p, ref(p.UserID))
		if err := emit(ctx, tx, c, EventChatJoined, ChatJoined{Chat: r.ChatID, Participants: []Participant{joined}}, ChatBucket(r.ChatID)); err != nil {
			return out, err
		}
	} else if err != nil {
		return out, err
	}
	if _, err := notify(ctx, tx, store.Notification{UserID: r.UserID, Type: EventChatRequestAccepted, ActorID: c.UserID,
		SubjectType: EntityRequest, SubjectID: r.ID, ChatID: r.ChatID, Message: "You joined " + ch.Name}); err != nil {
		return out, err
	}
	if err := emit(ctx, tx, c, EventChatRequestAccepted, out, UserBucket(r.UserID)); err != nil {
		return out, err
	}
	if err := s.pushTo(ctx, tx, []string{r.UserID}, EventChatRequestAccepted, "Request accepted", "You joined "+ch.Name,
		map[string]string{"chat": r.ChatID, "request": r.ID}); err != nil {
		return out, err
	}
	_, err = addScoreOnce(ctx, tx, c, r.UserID, ActionJoinGroupChat, r.ChatID)
	return out, err
}
