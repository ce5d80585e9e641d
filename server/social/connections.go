package social

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/wire"
)

// Connections: one model behind three REST surfaces.
//
// Each pair of users has at most one connection record, whichever way the
// request went. spec/1 (/connections), spec/4 (/connections/... shapes)
// and the v1 API (/v1/connections) are views over the methods in this
// file; the integer ids of v1 are the records' Num.
//
// Decisions where the documents are loose:
//
//   - statusDetail is the id of the target's meet-me status that a spec/1
//     request answers. The spec/1 request needs the target to have an
//     active status (409 no_active_status otherwise; an expired status
//     counts as none). A v1 request needs none and answers no status.
//   - Requesting again while your own request is pending: with a different
//     active status of the target the record is updated (new statusDetail,
//     message and createdAt, a fresh notification replacing the old one,
//     no new score); with the same status, or through v1, it is a 409
//     request_exists.
//   - Requesting someone whose request to you is pending is a 409
//     request_received: accept theirs instead. This and already_connected
//     are checked before the target's status, so they answer even when the
//     target has no active status.
//   - Re-requesting after a decline: the user who declined may send a
//     request of their own at any time (the record turns around and is
//     pending again). The user who was declined may ask again only by
//     answering a newer meet-me status of the target; otherwise 409
//     request_processed ("Request already processed"). A declined request
//     stays on record as declined until then.
//   - DELETE /connections/:userId on a pending request cancels it for the
//     sender (the record and the recipient's notification are deleted) and
//     declines it for the recipient (the record stays, declined). It
//     refuses an accepted connection (409 connection_accepted; v1's DELETE
//     removes those) and a declined one (409 request_processed).
//   - v1 DELETE /v1/connections/{user_id}/{id} removes accepted
//     connections only (409 connection_not_active otherwise).
//   - Score: create-meetme-request goes to the sender when a request is
//     created (or a declined one reopened); add-new-friend goes to both
//     users when a request is accepted. Each counts once per pair of
//     users (the action's subject is the other user): cancelling and
//     re-sending a request, or removing and re-making a connection, earns
//     nothing more, so the score cannot be farmed. Each change sends
//     score-updated.
//   - Accept and decline answer 403 not_recipient to the sender, 409
//     already_connected for an accepted record and 409 request_processed
//     for a declined one. A record the caller is not part of, or one with a
//     user hidden by a block, is a 404.
//   - Live events: connection-request to the recipient; connection-accepted
//     and connection-declined to both users; connection-removed to both
//     when a record is deleted. The caller's own socket is skipped.
//   - GET /connections without status lists pending and accepted records;
//     declined ones show only through the status endpoint and v1 lists.
//   - "Also delete both user profile status field if expired": accepting
//     and deleting remove the expired meet-me statuses of both users.
//   - A user id that is malformed, or the caller's own, is a 400; a
//     missing user or one hidden by a block either way is a 404.

// EntityConnection is the feed entity of a connection record.
const EntityConnection = "connection"

// Live events of connections.
const (
	EventConnectionRequest  = "connection-request"
	EventConnectionAccepted = "connection-accepted"
	EventConnectionDeclined = "connection-declined"
	EventConnectionRemoved  = "connection-removed"
)

// Notification types of connections.
const (
	NotifyConnectionRequest  = "connection-request"
	NotifyConnectionAccepted = "connection-accepted"
	NotifyConnectionDeclined = "connection-declined"
)

// MaxConnectionMessageLen bounds the optional message of a request.
const MaxConnectionMessageLen = wire.MaxConnectionMessageLen

// Connection statuses.
const (
	ConnectionPending  = store.ConnPending
	ConnectionAccepted = store.ConnAccepted
	ConnectionDeclined = store.ConnDeclined
)

// Connection is a connection record with both users populated: its
// replicated form (in both users' buckets) and the payload of its live
// events. The REST surfaces render their own shapes from it.
type Connection struct {
	ID           string    `json:"_id"`
	Num          int64     `json:"num"`
	From         User      `json:"from"`
	To           User      `json:"to"`
	Status       string    `json:"status"`
	Message      string    `json:"message,omitempty"`
	StatusDetail string    `json:"statusDetail,omitempty"`
	CreatedAt    wire.Time `json:"createdAt"`
	AcceptedAt   wire.Time `json:"acceptedAt,omitzero"`
	RespondedAt  wire.Time `json:"respondedAt,omitzero"`
}

