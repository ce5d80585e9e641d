package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Connection statuses.
const (
	ConnPending  = "pending"
	ConnAccepted = "accepted"
	ConnDeclined = "declined"
)

// Connection is a connections row: the one record of a pair of users.
type Connection struct {
	Num          int64 // integer id (v1 API)
	ID           string
	FromID       string // who sent the request
	ToID         string // who received it
	Status       string // ConnPending, ConnAccepted or ConnDeclined
	Message      string
	StatusDetail string // the meet-me status id the request answers
	CreatedAt    time.Time
	AcceptedAt   time.Time // zero unless accepted
	RespondedAt  time.Time // zero until accepted or declined
	UpdatedAt    time.Time
}

const connectionColumns = `num, id, from_id, to_id, status, message, status_detail, created_at, accepted_at, responded_at, updated_at`

func scanConnection(s interface{ Scan(...any) error }) (Connection, error) {
	var c Connection
	var created, updated int64
	var accepted, responded sql.NullInt64
	err := s.Scan(&c.Num, &c.ID, &c.FromID, &c.ToID, &c.Status, &c.Message, &c.StatusDetail, &created, &accepted, &responded, &updated)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	c.AcceptedAt, c.RespondedAt = nullTime(accepted), nullTime(responded)
	return c, err
}

func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

// InsertConnection stores c (Num is assigned, UpdatedAt set to tx.Now) and
// returns it. A second record for the same pair is a conflict.
func (tx *Tx) InsertConnection(ctx context.Context, c Connection) (Connection, error) {
	c.UpdatedAt = tx.Now
	err := tx.queryRow(ctx, `INSERT INTO connections (id, from_id, to_id, pair_key, status, message, status_detail, created_at, accepted_at, responded_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING num`,
		c.ID, c.FromID, c.ToID, PairKey(c.FromID, c.ToID), c.Status, c.Message, c.StatusDetail,
		ms(c.CreatedAt), nullMS(c.AcceptedAt), nullMS(c.RespondedAt), ms(c.UpdatedAt)).Scan(&c.Num)
	if err != nil {
		return Connection{}, fmt.Errorf("store: insert connection: %w", translate(err))
	}
	return c, nil
}

// UpdateConnection writes every field of c (found by Num), stamping
// UpdatedAt with tx.Now, and returns it as stored.
func (tx *Tx) UpdateConnection(ctx context.Context, c Connection) (Connection, error) {
	c.UpdatedAt = tx.Now
	res, err := tx.exec(ctx, `UPDATE connections SET id = ?, from_id = ?, to_id = ?, status = ?, message = ?, status_detail = ?,
		created_at = ?, accepted_at = ?, responded_at = ?, updated_at = ? WHERE num = ?`,
		c.ID, c.FromID, c.ToID, c.Status, c.Message, c.StatusDetail, ms(c.CreatedAt), nullMS(c.AcceptedAt), nullMS(c.RespondedAt), ms(c.UpdatedAt), c.Num)
	if err != nil {
		return Connection{}, fmt.Errorf("store: update connection: %w", err)
	}
	if ok, err := affected(res); err != nil || !ok {
		return Connection{}, notFound(sql.ErrNoRows, "connection_not_found", "Connection")
	}
	return c, nil
}

// DeleteConnection removes the connection with integer id num.
func (tx *Tx) DeleteConnection(ctx context.Context, num int64) error {
	if err := tx.execLater(ctx, nil, `DELETE FROM connections WHERE num = ?`, num); err != nil {
		return fmt.Errorf("store: delete connection: %w", err)
	}
	return nil
}

// ConnectionBetween returns the record of users a and b, whichever way it
// was sent, or a not-found error.
func (tx *Tx) ConnectionBetween(ctx context.Context, a, b string) (Connection, error) {
	c, err := scanConnection(tx.queryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE pair_key = ?`, PairKey(a, b)))
	if err != nil {
		return Connection{}, notFound(err, "connection_not_found", "Connection")
	}
	return c, nil
}

// ConnectionByNum returns the connection with integer id num, or a
// not-found error.
func (tx *Tx) ConnectionByNum(ctx context.Context, num int64) (Connection, error) {
	c, err := scanConnection(tx.queryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE num = ?`, num))
	if err != nil {
		return Connection{}, notFound(err, "connection_not_found", "Connection")
	}
	return c, nil
}

