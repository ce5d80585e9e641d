package store

import (
	"context"
	"fmt"
)

// PairKey is the connections.pair_key of two users: the same whichever
// direction a request went.
func PairKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + ":" + b
}

// Blocked reports whether either user blocks the other.
func (tx *Tx) Blocked(ctx context.Context, a, b string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blocks WHERE (blocker_id = ? AND blocked_id = ?) OR (blocker_id = ? AND blocked_id = ?))`,
		a, b, b, a).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: blocked: %w", translate(err))
	}
	return n == 1, nil
}

// Follows reports whether follower follows followee.
func (tx *Tx) Follows(ctx context.Context, follower, followee string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?)`, follower, followee).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: follows: %w", translate(err))
	}
	return n == 1, nil
}

// Connected reports whether a and b have an accepted connection.
func (tx *Tx) Connected(ctx context.Context, a, b string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE pair_key = ? AND status = 'accepted')`, PairKey(a, b)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: connected: %w", translate(err))
	}
	return n == 1, nil
}

// Reachable returns the subset of ids that user follows or is connected to
// (accepted), and that neither blocks user nor is blocked by them: the
// people user may add to a group chat. One query.
func (tx *Tx) Reachable(ctx context.Context, user string, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	rows, err := tx.query(ctx, `
		SELECT c.value FROM json_each(?1) AS c
		WHERE (EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ?2 AND f.followee_id = c.value)
		    OR EXISTS (SELECT 1 FROM connections k WHERE k.status = 'accepted'
		               AND ((k.from_id = ?2 AND k.to_id = c.value) OR (k.to_id = ?2 AND k.from_id = c.value))))
		  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ?2 AND b.blocked_id = c.value)
		                                        OR (b.blocked_id = ?2 AND b.blocker_id = c.value))`,
		jsonStrings(ids), user)
	if err != nil {
		return nil, fmt.Errorf("store: reachable: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: scan reachable: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// Follow records that follower follows followee. It reports whether the
// follow is new (following twice is not an error).
func (tx *Tx) Follow(ctx context.Context, follower, followee string) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		follower, followee, ms(tx.Now))
	if err != nil {
		return false, fmt.Errorf("store: follow: %w", err)
	}
	return affected(res)
}

// Unfollow removes the follow of follower for followee and reports whether
// there was one.
func (tx *Tx) Unfollow(ctx context.Context, follower, followee string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM follows WHERE follower_id = ? AND followee_id = ?`, follower, followee)
	if err != nil {
		return false, fmt.Errorf("store: unfollow: %w", err)
	}
	return affected(res)
}

// Block records that blocker blocks blocked and reports whether the block
// is new.
func (tx *Tx) Block(ctx context.Context, blocker, blocked string) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		blocker, blocked, ms(tx.Now))
	if err != nil {
		return false, fmt.Errorf("store: block: %w", err)
	}
	return affected(res)
}

// Unblock removes blocker's block of blocked and reports whether there was one.
func (tx *Tx) Unblock(ctx context.Context, blocker, blocked string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?`, blocker, blocked)
	if err != nil {
		return false, fmt.Errorf("store: unblock: %w", err)
	}
	return affected(res)
}

// GraphFilter selects one page of a user's follows, followers or blocks.
type GraphFilter struct {
	UserID string
	Offset int
	Limit  int
}

// notBlockedWith is a condition on a users row aliased u: neither u nor the
// user bound at the placeholder blocks the other. Bind the user id twice.
const notBlockedWith = `NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = u.id) OR (b.blocked_id = ? AND b.blocker_id = u.id))`

// Following lists the users f.UserID follows, newest follow first, leaving
// out anyone either side blocks; and the total.
func (tx *Tx) Following(ctx context.Context, f GraphFilter) ([]User, int, error) {
	return tx.userPage(ctx, `FROM follows g JOIN users u ON u.id = g.followee_id WHERE g.follower_id = ? AND `+notBlockedWith,
		`g.created_at DESC, u.id`, f, f.UserID, f.UserID, f.UserID)
}

// Followers lists the users who follow f.UserID, newest first, leaving out
// anyone either side blocks; and the total.
func (tx *Tx) Followers(ctx context.Context, f GraphFilter) ([]User, int, error) {
	return tx.userPage(ctx, `FROM follows g JOIN users u ON u.id = g.follower_id WHERE g.followee_id = ? AND `+notBlockedWith,
		`g.created_at DESC, u.id`, f, f.UserID, f.UserID, f.UserID)
}

// BlockedUsers lists the users f.UserID blocks, newest block first; and the total.
func (tx *Tx) BlockedUsers(ctx context.Context, f GraphFilter) ([]User, int, error) {
	return tx.userPage(ctx, `FROM blocks g JOIN users u ON u.id = g.blocked_id WHERE g.blocker_id = ?`,
		`g.created_at DESC, u.id`, f, f.UserID)
}

// userPage runs "SELECT count(*) <from>" and one page of "SELECT u.* <from>
// ORDER BY <order>"; from must alias the users table u.
func (tx *Tx) userPage(ctx context.Context, from, order string, f GraphFilter, args ...any) ([]User, int, error) {
	var total int
	if err := tx.queryRow(ctx, `SELECT count(*) `+from, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count users: %w", translate(err))
	}
	rows, err := tx.query(ctx, `SELECT `+prefixed("u.", userColumns)+` `+from+` ORDER BY `+order+` LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan user: %w", err)
		}
		out = append(out, u)
	}
	return out, total, rows.Err()
}
