package store

import (
	"context"
	"fmt"
	"time"
)

// Reel is a reels row: a short video posted to a community.
type Reel struct {
	ID          string
	ChatID      string
	UserID      string
	Description string
	Tag         string
	Video       string
	Hashtags    string // JSON array of strings
	IsAnonymous bool
	Views       int
	Shares      int
	Comments    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Counted from reel_reactions when read.
	Likes      int
	SuperLikes int
	Favorites  int
}

const reelColumns = `r.id, r.chat_id, r.user_id, r.description, r.tag, r.video, r.hashtags, r.is_anonymous, r.views, r.shares, r.comments,
	r.created_at, r.updated_at,
	(SELECT count(*) FROM reel_reactions x WHERE x.reel_id = r.id AND x.kind = 'like'),
	(SELECT count(*) FROM reel_reactions x WHERE x.reel_id = r.id AND x.kind = 'superlike'),
	(SELECT count(*) FROM reel_reactions x WHERE x.reel_id = r.id AND x.kind = 'favorite')`

func scanReel(s interface{ Scan(...any) error }) (Reel, error) {
	var r Reel
	var created, updated int64
	err := s.Scan(&r.ID, &r.ChatID, &r.UserID, &r.Description, &r.Tag, &r.Video, &r.Hashtags, &r.IsAnonymous, &r.Views, &r.Shares, &r.Comments,
		&created, &updated, &r.Likes, &r.SuperLikes, &r.Favorites)
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, err
}

// CreateReel inserts r.
func (tx *Tx) CreateReel(ctx context.Context, r Reel) error {
	if r.Hashtags == "" {
		r.Hashtags = "[]"
	}
	if _, err := tx.exec(ctx, `INSERT INTO reels (id, chat_id, user_id, description, tag, video, hashtags, is_anonymous, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.ChatID, r.UserID, r.Description, r.Tag, r.Video, r.Hashtags, r.IsAnonymous,
		ms(r.CreatedAt), ms(r.UpdatedAt)); err != nil {
		return fmt.Errorf("store: create reel: %w", err)
	}
	return nil
}

// Reel returns reel id with its reaction counts, or not-found "reel_not_found".
func (tx *Tx) Reel(ctx context.Context, id string) (Reel, error) {
	r, err := scanReel(tx.queryRow(ctx, `SELECT `+reelColumns+` FROM reels r WHERE r.id = ?`, id))
	if err != nil {
		return Reel{}, notFound(err, "reel_not_found", "Reel")
	}
	return r, nil
}

// notBlockedAuthor keeps reels whose author (reels.user_id) has no block
// with the viewer either way; it takes the viewer twice.
const notBlockedAuthor = `NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = reels.user_id) OR (b.blocked_id = ? AND b.blocker_id = reels.user_id))`

// ReelsOf returns the newest perChat reels of each chat and each chat's
// reel count, both without the reels of users who block viewer or whom
// viewer blocks. Two queries whatever the number of chats.
func (tx *Tx) ReelsOf(ctx context.Context, viewer string, chatIDs []string, perChat int) (map[string][]Reel, map[string]int, error) {
	counts := make(map[string]int)
	rows, err := tx.query(ctx, `SELECT chat_id, count(*) FROM reels WHERE chat_id IN (SELECT value FROM json_each(?)) AND `+notBlockedAuthor+` GROUP BY chat_id`,
		jsonStrings(chatIDs), viewer, viewer)
	if err != nil {
		return nil, nil, fmt.Errorf("store: reel counts: %w", err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: scan reel count: %w", err)
		}
		counts[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: reel counts: %w", err)
	}
	out := make(map[string][]Reel)
	if perChat <= 0 {
		return out, counts, nil
	}
	rows, err = tx.query(ctx, `SELECT `+reelColumns+` FROM (
			SELECT *, row_number() OVER (PARTITION BY chat_id ORDER BY id DESC) AS rn
			FROM reels WHERE chat_id IN (SELECT value FROM json_each(?)) AND `+notBlockedAuthor+`) r
		WHERE r.rn <= ? ORDER BY r.chat_id, r.id DESC`, jsonStrings(chatIDs), viewer, viewer, perChat)
	if err != nil {
		return nil, nil, fmt.Errorf("store: reels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanReel(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("store: scan reel: %w", err)
		}
		out[r.ChatID] = append(out[r.ChatID], r)
	}
	return out, counts, rows.Err()
}

// ToggleReaction adds the user's reaction of kind to a reel, or removes it
// if present, and reports whether it is now on.
func (tx *Tx) ToggleReaction(ctx context.Context, reelID, userID, kind string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM reel_reactions WHERE reel_id = ? AND user_id = ? AND kind = ?`, reelID, userID, kind)
	if err != nil {
		return false, fmt.Errorf("store: toggle reaction: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return false, nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO reel_reactions (reel_id, user_id, kind, created_at) VALUES (?, ?, ?, ?)`,
		reelID, userID, kind, ms(tx.Now)); err != nil {
		return false, fmt.Errorf("store: toggle reaction: %w", err)
	}
	return true, nil
}

// ReactionsBy returns, per reel id, the kinds of reaction userID gave
// among reelIDs. One query.
func (tx *Tx) ReactionsBy(ctx context.Context, userID string, reelIDs []string) (map[string]map[string]bool, error) {
	rows, err := tx.query(ctx, `SELECT reel_id, kind FROM reel_reactions WHERE user_id = ? AND reel_id IN (SELECT value FROM json_each(?))`,
		userID, jsonStrings(reelIDs))
	if err != nil {
		return nil, fmt.Errorf("store: reactions: %w", err)
	}
	defer rows.Close()
	out := make(map[string]map[string]bool)
	for rows.Next() {
		var id, kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return nil, fmt.Errorf("store: scan reaction: %w", err)
		}
		if out[id] == nil {
			out[id] = map[string]bool{}
		}
		out[id][kind] = true
	}
	return out, rows.Err()
}

// FollowedAmong returns the subset of ids that follower follows. One query.
func (tx *Tx) FollowedAmong(ctx context.Context, follower string, ids []string) (map[string]bool, error) {
	list, err := tx.strings(ctx, `SELECT followee_id FROM follows WHERE follower_id = ? AND followee_id IN (SELECT value FROM json_each(?))`,
		follower, jsonStrings(ids))
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(list))
	for _, id := range list {
		out[id] = true
	}
	return out, nil
}
