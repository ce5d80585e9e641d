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
	"google.golang.org/protobuf/reflect/protoreflect"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// Outcomes of a mutation that was not applied.
const (
	// OutcomeRejected: the server refused it for good; Reason says why.
	OutcomeRejected = "rejected"
	// OutcomeUnknown: the server no longer knows what became of it (its
	// record is older than the server keeps) and the replica does not show
	// its effect either: it may or may not have been applied. Check before
	// making the change again.
	OutcomeUnknown = "unknown"
)

// Rejection is a mutation that was not applied: rejected by the server,
// or of unknown outcome. Its optimistic effects are gone from the replica
// by the time it is reported; the mutation itself is kept, with what the
// user wrote, until Retry or Dismiss.
type Rejection struct {
	MutationID int64
	Kind       string // e.g. "send_message"
	Outcome    string // OutcomeRejected or OutcomeUnknown
	Code       string // "invalid", "forbidden", "not_found", "conflict", "unimplemented", …
	Reason     string // machine-readable, as the REST API's "code"
	Message    string
	Field      string
	// Target is what the mutation acted on, with names from the replica:
	// `chat "Hikers"`, `@bob (Bob)`.
	Target string
	// Content is what the user wrote, on one line: a message's text, a
	// profile's fields.
	Content string
	At      time.Time
}

// ErrNoRejection: Retry or Dismiss named a mutation that is not kept.
var ErrNoRejection = errors.New("client: no such rejected change")

// describe names a mutation's target and content from the replica.
func describe(ctx context.Context, q querier, m *syncv1.Mutation) (target, content string) {
	r := m.ProtoReflect()
	f := r.WhichOneof(r.Descriptor().Oneofs().ByName("kind"))
	if f == nil {
		return "", ""
	}
	k := r.Get(f).Message()
	var targets, parts []string
	fields := k.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.StringKind || fd.IsList() || !k.Has(fd) {
			continue
		}
		name, v := string(fd.Name()), k.Get(fd).String()
		switch name {
		case "chat_id":
			targets = append(targets, "chat "+chatName(ctx, q, v))
		case "user_id":
			targets = append(targets, userName(ctx, q, v))
		default:
			if strings.HasSuffix(name, "_id") {
				continue
			}
			if name == "text" {
				parts = append(parts, v)
			} else {
				parts = append(parts, name+": "+v)
			}
		}
	}
	content = strings.Join(strings.Fields(strings.Join(parts, "; ")), " ")
	if r := []rune(content); len(r) > 200 {
		content = string(r[:199]) + "…"
	}
	return strings.Join(targets, ", "), content
}

func chatName(ctx context.Context, q querier, id string) string {
	var v struct {
		Name string `json:"name"`
	}
	if data := rowData(ctx, q, "chat", id); data != nil && json.Unmarshal(data, &v) == nil && v.Name != "" {
		return fmt.Sprintf("%q", v.Name)
	}
	return id
}

func userName(ctx context.Context, q querier, id string) string {
	var u User
	if data := rowData(ctx, q, "user", id); data != nil && json.Unmarshal(data, &u) == nil && u.Username != "" {
		return fmt.Sprintf("@%s (%s)", u.Username, u.Name)
	}
	return "user " + id
}

// rowData is the replica's current form of an entity (optimistic first).
func rowData(ctx context.Context, q querier, entity, id string) []byte {
	var data []byte
	err := q.QueryRowContext(ctx, `SELECT data FROM (
		SELECT data, 1 AS o, mutation_id AS s FROM overlay WHERE entity = ? AND id = ? AND op = 'upsert'
		UNION ALL SELECT data, 0, seq FROM rows WHERE entity = ? AND id = ?) ORDER BY o DESC, s DESC LIMIT 1`,
		entity, id, entity, id).Scan(&data)
	if err != nil {
		return nil
	}
	return data
}

