package client

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vibesync/vibesync/oid"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/wire"
)

// effect is one optimistic row a queued mutation shows in the replica.
type effect struct {
	bucket, entity, id string
	del                bool
	value              any
}

// Mutate queues any mutation without optimistic effects (its result shows
// after the next Sync). It returns the mutation id. A mutation the server
// would refuse for its size or shape is not queued (ErrRefused).
func (c *Client) Mutate(ctx context.Context, m *syncv1.Mutation) (int64, error) {
	return c.enqueue(ctx, m)
}

// enqueue writes the mutation to the outbox and its effects to the
// overlay in one local transaction, then wakes Run. What the server would
// refuse for size or shape is refused here, with nothing queued.
func (c *Client) enqueue(ctx context.Context, m *syncv1.Mutation, effects ...effect) (int64, error) {
	kind := "unknown"
	if f := m.ProtoReflect().WhichOneof(m.ProtoReflect().Descriptor().Oneofs().ByName("kind")); f != nil {
		kind = string(f.Name())
	}
	if err := checkMutation(m); err != nil {
		return 0, err
	}
	var id int64
	err := c.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO outbox (kind, body, created_at) VALUES (?, x'', ?) RETURNING id`,
			kind, c.opts.Now().UnixMilli()).Scan(&id); err != nil {
			return fmt.Errorf("client: queue mutation: %w", err)
		}
		m = proto.CloneOf(m)
		m.Id = id
		body, err := proto.Marshal(m)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET body = ? WHERE id = ?`, body, id); err != nil {
			return err
		}
		for _, e := range effects {
			op, data := "upsert", []byte(nil)
			if e.del {
				op = "delete"
			} else if data, err = json.Marshal(e.value); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO overlay (mutation_id, bucket, entity, id, op, data) VALUES (?, ?, ?, ?, ?, ?)`,
				id, e.bucket, e.entity, e.id, op, data); err != nil {
				return fmt.Errorf("client: optimistic %s: %w", e.entity, err)
			}
		}
		return nil
	})
	if err == nil {
		c.poke()
		c.notify(ctx)
	}
	return id, err
}

// ProfileUpdate changes the non-nil fields of the profile.
type ProfileUpdate struct {
	Name, Username, Bio *string
	Photo               *string // an absolute http(s) URL; "" removes it
}

// UpdateProfile edits the profile now (in the replica) and queues the
// change.
func (c *Client) UpdateProfile(ctx context.Context, upd ProfileUpdate) (User, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return User{}, err
	}
	if upd.Name != nil {
		me.Name = *upd.Name
	}
	if upd.Username != nil {
		me.Username = *upd.Username
	}
	if upd.Bio != nil {
		me.Bio = *upd.Bio
	}
	if upd.Photo != nil {
		me.Photo = *upd.Photo
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_UpdateProfile{UpdateProfile: &syncv1.UpdateProfile{
		Name: upd.Name, Username: upd.Username, Bio: upd.Bio, Photo: upd.Photo}}},
		effect{bucket: "user:" + me.ID, entity: "user", id: me.ID, value: me})
	return me, err
}

// SendMessage posts text to a chat: the message shows at once (Pending)
// and is delivered, exactly once, by a later Sync.
func (c *Client) SendMessage(ctx context.Context, chatID, text string) (Message, error) {
	msg, _, err := c.sendMessage(ctx, chatID, NewMessage{Text: text})
	return msg, err
}

// NewMessage is a message to send: text, files or both.
type NewMessage struct {
	Text string
	// Tag is one of the chat's tags (optional); the message's files are
	// filed under it.
	Tag   string
	Files []NewFile
}

// NewFile is a file a message carries, uploaded already: its URL, an
// optional cover image URL and what the sender says of it (a JSON
// object: mediaType, fileName, fileSize, duration, …).
type NewFile struct {
	URL, Cover string
	Meta       json.RawMessage
}

// SendMessageWith sends a message with a tag or files, as SendMessage
// sends text: it shows in Messages at once, marked Pending.
func (c *Client) SendMessageWith(ctx context.Context, chatID string, in NewMessage) (Message, error) {
	msg, _, err := c.sendMessage(ctx, chatID, in)
	return msg, err
}

// sendMessage is SendMessageWith that also answers the mutation id.
func (c *Client) sendMessage(ctx context.Context, chatID string, in NewMessage) (Message, int64, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return Message{}, 0, err
	}
	now := c.opts.Now()
	msg := Message{ID: oid.NewAt(now), Chat: chatID, User: me, Text: in.Text, Tag: strings.TrimSpace(in.Tag), At: wire.T(now), Pending: true}
	sm := &syncv1.SendMessage{MessageId: msg.ID, ChatId: chatID, Text: in.Text, Tag: in.Tag}
	for _, f := range in.Files {
		msg.Files = append(msg.Files, File{ID: oid.NewAt(now), URL: f.URL, Cover: f.Cover, Meta: f.Meta})
		sm.Files = append(sm.Files, &syncv1.NewFile{Url: f.URL, Cover: f.Cover, MetaJson: string(f.Meta)})
	}
	id, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_SendMessage{SendMessage: sm}},
		effect{bucket: "chat:" + chatID, entity: "message", id: msg.ID, value: msg})
	return msg, id, err
}

// newMessageOf is the NewMessage a queued send_message carries.
func newMessageOf(sm *syncv1.SendMessage) NewMessage {
	in := NewMessage{Text: sm.GetText(), Tag: sm.GetTag()}
	for _, f := range sm.GetFiles() {
		nf := NewFile{URL: f.GetUrl(), Cover: f.GetCover()}
		if f.GetMetaJson() != "" {
			nf.Meta = json.RawMessage(f.GetMetaJson())
		}
		in.Files = append(in.Files, nf)
	}
	return in
}

// MarkRead marks a chat read up to now.
func (c *Client) MarkRead(ctx context.Context, chatID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	var effects []effect
	es, err := c.entities(ctx, "participant", "chat:"+chatID)
	if err != nil {
		return err
	}
	parts, err := decodeAll[Participant](es)
	if err != nil {
		return err
	}
	for i, p := range parts {
		if p.User.ID == me {
			p.LastReadAt = wire.T(c.opts.Now())
			effects = append(effects, effect{bucket: es[i].Bucket, entity: "participant", id: p.ID, value: p})
		}
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_MarkRead{MarkRead: &syncv1.MarkRead{ChatId: chatID}}}, effects...)
	return err
}

// Connect sends a connection request to userID (pending at once).
func (c *Client) Connect(ctx context.Context, userID, message string) (Connection, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return Connection{}, err
	}
	now := c.opts.Now()
	cn := Connection{ID: oid.NewAt(now), From: me, To: User{ID: userID}, Status: "pending", Message: message, CreatedAt: wire.T(now), User: User{ID: userID}}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_CreateConnection{CreateConnection: &syncv1.CreateConnection{
		ConnectionId: cn.ID, UserId: userID, Message: message}}},
		effect{bucket: "user:" + me.ID, entity: "connection", id: cn.ID, value: cn})
	return cn, err
}

// Accept accepts the pending request from userID.
func (c *Client) Accept(ctx context.Context, userID string) error {
	return c.answer(ctx, userID, "accepted", &syncv1.Mutation{Kind: &syncv1.Mutation_AcceptConnection{AcceptConnection: &syncv1.AcceptConnection{UserId: userID}}})
}

// Decline declines the pending request from userID.
func (c *Client) Decline(ctx context.Context, userID string) error {
	return c.answer(ctx, userID, "declined", &syncv1.Mutation{Kind: &syncv1.Mutation_DeclineConnection{DeclineConnection: &syncv1.DeclineConnection{UserId: userID}}})
}

func (c *Client) answer(ctx context.Context, userID, status string, m *syncv1.Mutation) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	cs, err := c.Connections(ctx, "pending")
	if err != nil {
		return err
	}
	var effects []effect
	for _, cn := range cs {
		if cn.From.ID == userID && cn.To.ID == me {
			cn.Status = status
			if status == "accepted" {
				cn.AcceptedAt = wire.T(c.opts.Now())
			}
			effects = append(effects, effect{bucket: "user:" + me, entity: "connection", id: cn.ID, value: cn})
		}
	}
	_, err = c.enqueue(ctx, m, effects...)
	return err
}

// Disconnect cancels a sent request, declines a received one, or removes
// an accepted connection with userID; it disappears at once.
func (c *Client) Disconnect(ctx context.Context, userID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	cs, err := c.Connections(ctx, "")
	if err != nil {
		return err
	}
	var effects []effect
	expect := ""
	for _, cn := range cs {
		if cn.User.ID == userID {
			effects = append(effects, effect{bucket: "user:" + me, entity: "connection", id: cn.ID, del: true})
			if cn.Status == "pending" || cn.Status == "accepted" {
				// What the user saw decides what the action means: a
				// cancel stays a cancel if the request is accepted
				// meanwhile (rejected, connection_accepted).
				expect = cn.Status
			}
		}
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_DeleteConnection{DeleteConnection: &syncv1.DeleteConnection{
		UserId: userID, ExpectStatus: expect}}}, effects...)
	return err
}

// NewChat describes a chat to create.
type NewChat struct {
	// ID is the chat's id; empty: the client proposes a new one.
	ID       string
	Group    bool
	Name     string // groups
	Category string // groups
	// Users are the other participants: exactly one for a one-to-one chat.
	Users []string
	// A group's settings at creation (nil: the server's defaults: not
	// restricted; reels from anyone unless restricted). A Courses group
	// is never restricted. Event is required for category Event.
	Restricted      *bool
	AllowPublicPost *bool
	Tags            []Tag
	Event           *NewChatEvent
}

// NewChatEvent is the event of an Event-category group being created.
type NewChatEvent struct {
	StartsAt, EndsAt time.Time
	Location         string
}

// CreateChat creates a chat under an id the client proposes: the chat
// and its participants show in Chats at once, later writes (SendMessage,
// AddParticipants, UpdateChat, …) may name it while it is still queued,
// and the server keeps the id (or rejects the creation with reason
// id_taken; it never renames it). A one-to-one chat the replica already
// holds for the pair is returned as it is and nothing is queued; see
// docs/sync.md for two devices creating the same pair's chat offline.
func (c *Client) CreateChat(ctx context.Context, in NewChat) (Chat, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return Chat{}, err
	}
	if !in.Group {
		if len(in.Users) != 1 {
			return Chat{}, errors.New("client: a one-to-one chat needs exactly one other user")
		}
		if ch, ok, err := c.DirectChat(ctx, in.Users[0]); err != nil || ok {
			return ch, err
		}
	}
	now := c.opts.Now()
	id := in.ID
	if id == "" {
		id = oid.NewAt(now)
	} else if !oid.Valid(id) {
		return Chat{}, fmt.Errorf("client: %q is not a valid chat id", id)
	}
	ch := Chat{ID: id, Name: in.Name, Category: in.Category, IsGroup: in.Group, Creator: me,
		CreatedAt: wire.T(now), UpdatedAt: wire.T(now)}
	cc := &syncv1.CreateChat{ChatId: id, Group: in.Group, Name: in.Name, Category: in.Category, ParticipantIds: in.Users,
		Restricted: in.Restricted, AllowPublicPost: in.AllowPublicPost}
	if in.Group {
		// Shown as the server will store them (its rules in
		// server/social's createGroup).
		ch.Restricted = in.Restricted != nil && *in.Restricted && strings.TrimSpace(in.Category) != "Courses"
		ch.AllowPublicPost = !ch.Restricted
		if in.AllowPublicPost != nil {
			ch.AllowPublicPost = *in.AllowPublicPost
		}
		for _, t := range in.Tags {
			ch.Tags = append(ch.Tags, Tag{Tag: strings.TrimSpace(t.Tag), Label: strings.TrimSpace(t.Label)})
			cc.Tags = append(cc.Tags, &syncv1.Tag{Tag: t.Tag, Label: t.Label})
		}
		if ev := in.Event; ev != nil {
			ch.Event = &ChatEvent{StartsAt: wire.T(ev.StartsAt), EndsAt: wire.T(ev.EndsAt), Location: strings.TrimSpace(ev.Location),
				IsActive: !now.Before(ev.StartsAt) && now.Before(ev.EndsAt)}
			cc.Event = &syncv1.NewChatEvent{Location: ev.Location}
			if !ev.StartsAt.IsZero() {
				cc.Event.StartsAt = timestamppb.New(ev.StartsAt)
			}
			if !ev.EndsAt.IsZero() {
				cc.Event.EndsAt = timestamppb.New(ev.EndsAt)
			}
		}
	}
	bucket := "chat:" + id
	effects := []effect{{bucket: bucket, entity: "chat", id: id, value: ch}}
	ps, err := c.profiles(ctx, "")
	if err != nil {
		return Chat{}, err
	}
	for i, uid := range append([]string{me.ID}, in.Users...) {
		u := User{ID: uid}
		ps.resolve(&u)
		if i == 0 {
			u = me
		}
		p := Participant{ID: oid.NewAt(now), Chat: id, User: u, IsAdmin: in.Group && i == 0, LastReadAt: wire.T(now)}
		ch.Participants = append(ch.Participants, p)
		effects = append(effects, effect{bucket: bucket, entity: "participant", id: p.ID, value: p})
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_CreateChat{CreateChat: cc}}, effects...)
	return ch, err
}

// DirectChat finds the one-to-one chat with userID in the replica.
func (c *Client) DirectChat(ctx context.Context, userID string) (Chat, bool, error) {
	chats, err := c.Chats(ctx, "")
	if err != nil {
		return Chat{}, false, err
	}
	for _, ch := range chats {
		if ch.IsGroup {
			continue
		}
		for _, p := range ch.Participants {
			if p.User.ID == userID {
				return ch, true, nil
			}
		}
	}
	return Chat{}, false, nil
}

// ChatUpdate changes the non-nil settings of a group chat.
type ChatUpdate struct {
	Name, Category              *string
	Restricted, AllowPublicPost *bool
}

// UpdateChat changes a group's settings (admins only): the replica shows
// them at once.
func (c *Client) UpdateChat(ctx context.Context, chatID string, upd ChatUpdate) error {
	bucket := "chat:" + chatID
	eff, err := c.patch(ctx, "chat", bucket, chatID, func(m map[string]any) {
		set := func(k string, v any) { m[k] = v }
		if upd.Name != nil {
			set("name", *upd.Name)
		}
		if upd.Category != nil {
			set("category", *upd.Category)
		}
		if upd.Restricted != nil {
			set("restricted", *upd.Restricted)
		}
		if upd.AllowPublicPost != nil {
			set("allowPublicPost", *upd.AllowPublicPost)
		}
		m["updatedAt"] = wire.T(c.opts.Now())
	})
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_UpdateChat{UpdateChat: &syncv1.UpdateChat{
		ChatId: chatID, Name: upd.Name, Category: upd.Category, Restricted: upd.Restricted, AllowPublicPost: upd.AllowPublicPost}}}, eff...)
	return err
}

// AddParticipants adds users to a group: they show among its
// participants at once (one queued mutation per user).
func (c *Client) AddParticipants(ctx context.Context, chatID string, userIDs ...string) error {
	ps, err := c.profiles(ctx, "")
	if err != nil {
		return err
	}
	now := c.opts.Now()
	for _, uid := range userIDs {
		u := User{ID: uid}
		ps.resolve(&u)
		p := Participant{ID: oid.NewAt(now), Chat: chatID, User: u, LastReadAt: wire.T(now)}
		if _, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_AddParticipant{AddParticipant: &syncv1.AddParticipant{ChatId: chatID, UserId: uid}}},
			effect{bucket: "chat:" + chatID, entity: "participant", id: p.ID, value: p}); err != nil {
			return err
		}
	}
	return nil
}

// RemoveParticipant removes a user from a group (admins only); removing
// oneself is LeaveChat.
func (c *Client) RemoveParticipant(ctx context.Context, chatID, userID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	if userID == me {
		return c.LeaveChat(ctx, chatID)
	}
	effects, err := c.participantEffects(ctx, chatID, userID, func(p map[string]any) bool { return false })
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_RemoveParticipant{RemoveParticipant: &syncv1.RemoveParticipant{ChatId: chatID, UserId: userID}}}, effects...)
	return err
}

// LeaveChat leaves a chat: it disappears from Chats at once.
func (c *Client) LeaveChat(ctx context.Context, chatID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	effects, err := c.participantEffects(ctx, chatID, me, func(map[string]any) bool { return false })
	if err != nil {
		return err
	}
	effects = append(effects, effect{bucket: "chat:" + chatID, entity: "chat", id: chatID, del: true})
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_LeaveChat{LeaveChat: &syncv1.LeaveChat{ChatId: chatID}}}, effects...)
	return err
}

// DeleteChat deletes a chat (its creator or admins): it disappears at once.
func (c *Client) DeleteChat(ctx context.Context, chatID string) error {
	_, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_DeleteChat{DeleteChat: &syncv1.DeleteChat{ChatId: chatID}}},
		effect{bucket: "chat:" + chatID, entity: "chat", id: chatID, del: true})
	return err
}

// JoinChat joins an open group. The chat shows after the next Sync (the
// replica does not hold groups the user is not in).
func (c *Client) JoinChat(ctx context.Context, chatID string) error {
	_, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_JoinChat{JoinChat: &syncv1.JoinChat{ChatId: chatID}}})
	return err
}

// SetAdmin grants or revokes a participant's admin rights.
func (c *Client) SetAdmin(ctx context.Context, chatID, userID string, admin bool) error {
	effects, err := c.participantEffects(ctx, chatID, userID, func(p map[string]any) bool { p["isAdmin"] = admin; return true })
	if err != nil {
		return err
	}
	m := &syncv1.Mutation{Kind: &syncv1.Mutation_GrantAdmin{GrantAdmin: &syncv1.GrantAdmin{ChatId: chatID, UserId: userID}}}
	if !admin {
		m = &syncv1.Mutation{Kind: &syncv1.Mutation_RevokeAdmin{RevokeAdmin: &syncv1.RevokeAdmin{ChatId: chatID, UserId: userID}}}
	}
	_, err = c.enqueue(ctx, m, effects...)
	return err
}

// SetParticipantStatus records whether a participant of an event chat
// attends ("accepted") or not ("rejected"); admins only.
func (c *Client) SetParticipantStatus(ctx context.Context, chatID, userID, status string) error {
	effects, err := c.participantEffects(ctx, chatID, userID, func(p map[string]any) bool { p["status"] = status; return true })
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_SetParticipantStatus{SetParticipantStatus: &syncv1.SetParticipantStatus{
		ChatId: chatID, UserId: userID, Status: status}}}, effects...)
	return err
}

// participantEffects edits (keep true) or hides (keep false) the
// replica's participant rows of userID in a chat.
func (c *Client) participantEffects(ctx context.Context, chatID, userID string, edit func(map[string]any) bool) ([]effect, error) {
	bucket := "chat:" + chatID
	es, err := c.entities(ctx, "participant", bucket)
	if err != nil {
		return nil, err
	}
	var out []effect
	for _, e := range es {
		var p Participant
		if err := json.Unmarshal(e.Data, &p); err != nil || p.User.ID != userID {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return nil, fmt.Errorf("client: decode participant %s: %w", e.ID, err)
		}
		if edit(m) {
			out = append(out, effect{bucket: bucket, entity: "participant", id: e.ID, value: m})
		} else {
			out = append(out, effect{bucket: bucket, entity: "participant", id: e.ID, del: true})
		}
	}
	return out, nil
}

// patch is the optimistic edit of one replicated row, kept whole (fields
// the client's types do not name stay as they are). A row the replica
// does not hold has no effect.
func (c *Client) patch(ctx context.Context, kind, bucket, id string, edit func(map[string]any)) ([]effect, error) {
	es, err := c.entities(ctx, kind, bucket)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.ID != id {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return nil, fmt.Errorf("client: decode %s %s: %w", kind, id, err)
		}
		edit(m)
		return []effect{{bucket: e.Bucket, entity: kind, id: id, value: m}}, nil
	}
	return nil, nil
}

// DeleteMessage deletes a message (the sender's own, or any in a group
// the user administers): it disappears at once.
func (c *Client) DeleteMessage(ctx context.Context, chatID, messageID string) error {
	_, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_DeleteMessage{DeleteMessage: &syncv1.DeleteMessage{ChatId: chatID, MessageId: messageID}}},
		effect{bucket: "chat:" + chatID, entity: "message", id: messageID, del: true})
	return err
}

// RemoveConnection removes an accepted connection by its id.
func (c *Client) RemoveConnection(ctx context.Context, connectionID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_RemoveConnection{RemoveConnection: &syncv1.RemoveConnection{ConnectionId: connectionID}}},
		effect{bucket: "user:" + me, entity: "connection", id: connectionID, del: true})
	return err
}

// RequestToJoin asks to join a restricted group under a client-proposed
// request id; the request shows in Requests at once.
func (c *Client) RequestToJoin(ctx context.Context, chatID string) (JoinRequest, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return JoinRequest{}, err
	}
	now := c.opts.Now()
	r := JoinRequest{ID: oid.NewAt(now), Chat: chatID, User: me, Status: "pending", CreatedAt: wire.T(now)}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_RequestToJoin{RequestToJoin: &syncv1.RequestToJoin{RequestId: r.ID, ChatId: chatID}}},
		effect{bucket: "user:" + me.ID, entity: "request", id: r.ID, value: r})
	return r, err
}

// AnswerJoinRequest accepts or rejects a join request (admins of its chat).
func (c *Client) AnswerJoinRequest(ctx context.Context, requestID string, accept bool) error {
	status := "rejected"
	m := &syncv1.Mutation{Kind: &syncv1.Mutation_RejectJoinRequest{RejectJoinRequest: &syncv1.RejectJoinRequest{RequestId: requestID}}}
	if accept {
		status = "accepted"
		m = &syncv1.Mutation{Kind: &syncv1.Mutation_AcceptJoinRequest{AcceptJoinRequest: &syncv1.AcceptJoinRequest{RequestId: requestID}}}
	}
	eff, err := c.patch(ctx, "request", "", requestID, func(r map[string]any) { r["status"] = status })
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, m, eff...)
	return err
}

// ReadNotification marks a notification read.
func (c *Client) ReadNotification(ctx context.Context, id string) error {
	eff, err := c.patch(ctx, "notification", "", id, func(n map[string]any) { n["read"] = true })
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_MarkNotificationRead{MarkNotificationRead: &syncv1.MarkNotificationRead{NotificationId: id}}}, eff...)
	return err
}

// ReadAllNotifications marks every notification read.
func (c *Client) ReadAllNotifications(ctx context.Context) error {
	es, err := c.entities(ctx, "notification", "")
	if err != nil {
		return err
	}
	var effects []effect
	for _, e := range es {
		var n map[string]any
		if json.Unmarshal(e.Data, &n) != nil || n["read"] == true {
			continue
		}
		n["read"] = true
		effects = append(effects, effect{bucket: e.Bucket, entity: "notification", id: e.ID, value: n})
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_MarkAllNotificationsRead{MarkAllNotificationsRead: &syncv1.MarkAllNotificationsRead{}}}, effects...)
	return err
}

// NewReel describes a reel: a video already hosted at Video.
type NewReel struct {
	Chat, Description, Tag, Video string
	Hashtags                      []string
	Anonymous                     bool
}

// CreateReel posts a reel to a chat under a client-proposed id and
// returns the id; the reel shows after the server has it.
func (c *Client) CreateReel(ctx context.Context, in NewReel) (string, error) {
	id := oid.NewAt(c.opts.Now())
	_, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_CreateReel{CreateReel: &syncv1.CreateReel{
		ReelId: id, ChatId: in.Chat, Description: in.Description, Tag: in.Tag, Video: in.Video, Hashtags: in.Hashtags, IsAnonymous: in.Anonymous}}})
	return id, err
}

// React toggles a reaction ("like", "superlike", "favorite") to a reel.
func (c *Client) React(ctx context.Context, reelID, reaction string) error {
	_, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_ReactToReel{ReactToReel: &syncv1.ReactToReel{ReelId: reelID, Reaction: reaction}}})
	return err
}

// AddPushDevice registers this device's push token for the user.
func (c *Client) AddPushDevice(ctx context.Context, token string) error {
	_, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_AddPushDevice{AddPushDevice: &syncv1.AddPushDevice{Token: token}}})
	return err
}

// RemovePushDevice forgets a push token of the user.
func (c *Client) RemovePushDevice(ctx context.Context, token string) error {
	_, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_RemovePushDevice{RemovePushDevice: &syncv1.RemovePushDevice{Token: token}}})
	return err
}

// Follow starts following a user: Following shows it at once.
func (c *Client) Follow(ctx context.Context, userID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	f := Follow{ID: me + ":" + userID, Follower: me, Followee: userID, CreatedAt: wire.T(c.opts.Now())}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_Follow{Follow: &syncv1.FollowUser{UserId: userID}}},
		effect{bucket: "user:" + me, entity: "follow", id: f.ID, value: f})
	return err
}

// Unfollow stops following a user, at once.
func (c *Client) Unfollow(ctx context.Context, userID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_Unfollow{Unfollow: &syncv1.UnfollowUser{UserId: userID}}},
		effect{bucket: "user:" + me, entity: "follow", id: me + ":" + userID, del: true})
	return err
}

// Block blocks a user: Blocked shows it, and follows either way and the
// connection with them disappear, at once (as the server removes them).
func (c *Client) Block(ctx context.Context, userID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	b := Block{ID: me + ":" + userID, Blocker: me, Blocked: userID, CreatedAt: wire.T(c.opts.Now())}
	effects := []effect{{bucket: "user:" + me, entity: "block", id: b.ID, value: b},
		{bucket: "user:" + me, entity: "follow", id: me + ":" + userID, del: true},
		{bucket: "user:" + me, entity: "follow", id: userID + ":" + me, del: true}}
	cs, err := c.Connections(ctx, "")
	if err != nil {
		return err
	}
	for _, cn := range cs {
		if cn.User.ID == userID {
			effects = append(effects, effect{bucket: "user:" + me, entity: "connection", id: cn.ID, del: true})
		}
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_Block{Block: &syncv1.BlockUser{UserId: userID}}}, effects...)
	return err
}

// Unblock lifts a block, at once.
func (c *Client) Unblock(ctx context.Context, userID string) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_Unblock{Unblock: &syncv1.UnblockUser{UserId: userID}}},
		effect{bucket: "user:" + me, entity: "block", id: me + ":" + userID, del: true})
	return err
}

// SetStatus sets the meet-me status for d (1 minute to 24 hours, whole
// minutes); empty text clears it. Me shows it at once.
func (c *Client) SetStatus(ctx context.Context, text string, d time.Duration) error {
	me, err := c.me(ctx)
	if err != nil {
		return err
	}
	now := c.opts.Now()
	eff, err := c.patch(ctx, "user", "user:"+me, me, func(u map[string]any) {
		if text == "" {
			delete(u, "status")
			return
		}
		u["status"] = MeetMeStatus{ID: oid.NewAt(now), Text: text, ExpiresAt: wire.T(now.Add(d.Truncate(time.Minute))), CreatedAt: wire.T(now)}
	})
	if err != nil {
		return err
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_SetStatus{SetStatus: &syncv1.SetStatus{Text: text, ExpiresInSeconds: int64(d / time.Second)}}}, eff...)
	return err
}
