package client

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

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
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_UpdateProfile{UpdateProfile: &syncv1.UpdateProfile{
		Name: upd.Name, Username: upd.Username, Bio: upd.Bio}}},
		effect{bucket: "user:" + me.ID, entity: "user", id: me.ID, value: me})
	return me, err
}

// SendMessage posts text to a chat: the message shows at once (Pending)
// and is delivered, exactly once, by a later Sync.
func (c *Client) SendMessage(ctx context.Context, chatID, text string) (Message, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return Message{}, err
	}
	now := c.opts.Now()
	msg := Message{ID: oid.NewAt(now), Chat: chatID, User: me, Text: text, At: wire.T(now), Pending: true}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_SendMessage{SendMessage: &syncv1.SendMessage{
		MessageId: msg.ID, ChatId: chatID, Text: text}}},
		effect{bucket: "chat:" + chatID, entity: "message", id: msg.ID, value: msg})
	return msg, err
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
	for _, cn := range cs {
		if cn.User.ID == userID {
			effects = append(effects, effect{bucket: "user:" + me, entity: "connection", id: cn.ID, del: true})
		}
	}
	_, err = c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_DeleteConnection{DeleteConnection: &syncv1.DeleteConnection{UserId: userID}}}, effects...)
	return err
}

// NewChat describes a chat to create.
type NewChat struct {
	Group    bool
	Name     string // groups
	Category string // groups
	// Users are the other participants: exactly one for a one-to-one chat.
	Users []string
}

// CreateChat queues the creation of a chat. The server assigns its id, so
// it shows in Chats after the next Sync.
func (c *Client) CreateChat(ctx context.Context, in NewChat) error {
	_, err := c.enqueue(ctx, &syncv1.Mutation{Kind: &syncv1.Mutation_CreateChat{CreateChat: &syncv1.CreateChat{
		Group: in.Group, Name: in.Name, Category: in.Category, ParticipantIds: in.Users}}})
	return err
}
