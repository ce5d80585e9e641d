package store

import (
	"context"
	"fmt"
)

// Client-proposed ids: a client creating something offline names it, and
// the rules keep the name when nothing uses it yet.

// ChatIDUsed reports whether id names a chat, an alias of one, or a chat
// bucket the feed has rows of (a chat deleted within the tombstone window).
func (tx *Tx) ChatIDUsed(ctx context.Context, id string) (bool, error) {
	var used bool
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM chats WHERE id = ?)
		OR EXISTS (SELECT 1 FROM chat_aliases WHERE alias = ?)
		OR EXISTS (SELECT 1 FROM changes WHERE bucket = ?)`, id, id, "chat:"+id).Scan(&used)
	if err != nil {
		return false, fmt.Errorf("store: chat id used: %w", err)
	}
	return used, nil
}

// FeedHas reports whether the feed holds a row (live or a tombstone) for
// entity id in bucket.
func (tx *Tx) FeedHas(ctx context.Context, bucket, entity, id string) (bool, error) {
	var has bool
	err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM changes WHERE bucket = ? AND entity = ? AND entity_id = ?)`, bucket, entity, id).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("store: feed row: %w", err)
	}
	return has, nil
}

// IDTaken reports whether id is the id of a row of table (one of
// connections, join_requests, reels, messages).
func (tx *Tx) IDTaken(ctx context.Context, table, id string) (bool, error) {
	switch table {
	case "connections", "join_requests", "reels", "messages":
	default:
		return false, fmt.Errorf("store: id taken: no table %q", table)
	}
	var taken bool
	if err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, id).Scan(&taken); err != nil {
		return false, fmt.Errorf("store: id taken: %w", err)
	}
	return taken, nil
}

// AddChatAlias makes alias another name of chat for the writes of user.
func (tx *Tx) AddChatAlias(ctx context.Context, alias, chatID, userID string) error {
	if _, err := tx.exec(ctx, `INSERT INTO chat_aliases (alias, chat_id, user_id, created_at) VALUES (?, ?, ?, ?)`,
		alias, chatID, userID, ms(tx.Now)); err != nil {
		return fmt.Errorf("store: chat alias: %w", err)
	}
	return nil
}

// ChatAlias returns the chat alias names and the user who proposed it ("",
// "" when id is no alias).
func (tx *Tx) ChatAlias(ctx context.Context, alias string) (chatID, userID string, err error) {
	rows, err := tx.query(ctx, `SELECT chat_id, user_id FROM chat_aliases WHERE alias = ?`, alias)
	if err != nil {
		return "", "", fmt.Errorf("store: chat alias: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		err = rows.Scan(&chatID, &userID)
	}
	if err == nil {
		err = rows.Err()
	}
	return chatID, userID, err
}