// Other is the user of c who is not userID.
func (c Connection) Other(userID string) User {
	if c.From.ID == userID {
		return c.To
	}
	return c.From
}

// Side is "sent" when userID sent the request, "received" otherwise.
func (c Connection) Side(userID string) string {
	if c.From.ID == userID {
		return store.RoleSent
	}
	return store.RoleReceived
}

// ConnectionEvent is the payload of the connection live events.
type ConnectionEvent struct {
	Connection Connection `json:"connection"`
}

func connectionsFrom(ctx context.Context, tx *store.Tx, rows []store.Connection) ([]Connection, error) {
	ids := make([]string, 0, 2*len(rows))
	for _, r := range rows {
		ids = append(ids, r.FromID, r.ToID)
	}
	users, err := tx.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Connection, len(rows))
	for i, r := range rows {
		out[i] = Connection{
			ID: r.ID, Num: r.Num, From: userFrom(users[r.FromID]), To: userFrom(users[r.ToID]),
			Status: r.Status, Message: r.Message, StatusDetail: r.StatusDetail,
			CreatedAt: wire.T(r.CreatedAt), AcceptedAt: wire.T(r.AcceptedAt), RespondedAt: wire.T(r.RespondedAt),
		}
	}
	return out, nil
}

// replicateConnection records conn's current form in both users' buckets.
func replicateConnection(ctx context.Context, tx *store.Tx, conn store.Connection) (Connection, error) {
	cs, err := connectionsFrom(ctx, tx, []store.Connection{conn})
	if err != nil {
		return Connection{}, err
	}
	if err := put(ctx, tx, EntityConnection, conn.ID, cs[0], UserBucket(conn.FromID), UserBucket(conn.ToID)); err != nil {
		return Connection{}, err
	}
	return cs[0], settleProfiles(ctx, tx, conn.FromID, conn.ToID)
}

// removeConnection deletes conn, tombstones it in both buckets, tells both
// users, and (for a pending request) deletes the recipient's notification.
func removeConnection(ctx context.Context, tx *store.Tx, c Caller, conn store.Connection, dropNotice bool) error {
	if err := tx.DeleteConnection(ctx, conn.Num); err != nil {
		return err
	}
	if err := drop(ctx, tx, EntityConnection, conn.ID, UserBucket(conn.FromID), UserBucket(conn.ToID)); err != nil {
		return err
	}
	if err := settleProfiles(ctx, tx, conn.FromID, conn.ToID); err != nil {
		return err
	}
	if dropNotice {
		if err := deleteNotifications(ctx, tx, store.NotificationMatch{SubjectID: conn.ID, Type: NotifyConnectionRequest}); err != nil {
			return err
		}
	}
	return emit(ctx, tx, c, EventConnectionRemoved, map[string]any{"_id": conn.ID, "num": conn.Num},
		UserBucket(conn.FromID), UserBucket(conn.ToID))
}

// ConnectionRequest is the input of RequestConnection.
type ConnectionRequest struct {
	// ID is a client-proposed id of the record (optional): kept when it is
	// a valid id nothing uses (409 id_taken otherwise), also when the
	// request reopens a declined record, which then takes this id.
	ID      string
	To      string // the user asked (errors name it FieldOtherUser)
	Message string // optional, at most MaxConnectionMessageLen characters
	// AnswerStatus makes the request answer the target's active meet-me
	// status (spec/1); without it no status is needed (v1).
	AnswerStatus bool
}

// RequestConnection sends a connection request from the caller to in.To
// and reports whether a new request was made (false when an existing
// pending request was updated to answer a newer status). See the
// package-level notes on EntityConnection for the rules.
func (s *Service) RequestConnection(ctx context.Context, c Caller, in ConnectionRequest) (out Connection, fresh bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, fresh, err = requestConnection(ctx, tx, c, in)
		return err
	})
	return out, fresh, err
}

