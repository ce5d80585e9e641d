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
