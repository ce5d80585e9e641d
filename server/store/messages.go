package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Message is a messages row. Files is the JSON array of the message's
// files as replicated.
type Message struct {
	ID        string
	ChatID    string
	UserID    string
	Text      string
	Tag       string
	Files     string
	CreatedAt time.Time
}

const messageColumns = `id, chat_id, user_id, text, tag, files, created_at`

func scanMessage(s interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var created int64
	err := s.Scan(&m.ID, &m.ChatID, &m.UserID, &m.Text, &m.Tag, &m.Files, &created)
	m.CreatedAt = fromMS(created)
	return m, err
}

// InsertMessage stores m. An id already taken is a conflict
// "message_id_taken"; on a libSQL server it is reported by the round trip
// that carries the insert (at the latest the commit), so callers check a
// client-proposed id with Message first.
func (tx *Tx) InsertMessage(ctx context.Context, m Message) error {
	if m.Files == "" {
		m.Files = "[]"
	}
	if err := tx.execLater(ctx, conflict("message_id_taken", "That message id is already taken"),
		`INSERT INTO messages (`+messageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.ChatID, m.UserID, m.Text, m.Tag, m.Files, ms(m.CreatedAt)); err != nil {
		return fmt.Errorf("store: insert message: %w", err)
	}
	return nil
}