func requestConnection(ctx context.Context, tx *store.Tx, c Caller, in ConnectionRequest) (Connection, bool, error) {
	msg := strings.TrimSpace(in.Message)
	if utf8.RuneCountInString(msg) > MaxConnectionMessageLen {
		return Connection{}, false, apperr.InvalidField("message", "message must be at most %d characters", MaxConnectionMessageLen)
	}
	var out Connection
	var fresh bool
	if _, err := otherUser(ctx, tx, c, FieldOtherUser, in.To); err != nil {
		return out, fresh, err
	}
	id, err := newID(tx, FieldConnectionID, in.ID, func() (bool, error) { return connectionIDUsed(ctx, tx, c, in.ID) })
	if err != nil {
		return out, fresh, err
	}
	conn, err := tx.ConnectionBetween(ctx, c.UserID, in.To)
	exists := err == nil
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return out, fresh, err
	}
	// The state of the pair decides before the target's status does:
	// connected users are told so even when the target has no status.
	switch {
	case exists && conn.Status == store.ConnAccepted:
		return out, fresh, alreadyConnected()
	case exists && conn.Status == store.ConnPending && conn.FromID != c.UserID:
		return out, fresh, apperr.Conflictf("request_received", "This user already sent you a connection request; accept it instead")
	}
	detail := ""
	if in.AnswerStatus {
		st, err := tx.ActiveStatuses(ctx, []string{in.To})
		if err != nil {
			return out, fresh, err
		}
		active, ok := st[in.To]
		if !ok {
			return out, fresh, apperr.Conflictf("no_active_status", "This user has no active status to answer")
		}
		detail = active.ID
	}
	switch {
	case !exists:
		fresh = true
		conn, err = tx.InsertConnection(ctx, store.Connection{
			ID: id, FromID: c.UserID, ToID: in.To, Status: store.ConnPending,
			Message: msg, StatusDetail: detail, CreatedAt: tx.Now,
		})
		if err != nil {
			return out, fresh, err
		}
	case conn.Status == store.ConnPending && (!in.AnswerStatus || conn.StatusDetail == detail):
		return out, fresh, apperr.Conflictf("request_exists", "Connection request already sent")
	case conn.Status == store.ConnDeclined && conn.FromID == c.UserID && (!in.AnswerStatus || conn.StatusDetail == detail):
		return out, fresh, requestProcessed()
	default: // a newer status answered, or a declined record reopened
		fresh = conn.Status == store.ConnDeclined
		if err := deleteNotifications(ctx, tx, store.NotificationMatch{SubjectID: conn.ID, Type: NotifyConnectionRequest}); err != nil {
			return out, fresh, err
		}
		if in.ID != "" && in.ID != conn.ID {
			// The device named the request: the reopened record takes
			// that name, and its old one leaves both buckets.
			if err := drop(ctx, tx, EntityConnection, conn.ID, UserBucket(conn.FromID), UserBucket(conn.ToID)); err != nil {
				return out, fresh, err
			}
			conn.ID = in.ID
		}
		conn.FromID, conn.ToID, conn.Status = c.UserID, in.To, store.ConnPending
		conn.Message, conn.StatusDetail, conn.CreatedAt = msg, detail, tx.Now
		conn.AcceptedAt, conn.RespondedAt = time.Time{}, time.Time{}
		if conn, err = tx.UpdateConnection(ctx, conn); err != nil {
			return out, fresh, err
		}
	}
	me, err := tx.User(ctx, c.UserID)
	if err != nil {
		return out, fresh, err
	}
	text := msg
	if text == "" {
		text = me.Name + " wants to connect with you"
	}
	if _, err := notify(ctx, tx, store.Notification{UserID: in.To, Type: NotifyConnectionRequest, ActorID: c.UserID,
		SubjectType: EntityConnection, SubjectID: conn.ID, Message: text}); err != nil {
		return out, fresh, err
	}
	if out, err = replicateConnection(ctx, tx, conn); err != nil {
		return out, fresh, err
	}
	if err := emit(ctx, tx, c, EventConnectionRequest, ConnectionEvent{out}, UserBucket(in.To)); err != nil {
		return out, fresh, err
	}
	if fresh {
		_, err = addScoreOnce(ctx, tx, c, c.UserID, ActionCreateMeetMeRequest, in.To)
	}
	return out, fresh, err
}

