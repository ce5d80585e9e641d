package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Queries of account deletion and export: everything one user is part of.

// FollowEdges returns whom user follows and who follows them.
func (tx *Tx) FollowEdges(ctx context.Context, userID string) (following, followers []string, err error) {
	if following, err = tx.strings(ctx, `SELECT followee_id FROM follows WHERE follower_id = ? ORDER BY followee_id`, userID); err != nil {
		return nil, nil, err
	}
	followers, err = tx.strings(ctx, `SELECT follower_id FROM follows WHERE followee_id = ? ORDER BY follower_id`, userID)
	return following, followers, err
}

// BlockEdges returns whom user blocks and who blocks them.
func (tx *Tx) BlockEdges(ctx context.Context, userID string) (blocking, blockedBy []string, err error) {
	if blocking, err = tx.strings(ctx, `SELECT blocked_id FROM blocks WHERE blocker_id = ? ORDER BY blocked_id`, userID); err != nil {
		return nil, nil, err
	}
	blockedBy, err = tx.strings(ctx, `SELECT blocker_id FROM blocks WHERE blocked_id = ? ORDER BY blocker_id`, userID)
	return blocking, blockedBy, err
}

// ConnectionsOf returns every connection record user is part of, any
// status, blocks or not, oldest first.
func (tx *Tx) ConnectionsOf(ctx context.Context, userID string) ([]Connection, error) {
	return tx.connectionsQuery(ctx, `SELECT `+connectionColumns+` FROM connections WHERE from_id = ?
		UNION ALL SELECT `+connectionColumns+` FROM connections WHERE to_id = ? ORDER BY 1`, userID, userID)
}

// ParticipationsOf returns user's participant rows, one per chat, by chat id.
func (tx *Tx) ParticipationsOf(ctx context.Context, userID string) ([]Participant, error) {
	return collect(ctx, tx, "participations", scanParticipant,
		`SELECT `+participantColumns+` FROM chat_participants WHERE user_id = ? ORDER BY chat_id`, userID)
}

// RequestsBy returns every join request user sent, any status, by id.
func (tx *Tx) RequestsBy(ctx context.Context, userID string) ([]JoinRequest, error) {
	return collect(ctx, tx, "requests by user", scanRequest,
		`SELECT `+requestColumns+` FROM join_requests r WHERE r.user_id = ? ORDER BY r.id`, userID)
}

// DeleteRequest deletes join request id.
func (tx *Tx) DeleteRequest(ctx context.Context, id string) error {
	if _, err := tx.exec(ctx, `DELETE FROM join_requests WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete request: %w", err)
	}
	return nil
}

// MessagesBy returns up to limit of user's messages with ids above after,
// by id: a keyset page over the messages_user index.
func (tx *Tx) MessagesBy(ctx context.Context, userID, after string, limit int) ([]Message, error) {
	return tx.messages(ctx, `SELECT `+messageColumns+` FROM messages WHERE user_id = ? AND id > ? ORDER BY id LIMIT CAST(? AS INTEGER)`,
		userID, after, limit)
}

// StripFilesOf deletes the files user attached to messages and empties the
// files of their messages; it returns the deleted files.
func (tx *Tx) StripFilesOf(ctx context.Context, userID string) ([]ChatFile, error) {
	rows, err := tx.query(ctx, `DELETE FROM chat_files WHERE user_id = ?
		RETURNING id, chat_id, message_id, user_id, type, tag, url, cover, meta, created_at`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: delete files: %w", err)
	}
	var out []ChatFile
	for rows.Next() {
		var c ChatFile
		var meta sql.NullString
		var created int64
		if err := rows.Scan(&c.ID, &c.ChatID, &c.MessageID, &c.UserID, &c.Type, &c.Tag, &c.URL, &c.Cover, &meta, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: scan chat file: %w", err)
		}
		c.Meta, c.CreatedAt = meta.String, fromMS(created)
		out = append(out, c)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("store: delete files: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE messages SET files = '[]' WHERE user_id = ? AND files <> '[]'`, userID); err != nil {
		return nil, fmt.Errorf("store: empty message files: %w", err)
	}
	return out, nil
}

// DeleteReelsOf deletes user's reels and their reactions, and user's
// reactions to other reels; it returns the deleted reels and the ids of
// the other reels whose reactions changed.
func (tx *Tx) DeleteReelsOf(ctx context.Context, userID string) (deleted []Reel, touched []string, err error) {
	touched, err = tx.strings(ctx, `DELETE FROM reel_reactions WHERE user_id = ?
		AND reel_id NOT IN (SELECT id FROM reels WHERE user_id = ?) RETURNING reel_id`, userID, userID)
	if err != nil {
		return nil, nil, err
	}
	rows, err := tx.query(ctx, `SELECT `+reelColumns+` FROM reels r WHERE r.user_id = ? ORDER BY r.id`, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: reels of user: %w", err)
	}
	for rows.Next() {
		r, err := scanReel(rows)
		if err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: scan reel: %w", err)
		}
		deleted = append(deleted, r)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	if _, err := tx.exec(ctx, `DELETE FROM reels WHERE user_id = ?`, userID); err != nil {
		return nil, nil, fmt.Errorf("store: delete reels: %w", err)
	}
	return deleted, touched, nil
}

// DeleteNotificationsAbout deletes the notifications user received and
// those they caused for others, and returns them.
func (tx *Tx) DeleteNotificationsAbout(ctx context.Context, userID string) ([]Notification, error) {
	return tx.notificationsQuery(ctx, `DELETE FROM notifications WHERE user_id = ? OR actor_id = ? RETURNING `+notificationColumns, userID, userID)
}

// PurgeAccount deletes the rows of user that nobody else sees and that
// no feed row needs: follows, blocks, status, score, push devices and
// pending pushes, presence, sync clients, bucket memberships and their
// own bucket's feed rows. Sessions stay, revoked with their reason, with
// their refresh-token hashes, so a device presenting one is told the
// account was deleted.
func (tx *Tx) PurgeAccount(ctx context.Context, userID string) error {
	for _, q := range []string{
		`DELETE FROM follows WHERE follower_id = ?1 OR followee_id = ?1`,
		`DELETE FROM blocks WHERE blocker_id = ?1 OR blocked_id = ?1`,
		`DELETE FROM user_statuses WHERE user_id = ?1`,
		`DELETE FROM scores WHERE user_id = ?1`,
		`DELETE FROM score_actions WHERE user_id = ?1`,
		`DELETE FROM push_devices WHERE user_id = ?1`,
		`DELETE FROM push_outbox WHERE user_id = ?1`,
		`DELETE FROM presence WHERE user_id = ?1`,
		`DELETE FROM sync_clients WHERE user_id = ?1`,
		`DELETE FROM bucket_members WHERE user_id = ?1`,
		`DELETE FROM changes WHERE bucket = 'user:' || ?1`,
	} {
		if _, err := tx.exec(ctx, q, userID); err != nil {
			return fmt.Errorf("store: purge account: %w", err)
		}
	}
	return nil
}