// Message returns the message with id, or a not-found "message_not_found".
func (tx *Tx) Message(ctx context.Context, id string) (Message, error) {
	m, err := scanMessage(tx.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	if err != nil {
		return Message{}, notFound(err, "message_not_found", "Message")
	}
	return m, nil
}

// MessageFilter selects a chat's messages: those before the message
// Before and after the message After (either may be empty), at most
// Limit, answered newest first. With After set, the Limit messages right
// after it are taken (so paging forward from a known message leaves no
// gap); otherwise the newest ones.
//
// Order is the server's: created_at (the time the server stored the
// message), then id. Ids may be proposed by clients, so their embedded
// time is the device's clock and never decides the order.
type MessageFilter struct {
	ChatID string
	Before string
	After  string
	Limit  int
}

// Messages returns messages newest first and the chat's total message
// count. A cursor that is not a message of the chat is a not-found
// "message_not_found".
func (tx *Tx) Messages(ctx context.Context, f MessageFilter) ([]Message, int, error) {
	var total int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM messages WHERE chat_id = ?`, f.ChatID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count messages: %w", translate(err))
	}
	where, args := `WHERE chat_id = ?`, []any{f.ChatID}
	for _, c := range []struct{ id, op string }{{f.Before, "<"}, {f.After, ">"}} {
		if c.id == "" {
			continue
		}
		var at int64
		if err := tx.queryRow(ctx, `SELECT created_at FROM messages WHERE id = ? AND chat_id = ?`, c.id, f.ChatID).Scan(&at); err != nil {
			return nil, 0, notFound(err, "message_not_found", "Message")
		}
		where += ` AND (created_at ` + c.op + ` ? OR (created_at = ? AND id ` + c.op + ` ?))`
		args = append(args, at, at, c.id)
	}
	order := `DESC`
	if f.After != "" {
		order = `ASC`
	}
	ms, err := tx.messages(ctx, `SELECT `+messageColumns+` FROM messages `+where+` ORDER BY created_at `+order+`, id `+order+` LIMIT CAST(? AS INTEGER)`,
		append(args, f.Limit)...)
	if f.After != "" {
		slices.Reverse(ms)
	}
	return ms, total, err
}

// LastMessages returns the newest message (in the order of Messages) of
// each chat that has one, keyed by chat id. One query.
func (tx *Tx) LastMessages(ctx context.Context, chatIDs []string) (map[string]Message, error) {
	list, err := tx.messages(ctx, `SELECT `+messageColumns+` FROM messages WHERE id IN (
		SELECT (SELECT m.id FROM messages m WHERE m.chat_id = c.value ORDER BY m.created_at DESC, m.id DESC LIMIT 1) FROM json_each(?) c)`,
		jsonStrings(chatIDs))
	if err != nil {
		return nil, err
	}
	out := make(map[string]Message, len(list))
	for _, m := range list {
		out[m.ChatID] = m
	}
	return out, nil
}

// UnreadCounts returns, per chat, how many messages others sent after the
// user's last read time. Chats with none are absent. One query.
func (tx *Tx) UnreadCounts(ctx context.Context, userID string, chatIDs []string) (map[string]int, error) {
	rows, err := tx.query(ctx, `SELECT p.chat_id, count(*) FROM chat_participants p
		JOIN messages m ON m.chat_id = p.chat_id AND m.created_at > p.last_read_at AND m.user_id <> p.user_id
		WHERE p.user_id = ? AND p.chat_id IN (SELECT value FROM json_each(?))
		GROUP BY p.chat_id`, userID, jsonStrings(chatIDs))
	if err != nil {
		return nil, fmt.Errorf("store: unread counts: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int)
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("store: scan unread: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

func (tx *Tx) messages(ctx context.Context, q string, args ...any) ([]Message, error) {
	return collect(ctx, tx, "messages", scanMessage, q, args...)
}

// ChatFile is a chat_files row: one file of one message.
type ChatFile struct {
	ID        string
	ChatID    string
	MessageID string
	UserID    string
	Type      string // video, audio, image, document, other
	Tag       string
	URL       string
	Cover     string
	Meta      string // JSON, "" when the client sent none
	CreatedAt time.Time
}

// InsertChatFile stores f.
func (tx *Tx) InsertChatFile(ctx context.Context, f ChatFile) error {
	var meta any
	if f.Meta != "" {
		meta = f.Meta
	}
	if err := tx.execLater(ctx, nil, `INSERT INTO chat_files (id, chat_id, message_id, user_id, type, tag, url, cover, meta, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.ChatID, f.MessageID, f.UserID, f.Type, f.Tag, f.URL, f.Cover, meta, ms(f.CreatedAt)); err != nil {
		return fmt.Errorf("store: insert chat file: %w", err)
	}
	return nil
}

// ChatFileFilter selects one page of a chat's files of one type and tag.
type ChatFileFilter struct {
	ChatID string
	Type   string
	Tag    string
	Offset int
	Limit  int
}

// ChatFiles returns one page of files, newest first, and the total.
func (tx *Tx) ChatFiles(ctx context.Context, f ChatFileFilter) ([]ChatFile, int, error) {
	args := []any{f.ChatID, f.Type, f.Tag}
	var total int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM chat_files WHERE chat_id = ? AND type = ? AND tag = ?`, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count chat files: %w", translate(err))
	}
	rows, err := tx.query(ctx, `SELECT id, chat_id, message_id, user_id, type, tag, url, cover, meta, created_at FROM chat_files
		WHERE chat_id = ? AND type = ? AND tag = ? ORDER BY id DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: chat files: %w", err)
	}
	defer rows.Close()
	var out []ChatFile
	for rows.Next() {
		var c ChatFile
		var meta sql.NullString
		var created int64
		if err := rows.Scan(&c.ID, &c.ChatID, &c.MessageID, &c.UserID, &c.Type, &c.Tag, &c.URL, &c.Cover, &meta, &created); err != nil {
			return nil, 0, fmt.Errorf("store: scan chat file: %w", err)
		}
		c.Meta, c.CreatedAt = meta.String, fromMS(created)
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// ChatFileURLs lists the URLs (and covers) of a chat's files.
func (tx *Tx) ChatFileURLs(ctx context.Context, chatID string) ([]string, error) {
	return tx.strings(ctx, `SELECT url FROM chat_files WHERE chat_id = ? UNION SELECT cover FROM chat_files WHERE chat_id = ? AND cover <> ''`, chatID, chatID)
}

// ReadMarks returns the latest last-read time of a chat's participants
// and the time of its newest message (zero times when there are none).
// One query.
func (tx *Tx) ReadMarks(ctx context.Context, chatID string) (lastRead, newest time.Time, err error) {
	var r, n int64
	err = tx.queryRow(ctx, `SELECT (SELECT coalesce(max(last_read_at), 0) FROM chat_participants WHERE chat_id = ?),
		(SELECT coalesce(max(created_at), 0) FROM messages WHERE chat_id = ?)`, chatID, chatID).Scan(&r, &n)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("store: read marks: %w", translate(err))
	}
	if r > 0 {
		lastRead = fromMS(r)
	}
	if n > 0 {
		newest = fromMS(n)
	}
	return lastRead, newest, nil
}

// SendContext is what sending a message reads before writing it: the
// chat, whether the sender takes part in it, the chat's read marks (see
// ReadMarks) and the sender's user row.
type SendContext struct {
	Chat        Chat
	Participant bool
	LastRead    time.Time // latest lastReadAt of the chat's participants; zero when none
	Newest      time.Time // time of the chat's newest message; zero when none
	Sender      User
	SenderFound bool
}

// SendContext reads chat, userID's participation in it, the chat's read
// marks and the user userID in one query. A missing chat is a not-found
// "chat_not_found" (as Chat).
func (tx *Tx) SendContext(ctx context.Context, chatID, userID string) (SendContext, error) {
	var out SendContext
	var act, created, updated, lastRead, newest int64
	var uid, name, username, photo sql.NullString
	c := &out.Chat
	err := tx.queryRow(ctx, `SELECT `+chatColumns+`,
		EXISTS (SELECT 1 FROM chat_participants WHERE chat_id = c.id AND user_id = ?),
		(SELECT coalesce(max(last_read_at), 0) FROM chat_participants WHERE chat_id = c.id),
		(SELECT coalesce(max(created_at), 0) FROM messages WHERE chat_id = c.id),
		u.id, u.name, u.username, u.photo
		FROM chats c LEFT JOIN users u ON u.id = ? WHERE c.id = ?`, userID, userID, chatID).Scan(
		&c.ID, &c.CreatorID, &c.IsGroup, &c.Name, &c.Category, &c.Restricted, &c.AllowPublicPost, &c.Photo, &c.Tags,
		&c.MeetMeID, &c.PairKey, &act, &created, &updated,
		&out.Participant, &lastRead, &newest, &uid, &name, &username, &photo)
	if err != nil {
		return SendContext{}, notFound(err, "chat_not_found", "Chat")
	}
	c.LastActivityAt, c.CreatedAt, c.UpdatedAt = fromMS(act), fromMS(created), fromMS(updated)
	if lastRead > 0 {
		out.LastRead = fromMS(lastRead)
	}
	if newest > 0 {
		out.Newest = fromMS(newest)
	}
	if uid.Valid {
		out.SenderFound = true
		out.Sender = User{ID: uid.String, Name: name.String, Username: username.String, Photo: photo.String}
	}
	return out, nil
}

// DeleteMessage deletes a message and its chat files (foreign keys
// cascade), and returns the ids of those files.
func (tx *Tx) DeleteMessage(ctx context.Context, id string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT id FROM chat_files WHERE message_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("store: files of message: %w", err)
	}
	var files []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return nil, err
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	res, err := tx.exec(ctx, `DELETE FROM messages WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("store: delete message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, notFound(sql.ErrNoRows, "message_not_found", "Message")
	}
	return files, nil
}