func alreadyConnected() error {
	return apperr.Conflictf("already_connected", "Users are already connected")
}

func requestProcessed() error {
	return apperr.Conflictf("request_processed", "Request already processed")
}

// ConnectionRef names a connection record from the caller's side: by the
// other user's id (the documented API) or by its integer id (v1). Exactly
// one is set.
type ConnectionRef struct {
	With string
	Num  int64
	ID   string
}

// ByID refers to the record with id.
func ByID(id string) ConnectionRef { return ConnectionRef{ID: id} }

// ByUser refers to the caller's record with user id.
func ByUser(id string) ConnectionRef { return ConnectionRef{With: id} }

// ByNum refers to the record with integer id num.
func ByNum(num int64) ConnectionRef { return ConnectionRef{Num: num} }

// findConnection resolves ref for the caller inside tx: a 404 when there
// is no such record, the caller is not part of it, or a block hides the
// other user.
func findConnection(ctx context.Context, tx *store.Tx, c Caller, ref ConnectionRef) (store.Connection, error) {
	if ref.Num != 0 || ref.With == "" {
		missing := apperr.NotFoundf("connection_not_found", "Connection request with ID '%d' does not exist", ref.Num)
		var conn store.Connection
		var err error
		if ref.ID != "" {
			if err := ValidID(FieldConnectionID, ref.ID); err != nil {
				return store.Connection{}, err
			}
			missing = apperr.NotFoundf("connection_not_found", "Connection '%s' does not exist", ref.ID)
			conn, err = tx.ConnectionByID(ctx, ref.ID)
		} else {
			conn, err = tx.ConnectionByNum(ctx, ref.Num)
		}
		if apperr.Is(err, apperr.NotFound) {
			return store.Connection{}, missing
		} else if err != nil {
			return store.Connection{}, err
		}
		if conn.FromID != c.UserID && conn.ToID != c.UserID {
			return store.Connection{}, missing
		}
		if blocked, err := tx.Blocked(ctx, conn.FromID, conn.ToID); err != nil {
			return store.Connection{}, err
		} else if blocked {
			return store.Connection{}, missing
		}
		return conn, nil
	}
	if _, err := otherUser(ctx, tx, c, FieldOtherUser, ref.With); err != nil {
		return store.Connection{}, err
	}
	conn, err := tx.ConnectionBetween(ctx, c.UserID, ref.With)
	if apperr.Is(err, apperr.NotFound) {
		return store.Connection{}, apperr.NotFoundf("connection_not_found", "There is no connection with this user")
	}
	return conn, err
}

// AcceptConnection accepts the pending request ref names. Only its
// recipient may (403 not_recipient); an accepted record is a 409
// already_connected, a declined one a 409 request_processed. Accepting
// notifies the sender, dismisses the recipient's request notification,
// removes both users' expired statuses, gives both add-new-friend points
// and sends connection-accepted to both.
func (s *Service) AcceptConnection(ctx context.Context, c Caller, ref ConnectionRef) (Connection, error) {
	var out Connection
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.acceptConnection(ctx, tx, c, ref)
		return err
	})
	return out, err
}

func (s *Service) acceptConnection(ctx context.Context, tx *store.Tx, c Caller, ref ConnectionRef) (Connection, error) {
	var out Connection
	conn, err := findConnection(ctx, tx, c, ref)
	if err != nil {
		return out, err
	}
	if conn.ToID != c.UserID {
		return out, apperr.Forbiddenf("not_recipient", "Not authorized to accept this request")
	}
	if err := pendingOnly(conn); err != nil {
		return out, err
	}
	conn.Status, conn.AcceptedAt, conn.RespondedAt = store.ConnAccepted, tx.Now, tx.Now
	if conn, err = tx.UpdateConnection(ctx, conn); err != nil {
		return out, err
	}
	if err := dropExpiredStatuses(ctx, tx, conn.FromID, conn.ToID); err != nil {
		return out, err
	}
	if err := s.answered(ctx, tx, conn, NotifyConnectionAccepted, "Your connection request was accepted!"); err != nil {
		return out, err
	}
	if out, err = replicateConnection(ctx, tx, conn); err != nil {
		return out, err
	}
	if err := emit(ctx, tx, c, EventConnectionAccepted, ConnectionEvent{out}, UserBucket(conn.FromID), UserBucket(conn.ToID)); err != nil {
		return out, err
	}
	for _, id := range []string{conn.FromID, conn.ToID} {
		if _, err := addScoreOnce(ctx, tx, c, id, ActionAddNewFriend, out.Other(id).ID); err != nil {
			return out, err
		}
	}
	return out, nil
}