// recordRejection moves a mutation that was not applied from the outbox
// (its optimistic rows go with it) to the kept rejections, with what it
// acted on and what the user wrote. It reports false when another process
// sharing the data folder already did (and reports it).
func recordRejection(ctx context.Context, tx *sql.Tx, rej *Rejection) (bool, error) {
	var body []byte
	err := tx.QueryRowContext(ctx, `SELECT body FROM outbox WHERE id = ?`, rej.MutationID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var m syncv1.Mutation
	if err := proto.Unmarshal(body, &m); err == nil {
		rej.Target, rej.Content = describe(ctx, tx, &m)
	}
	if rej.Outcome == "" {
		rej.Outcome = OutcomeRejected
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, rej.MutationID); err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO rejections (mutation_id, kind, code, reason, message, field, at, outcome, target, content, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rej.MutationID, rej.Kind, rej.Code, rej.Reason, rej.Message, rej.Field, rej.At.UnixMilli(), rej.Outcome, rej.Target, rej.Content, body)
	return err == nil, err
}

// Rejections lists the mutations that were not applied (rejected, or of
// unknown outcome) and are kept until Retry or Dismiss, newest first.
func (c *Client) Rejections(ctx context.Context) ([]Rejection, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT mutation_id, kind, outcome, code, reason, message, field, target, content, at FROM rejections ORDER BY mutation_id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rejection
	for rows.Next() {
		var r Rejection
		var at int64
		if err := rows.Scan(&r.MutationID, &r.Kind, &r.Outcome, &r.Code, &r.Reason, &r.Message, &r.Field, &r.Target, &r.Content, &at); err != nil {
			return nil, err
		}
		r.At = time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// Dismiss forgets a kept rejection: the user gives the change up.
func (c *Client) Dismiss(ctx context.Context, mutationID int64) error {
	res, err := c.db.ExecContext(ctx, `DELETE FROM rejections WHERE mutation_id = ?`, mutationID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: #%d", ErrNoRejection, mutationID)
	}
	c.notify(ctx)
	return nil
}

// Retry queues a kept rejection's change again, as a new mutation, and
// forgets the rejection. A message gets a new id (so a message_id_taken
// cannot repeat) and shows at once, pending; other kinds show their effect
// after the next Sync. It returns the new mutation id.
func (c *Client) Retry(ctx context.Context, mutationID int64) (int64, error) {
	var body []byte
	err := c.db.QueryRowContext(ctx, `SELECT body FROM rejections WHERE mutation_id = ?`, mutationID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && body == nil) {
		return 0, fmt.Errorf("%w: #%d", ErrNoRejection, mutationID)
	} else if err != nil {
		return 0, err
	}
	var m syncv1.Mutation
	if err := proto.Unmarshal(body, &m); err != nil {
		return 0, fmt.Errorf("client: rejected mutation %d: %w", mutationID, err)
	}
	m.Id = 0
	var id int64
	switch k := m.GetKind().(type) {
	case *syncv1.Mutation_SendMessage:
		_, id, err = c.sendMessage(ctx, k.SendMessage.GetChatId(), newMessageOf(k.SendMessage))
	default:
		id, err = c.Mutate(ctx, &m)
	}
	if err != nil {
		return 0, err
	}
	if _, err := c.db.ExecContext(ctx, `DELETE FROM rejections WHERE mutation_id = ?`, mutationID); err != nil {
		return id, err
	}
	c.notify(ctx)
	return id, nil
}

// createdEntity is the entity a mutation creates under an id the client
// proposed, which shows in the replica once it was applied ("" when the
// mutation creates none, or lets the server choose the id).
func createdEntity(m *syncv1.Mutation) (entity, id string) {
	switch k := m.GetKind().(type) {
	case *syncv1.Mutation_SendMessage:
		return "message", k.SendMessage.GetMessageId()
	case *syncv1.Mutation_CreateChat:
		return "chat", k.CreateChat.GetChatId()
	case *syncv1.Mutation_CreateConnection:
		return "connection", k.CreateConnection.GetConnectionId()
	}
	return "", ""
}

// resolveUnsure settles, after a pull, the mutations that were sent but
// whose outcome the server no longer keeps (mutation_out_of_order for a
// sent one): one whose effect the replica shows (its proposed id arrived
// from the server) was applied; of the others nobody can tell, and they
// are kept and reported with outcome "unknown", never as a rejection the
// user should answer by sending again.
func (c *Client) resolveUnsure(ctx context.Context, res *SyncResult) error {
	type row struct {
		id   int64
		kind string
		m    *syncv1.Mutation
	}
	var unknown []Rejection
	var confirmed int
	err := c.tx(ctx, func(tx *sql.Tx) error {
		unknown, confirmed = nil, 0
		rs, err := tx.QueryContext(ctx, `SELECT id, kind, body FROM outbox WHERE unsure = 1 ORDER BY id`)
		if err != nil {
			return err
		}
		var list []row
		for rs.Next() {
			r := row{m: &syncv1.Mutation{}}
			var body []byte
			if err := rs.Scan(&r.id, &r.kind, &body); err != nil {
				rs.Close()
				return err
			}
			if err := proto.Unmarshal(body, r.m); err != nil {
				rs.Close()
				return fmt.Errorf("client: outbox mutation %d: %w", r.id, err)
			}
			list = append(list, r)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for _, r := range list {
			if entity, id := createdEntity(r.m); id != "" {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rows WHERE entity = ? AND id = ?`, entity, id).Scan(&n); err != nil {
					return err
				}
				if n > 0 { // applied: the server's row is here
					if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, r.id); err != nil {
						return err
					}
					confirmed++
					continue
				}
			}
			rej := Rejection{MutationID: r.id, Kind: r.kind, Outcome: OutcomeUnknown, Code: OutcomeUnknown,
				Reason: syncv1.ReasonMutationOutOfOrder, At: c.opts.Now().UTC(),
				Message: "This change was sent, its answer was lost, and the server no longer remembers it; the replica does not show it. It may or may not have been applied: check before making it again"}
			if ok, err := recordRejection(ctx, tx, &rej); err != nil {
				return err
			} else if ok {
				unknown = append(unknown, rej)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("client: settle forgotten mutations: %w", err)
	}
	res.Pushed += confirmed
	c.reportRejected(res, unknown)
	return nil
}