// ConnectionByID returns the connection with id, or a not-found error.
func (tx *Tx) ConnectionByID(ctx context.Context, id string) (Connection, error) {
	c, err := scanConnection(tx.queryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = ?`, id))
	if err != nil {
		return Connection{}, notFound(err, "connection_not_found", "Connection")
	}
	return c, nil
}

// connectionsQuery runs q and scans its connection rows.
func (tx *Tx) connectionsQuery(ctx context.Context, q string, args ...any) ([]Connection, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: connections: %w", err)
	}
	defer rows.Close()
	var out []Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan connection: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Connection list roles: which side of the record the user is on.
const (
	RoleAny      = ""
	RoleSent     = "sent"
	RoleReceived = "received"
)

// ConnectionFilter selects one page of a user's connection records. Role
// is RoleAny, RoleSent or RoleReceived; Statuses empty means any status;
// a negative Limit means no limit. Records with someone either side
// blocks are always left out.
type ConnectionFilter struct {
	UserID   string
	Role     string
	Statuses []string
	Offset   int
	Limit    int
}

// Connections returns one page of f's records, most recent first (accepted
// ones by acceptance time, others by request time), and the total.
func (tx *Tx) Connections(ctx context.Context, f ConnectionFilter) ([]Connection, int, error) {
	var where []string
	var args []any
	switch f.Role {
	case RoleSent:
		where, args = append(where, `from_id = ?`), append(args, f.UserID)
	case RoleReceived:
		where, args = append(where, `to_id = ?`), append(args, f.UserID)
	default:
		where, args = append(where, `(from_id = ? OR to_id = ?)`), append(args, f.UserID, f.UserID)
	}
	if len(f.Statuses) > 0 {
		where, args = append(where, `status IN (SELECT value FROM json_each(?))`), append(args, jsonStrings(f.Statuses))
	}
	// Every record has the user on one side, so "someone either side
	// blocks" is "the other side is among the user's blocks either way":
	// that set is read once for the statement (SQLite keeps a list
	// subquery's answer), not probed twice per record.
	where = append(where, `(CASE WHEN from_id = ? THEN to_id ELSE from_id END) NOT IN (
		SELECT blocked_id FROM blocks WHERE blocker_id = ? UNION ALL SELECT blocker_id FROM blocks WHERE blocked_id = ?)`)
	args = append(args, f.UserID, f.UserID, f.UserID)
	w := ` FROM connections WHERE ` + strings.Join(where, ` AND `)
	// The total rides on every row as a window count: the filter (with
	// its block checks) runs once rather than once for a count and again
	// for the page. An empty page has no row to carry it and counts apart.
	rows, err := tx.query(ctx, `SELECT `+connectionColumns+`, count(*) OVER ()`+w+` ORDER BY COALESCE(accepted_at, created_at) DESC, num DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: connections: %w", err)
	}
	defer rows.Close()
	var out []Connection
	var total int
	for rows.Next() {
		var c Connection
		var created, updated int64
		var accepted, responded sql.NullInt64
		if err := rows.Scan(&c.Num, &c.ID, &c.FromID, &c.ToID, &c.Status, &c.Message, &c.StatusDetail, &created, &accepted, &responded, &updated, &total); err != nil {
			return nil, 0, fmt.Errorf("store: scan connection: %w", err)
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		c.AcceptedAt, c.RespondedAt = nullTime(accepted), nullTime(responded)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: connections: %w", translate(err))
	}
	if len(out) == 0 {
		if err := tx.queryRow(ctx, `SELECT count(*)`+w, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("store: count connections: %w", translate(err))
		}
	}
	return out, total, nil
}

const connectionsVersionQuery = `SELECT connections_version FROM users WHERE id = ?`

// ConnectionsVersion returns userID's connections_version (migration
// 00021): it moves in the same transaction as any change to what the
// user's connection list shows (a record with the user on either side,
// a block by or against the user, a profile of either side). A user
// with no row is a not-found error.
func (tx *Tx) ConnectionsVersion(ctx context.Context, userID string) (int64, error) {
	var v int64
	return v, versionErr(tx.queryRow(ctx, connectionsVersionQuery, userID).Scan(&v))
}

func versionErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(err, "user_not_found", "User")
	}
	return fmt.Errorf("store: connections version: %w", translate(err))
}

// ConnectionsVersion is Tx.ConnectionsVersion as one statement outside
// any transaction (its own snapshot): on an embedded database a prepared
// point read on the reader pool, without the BEGIN and COMMIT a Read
// costs; on a libSQL server one request. Counted in QueryCount.
func (db *DB) ConnectionsVersion(ctx context.Context, userID string) (int64, error) {
	db.queries.Add(1)
	if !db.local {
		db.roundTrips.Add(1)
	}
	var v int64
	var err error
	if db.local {
		// A point read by primary key: not worth the goroutine the
		// driver starts to watch a cancellable context.
		ctx = context.WithoutCancel(ctx)
	}
	err = db.r.QueryRowContext(ctx, connectionsVersionQuery, userID).Scan(&v)
	return v, versionErr(err)
}