func pendingOnly(conn store.Connection) error {
	switch conn.Status {
	case store.ConnAccepted:
		return alreadyConnected()
	case store.ConnDeclined:
		return requestProcessed()
	}
	return nil
}

// answered dismisses the recipient's request notification and notifies the
// sender of the answer.
func (s *Service) answered(ctx context.Context, tx *store.Tx, conn store.Connection, kind, text string) error {
	if err := dismissNotifications(ctx, tx, store.NotificationMatch{SubjectID: conn.ID, Type: NotifyConnectionRequest, UserID: conn.ToID}); err != nil {
		return err
	}
	_, err := notify(ctx, tx, store.Notification{UserID: conn.FromID, Type: kind, ActorID: conn.ToID,
		SubjectType: EntityConnection, SubjectID: conn.ID, Message: text})
	return err
}

// DeclineConnection declines the pending request ref names; the same
// errors as AcceptConnection. The record stays, declined; the sender is
// notified and both get connection-declined.
func (s *Service) DeclineConnection(ctx context.Context, c Caller, ref ConnectionRef) (Connection, error) {
	var out Connection
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.declineConnection(ctx, tx, c, ref)
		return err
	})
	return out, err
}

func (s *Service) declineConnection(ctx context.Context, tx *store.Tx, c Caller, ref ConnectionRef) (Connection, error) {
	var out Connection
	conn, err := findConnection(ctx, tx, c, ref)
	if err != nil {
		return out, err
	}
	if conn.ToID != c.UserID {
		return out, apperr.Forbiddenf("not_recipient", "Not authorized to decline this request")
	}
	if err := pendingOnly(conn); err != nil {
		return out, err
	}
	out, err = s.decline(ctx, tx, c, conn)
	return out, err
}

func (s *Service) decline(ctx context.Context, tx *store.Tx, c Caller, conn store.Connection) (Connection, error) {
	conn.Status, conn.RespondedAt = store.ConnDeclined, tx.Now
	conn, err := tx.UpdateConnection(ctx, conn)
	if err != nil {
		return Connection{}, err
	}
	if err := s.answered(ctx, tx, conn, NotifyConnectionDeclined, "Your connection request was declined"); err != nil {
		return Connection{}, err
	}
	out, err := replicateConnection(ctx, tx, conn)
	if err != nil {
		return Connection{}, err
	}
	return out, emit(ctx, tx, c, EventConnectionDeclined, ConnectionEvent{out}, UserBucket(conn.FromID), UserBucket(conn.ToID))
}

// DeleteConnection is spec/1's DELETE /connections/:userId: on a pending
// request it cancels it for the sender (record and the recipient's
// notification deleted; cancelled is true) and declines it for the
// recipient. An accepted connection is a 409 connection_accepted, a
// declined one a 409 request_processed. Expired statuses of both users are
// removed.
func (s *Service) DeleteConnection(ctx context.Context, c Caller, with string) (out Connection, cancelled bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, cancelled, err = s.deleteConnection(ctx, tx, c, with, false)
		return err
	})
	return out, cancelled, err
}

// deleteConnection is DeleteConnection; with removeAccepted it also
// removes an accepted connection (as RemoveConnection does) instead of
// refusing it.
// ReasonConnectionAccepted refuses to cancel or decline a request that was
// accepted: removing an accepted connection is another action.
const ReasonConnectionAccepted = syncv1.ReasonConnectionAccepted

