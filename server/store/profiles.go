package store

import (
	"context"
	"fmt"
)

// LiveBuckets lists the buckets holding a live (upsert) feed row of the
// user profile id, in bucket order. It reads the changes_live_users index,
// so the cost follows the number of such buckets, not the feed's size.
func (tx *Tx) LiveBuckets(ctx context.Context, id string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT bucket FROM changes WHERE entity = 'user' AND op = 'upsert' AND entity_id = ? ORDER BY bucket`, id)
	if err != nil {
		return nil, fmt.Errorf("store: buckets of user %s: %w", id, translate(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("store: scan bucket: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: buckets of user %s: %w", id, err)
	}
	return out, nil
}

// LiveUsers lists the ids of the user profiles bucket holds live (upsert).
func (tx *Tx) LiveUsers(ctx context.Context, bucket string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT entity_id FROM changes WHERE bucket = ? AND entity = 'user' AND op = 'upsert' ORDER BY entity_id`, bucket)
	if err != nil {
		return nil, fmt.Errorf("store: users of %s: %w", bucket, translate(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: scan user id: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users of %s: %w", bucket, err)
	}
	return out, nil
}

// HasLive reports whether bucket holds a live (upsert) row of entity id.
func (tx *Tx) HasLive(ctx context.Context, bucket, entity, id string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM changes WHERE bucket = ? AND entity = ? AND entity_id = ? AND op = 'upsert')`,
		bucket, entity, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: live row %s/%s/%s: %w", bucket, entity, id, translate(err))
	}
	return n == 1, nil
}

// ProfileLinked reports whether owner's own rows mention user id outside
// any chat: a connection record between them, or a join request of id to a
// chat owner administers. Blocks are not considered here.
func (tx *Tx) ProfileLinked(ctx context.Context, owner, id string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE pair_key = ?)
		OR EXISTS (SELECT 1 FROM join_requests r JOIN chat_participants p ON p.chat_id = r.chat_id
			WHERE r.user_id = ? AND p.user_id = ? AND p.is_admin = 1)`,
		PairKey(owner, id), id, owner).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: profile link %s/%s: %w", owner, id, translate(err))
	}
	return n == 1, nil
}