func (s *Service) deleteConnection(ctx context.Context, tx *store.Tx, c Caller, with string, removeAccepted bool) (out Connection, cancelled bool, err error) {
	conn, err := findConnection(ctx, tx, c, ByUser(with))
	if err != nil {
		return out, cancelled, err
	}
	switch conn.Status {
	case store.ConnAccepted:
		if removeAccepted {
			return out, cancelled, removeConnection(ctx, tx, c, conn, false)
		}
		return out, cancelled, apperr.Conflictf(ReasonConnectionAccepted, "An accepted connection cannot be deleted")
	case store.ConnDeclined:
		return out, cancelled, requestProcessed()
	}
	if err := dropExpiredStatuses(ctx, tx, conn.FromID, conn.ToID); err != nil {
		return out, cancelled, err
	}
	if conn.FromID == c.UserID {
		cs, err := connectionsFrom(ctx, tx, []store.Connection{conn})
		if err != nil {
			return out, cancelled, err
		}
		out, cancelled = cs[0], true
		return out, cancelled, removeConnection(ctx, tx, c, conn, true)
	}
	out, err = s.decline(ctx, tx, c, conn)
	return out, cancelled, err
}

// RemoveConnection is v1's DELETE: it removes an accepted connection
// either user is part of (409 connection_not_active for any other status).
func (s *Service) RemoveConnection(ctx context.Context, c Caller, ref ConnectionRef) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return removeAcceptedConnection(ctx, tx, c, ref) })
}

func removeAcceptedConnection(ctx context.Context, tx *store.Tx, c Caller, ref ConnectionRef) error {
	conn, err := findConnection(ctx, tx, c, ref)
	if err != nil {
		return err
	}
	if conn.Status != store.ConnAccepted {
		return apperr.Conflictf("connection_not_active", "Connection is not active")
	}
	return removeConnection(ctx, tx, c, conn, false)
}

// ConnectionWith returns the caller's record with user id, or nil when
// there is none. 400 for a malformed or own id, 404 for a missing or
// hidden user.
func (s *Service) ConnectionWith(ctx context.Context, c Caller, id string) (*Connection, error) {
	var out *Connection
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		conn, err := findConnection(ctx, tx, c, ByUser(id))
		if apperr.Is(err, apperr.NotFound) && apperr.Public(err).Reason == "connection_not_found" {
			return nil
		} else if err != nil {
			return err
		}
		cs, err := connectionsFrom(ctx, tx, []store.Connection{conn})
		if err != nil {
			return err
		}
		out = &cs[0]
		return nil
	})
	return out, err
}

// ConnectionQuery filters the caller's connection records: Role is "" (any),
// "sent" or "received"; Statuses empty means any status.
type ConnectionQuery struct {
	Role     string
	Statuses []string
}

// Connections lists one page of the caller's records matching q, most
// recent first, leaving out users hidden by a block; and the total.
func (s *Service) Connections(ctx context.Context, c Caller, q ConnectionQuery, p Page) ([]Connection, int, error) {
	// The kept list, when the version in this statement's snapshot is the
	// one it was read at (connlistcache.go).
	v, err := s.db.ConnectionsVersion(ctx, c.UserID)
	if err != nil {
		return nil, 0, err
	}
	all, kept, tooMany := s.connLists.get(c.UserID, v)
	if kept {
		out, total := pageConnections(all, c.UserID, q, p)
		return out, total, nil
	}
	var out []Connection
	var total int
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		if !tooMany {
			// Not known at v: the whole list, kept when small enough.
			v, err := tx.ConnectionsVersion(ctx, c.UserID)
			if err != nil {
				return err
			}
			rows, n, err := tx.Connections(ctx, store.ConnectionFilter{UserID: c.UserID, Limit: connListMaxRecords})
			if err != nil {
				return err
			}
			if n <= connListMaxRecords {
				all, err := connectionsFrom(ctx, tx, rows)
				if err != nil {
					return err
				}
				s.connLists.put(c.UserID, v, all)
				out, total = pageConnections(all, c.UserID, q, p)
				return nil
			}
			s.connLists.putTooMany(c.UserID, v)
		}
		// Too many to keep: the page asked for.
		rows, n, err := tx.Connections(ctx, store.ConnectionFilter{UserID: c.UserID, Role: q.Role, Statuses: q.Statuses, Offset: p.Offset, Limit: p.Limit})
		if err != nil {
			return err
		}
		total = n
		out, err = connectionsFrom(ctx, tx, rows)
		return err
	})
	return out, total, err
}
