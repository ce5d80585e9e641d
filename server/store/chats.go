package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
)

// Chat is a chats row.
type Chat struct {
	ID              string
	CreatorID       string
	IsGroup         bool
	Name            string
	Category        string
	Restricted      bool
	AllowPublicPost bool
	Photo           string // media storage key, "" for none
	Tags            string // JSON array of {tag, label}
	MeetMeID        string // one-to-one chats started from a meet-me connection
	PairKey         string // one-to-one chats: PairKey of the two users
	LastActivityAt  time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

const chatColumns = `c.id, c.creator_id, c.is_group, c.name, c.category, c.restricted, c.allow_public_post, c.photo, c.tags,
	c.meet_me_id, COALESCE(c.pair_key, ''), c.last_activity_at, c.created_at, c.updated_at`

func scanChat(s interface{ Scan(...any) error }) (Chat, error) {
	var c Chat
	var act, created, updated int64
	err := s.Scan(&c.ID, &c.CreatorID, &c.IsGroup, &c.Name, &c.Category, &c.Restricted, &c.AllowPublicPost, &c.Photo, &c.Tags,
		&c.MeetMeID, &c.PairKey, &act, &created, &updated)
	c.LastActivityAt, c.CreatedAt, c.UpdatedAt = fromMS(act), fromMS(created), fromMS(updated)
	return c, err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateChat inserts c. A second one-to-one chat for the same pair is a
// conflict with reason "chat_exists".
func (tx *Tx) CreateChat(ctx context.Context, c Chat) error {
	if c.Tags == "" {
		c.Tags = "[]"
	}
	_, err := tx.exec(ctx, `INSERT INTO chats (id, creator_id, is_group, name, name_key, category, restricted, allow_public_post,
		photo, tags, meet_me_id, pair_key, last_activity_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.CreatorID, c.IsGroup, c.Name, strings.ToLower(c.Name), c.Category, c.Restricted, c.AllowPublicPost,
		c.Photo, c.Tags, c.MeetMeID, nullString(c.PairKey), ms(c.LastActivityAt), ms(c.CreatedAt), ms(c.UpdatedAt))
	if e, ok := apperr.As(err); ok && e.Reason == reasonDuplicate {
		return conflict("chat_exists", "That chat already exists")
	}
	if err != nil {
		return fmt.Errorf("store: create chat: %w", err)
	}
	return nil
}

// Chat returns the chat with id, or a not-found error "chat_not_found".
func (tx *Tx) Chat(ctx context.Context, id string) (Chat, error) {
	c, err := scanChat(tx.queryRow(ctx, `SELECT `+chatColumns+` FROM chats c WHERE c.id = ?`, id))
	if err != nil {
		return Chat{}, notFound(err, "chat_not_found", "Chat")
	}
	return c, nil
}

// ChatByPair returns the one-to-one chat of a pair (see PairKey).
func (tx *Tx) ChatByPair(ctx context.Context, pairKey string) (Chat, error) {
	c, err := scanChat(tx.queryRow(ctx, `SELECT `+chatColumns+` FROM chats c WHERE c.pair_key = ?`, pairKey))
	if err != nil {
		return Chat{}, notFound(err, "chat_not_found", "Chat")
	}
	return c, nil
}

// ChatFilter selects the chats a user takes part in. Search matches the
// chat name, or for one-to-one chats the other user's name or username
// (case-insensitive substring). Group nil means both kinds. MeetMeOnly keeps
// one-to-one chats started from a meet-me connection.
type ChatFilter struct {
	UserID     string
	Search     string
	Group      *bool
	MeetMeOnly bool
	Offset     int
	Limit      int
}

// ExploreFilter selects group chats to discover. Search (required by the
// rules) matches the name; Category, when set, must match exactly.
type ExploreFilter struct {
	Search   string
	Category string
	Since    time.Time // start of the trending window
	Offset   int
	Limit    int
}

// ExploreChats returns one page of group chats ordered by trend: messages
// sent since f.Since plus participants who joined since f.Since, then
// participant count, then newest activity. Two queries.
func (tx *Tx) ExploreChats(ctx context.Context, f ExploreFilter) ([]Chat, int, error) {
	where := `WHERE c.is_group = 1 AND c.name_key LIKE ? ESCAPE '\'`
	args := []any{"%" + escapeLike(strings.ToLower(f.Search)) + "%"}
	if f.Category != "" {
		where, args = where+` AND c.category = ?`, append(args, f.Category)
	}
	var total int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM chats c `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count explore chats: %w", translate(err))
	}
	since := ms(f.Since)
	q := `SELECT ` + chatColumns + ` FROM chats c ` + where + `
		ORDER BY (SELECT count(*) FROM messages m WHERE m.chat_id = c.id AND m.created_at >= ?)
		       + (SELECT count(*) FROM chat_participants p WHERE p.chat_id = c.id AND p.joined_at >= ?) DESC,
		         (SELECT count(*) FROM chat_participants p WHERE p.chat_id = c.id) DESC,
		         c.last_activity_at DESC, c.id DESC
		LIMIT ? OFFSET ?`
	chats, err := tx.chats(ctx, q, append(args, since, since, f.Limit, f.Offset)...)
	return chats, total, err
}

// ChatsByID returns the chats with the given ids, keyed by id. One query.
func (tx *Tx) ChatsByID(ctx context.Context, ids []string) (map[string]Chat, error) {
	chats, err := tx.chats(ctx, `SELECT `+chatColumns+` FROM chats c WHERE c.id IN (SELECT value FROM json_each(?))`, jsonStrings(ids))
	if err != nil {
		return nil, err
	}
	out := make(map[string]Chat, len(chats))
	for _, c := range chats {
		out[c.ID] = c
	}
	return out, nil
}

func (tx *Tx) chats(ctx context.Context, q string, args ...any) ([]Chat, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: chats: %w", err)
	}
	defer rows.Close()
	var out []Chat
	for rows.Next() {
		c, err := scanChat(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan chat: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChatUpdate changes the non-nil fields of a chat.
type ChatUpdate struct {
	Name            *string
	Category        *string
	Restricted      *bool
	AllowPublicPost *bool
	Photo           *string
}

// UpdateChat applies upd to chat id and stamps updated_at.
func (tx *Tx) UpdateChat(ctx context.Context, id string, upd ChatUpdate) error {
	sets, args := []string{"updated_at = ?"}, []any{ms(tx.Now)}
	if upd.Name != nil {
		sets, args = append(sets, "name = ?", "name_key = ?"), append(args, *upd.Name, strings.ToLower(*upd.Name))
	}
	if upd.Category != nil {
		sets, args = append(sets, "category = ?"), append(args, *upd.Category)
	}
	if upd.Restricted != nil {
		sets, args = append(sets, "restricted = ?"), append(args, *upd.Restricted)
	}
	if upd.AllowPublicPost != nil {
		sets, args = append(sets, "allow_public_post = ?"), append(args, *upd.AllowPublicPost)
	}
	if upd.Photo != nil {
		sets, args = append(sets, "photo = ?"), append(args, *upd.Photo)
	}
	res, err := tx.exec(ctx, `UPDATE chats SET `+strings.Join(sets, ", ")+` WHERE id = ?`, append(args, id)...)
	if err != nil {
		return fmt.Errorf("store: update chat: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "chat_not_found", "Chat")
	}
	return nil
}

// DeleteChat deletes a chat; its participants, messages, files, event,
// join requests and reels go with it (foreign keys cascade).
func (tx *Tx) DeleteChat(ctx context.Context, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM chats WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete chat: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "chat_not_found", "Chat")
	}
	return nil
}

// Participant is a chat_participants row.
type Participant struct {
	ID         string
	ChatID     string
	UserID     string
	IsAdmin    bool
	Status     string // event attendance: "", "accepted" or "rejected"
	LastReadAt time.Time
	JoinedAt   time.Time
}

const participantColumns = `id, chat_id, user_id, is_admin, status, last_read_at, joined_at`

func scanParticipant(s interface{ Scan(...any) error }) (Participant, error) {
	var p Participant
	var read, joined int64
	err := s.Scan(&p.ID, &p.ChatID, &p.UserID, &p.IsAdmin, &p.Status, &read, &joined)
	p.LastReadAt, p.JoinedAt = fromMS(read), fromMS(joined)
	return p, err
}

// AddParticipant inserts p. A user already in the chat is a conflict with
// reason "already_participant".
func (tx *Tx) AddParticipant(ctx context.Context, p Participant) error {
	_, err := tx.exec(ctx, `INSERT INTO chat_participants (`+participantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.ChatID, p.UserID, p.IsAdmin, p.Status, ms(p.LastReadAt), ms(p.JoinedAt))
	if e, ok := apperr.As(err); ok && e.Reason == reasonDuplicate {
		return conflict("already_participant", "The user is already a participant of this chat")
	}
	if err != nil {
		return fmt.Errorf("store: add participant: %w", err)
	}
	return nil
}

// ParticipantOf returns user's participant row in chat, or a not-found
// error "not_participant".
func (tx *Tx) ParticipantOf(ctx context.Context, chatID, userID string) (Participant, error) {
	p, err := scanParticipant(tx.queryRow(ctx, `SELECT `+participantColumns+` FROM chat_participants WHERE chat_id = ? AND user_id = ?`, chatID, userID))
	if err != nil {
		return Participant{}, notFound(err, "participant_not_found", "Participant")
	}
	return p, nil
}

// ParticipantByRef returns the participant of chat whose participant id
// or user id is ref.
func (tx *Tx) ParticipantByRef(ctx context.Context, chatID, ref string) (Participant, error) {
	p, err := scanParticipant(tx.queryRow(ctx, `SELECT `+participantColumns+` FROM chat_participants
		WHERE chat_id = ? AND (id = ? OR user_id = ?) ORDER BY id = ? DESC LIMIT 1`, chatID, ref, ref, ref))
	if err != nil {
		return Participant{}, notFound(err, "participant_not_found", "Participant")
	}
	return p, nil
}

// ParticipantsOf returns the participants of each chat, keyed by chat id,
// in joining order. One query.
func (tx *Tx) ParticipantsOf(ctx context.Context, chatIDs []string) (map[string][]Participant, error) {
	rows, err := tx.query(ctx, `SELECT `+participantColumns+` FROM chat_participants
		WHERE chat_id IN (SELECT value FROM json_each(?)) ORDER BY chat_id, joined_at, id`, jsonStrings(chatIDs))
	if err != nil {
		return nil, fmt.Errorf("store: participants: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]Participant, len(chatIDs))
	for rows.Next() {
		p, err := scanParticipant(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan participant: %w", err)
		}
		out[p.ChatID] = append(out[p.ChatID], p)
	}
	return out, rows.Err()
}

// ParticipantUpdate changes the non-nil fields of a participant.
type ParticipantUpdate struct {
	IsAdmin    *bool
	Status     *string
	LastReadAt *time.Time
}

// UpdateParticipant applies upd to participant id.
func (tx *Tx) UpdateParticipant(ctx context.Context, id string, upd ParticipantUpdate) error {
	var sets []string
	var args []any
	if upd.IsAdmin != nil {
		sets, args = append(sets, "is_admin = ?"), append(args, *upd.IsAdmin)
	}
	if upd.Status != nil {
		sets, args = append(sets, "status = ?"), append(args, *upd.Status)
	}
	if upd.LastReadAt != nil {
		sets, args = append(sets, "last_read_at = ?"), append(args, ms(*upd.LastReadAt))
	}
	if len(sets) == 0 {
		return nil
	}
	res, err := tx.exec(ctx, `UPDATE chat_participants SET `+strings.Join(sets, ", ")+` WHERE id = ?`, append(args, id)...)
	if err != nil {
		return fmt.Errorf("store: update participant: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "participant_not_found", "Participant")
	}
	return nil
}

// RemoveParticipant deletes participant id.
func (tx *Tx) RemoveParticipant(ctx context.Context, id string) error {
	if err := tx.execLater(ctx, nil, `DELETE FROM chat_participants WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: remove participant: %w", err)
	}
	return nil
}

// CountAdmins returns how many admins chat has.
func (tx *Tx) CountAdmins(ctx context.Context, chatID string) (int, error) {
	var n int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM chat_participants WHERE chat_id = ? AND is_admin = 1`, chatID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count admins: %w", translate(err))
	}
	return n, nil
}

// ChatEvent is a chat_events row.
type ChatEvent struct {
	ID        string
	ChatID    string
	StartsAt  time.Time
	EndsAt    time.Time
	Location  string
	CreatedAt time.Time
}

// CreateEvent inserts e.
func (tx *Tx) CreateEvent(ctx context.Context, e ChatEvent) error {
	if err := tx.execLater(ctx, nil, `INSERT INTO chat_events (id, chat_id, starts_at, ends_at, location, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.ID, e.ChatID, ms(e.StartsAt), ms(e.EndsAt), e.Location, ms(e.CreatedAt)); err != nil {
		return fmt.Errorf("store: create event: %w", err)
	}
	return nil
}

// EventsOf returns the events of the given chats, keyed by chat id. One query.
func (tx *Tx) EventsOf(ctx context.Context, chatIDs []string) (map[string]ChatEvent, error) {
	rows, err := tx.query(ctx, `SELECT id, chat_id, starts_at, ends_at, location, created_at FROM chat_events
		WHERE chat_id IN (SELECT value FROM json_each(?))`, jsonStrings(chatIDs))
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	defer rows.Close()
	out := make(map[string]ChatEvent)
	for rows.Next() {
		var e ChatEvent
		var s, en, c int64
		if err := rows.Scan(&e.ID, &e.ChatID, &s, &en, &e.Location, &c); err != nil {
			return nil, fmt.Errorf("store: scan event: %w", err)
		}
		e.StartsAt, e.EndsAt, e.CreatedAt = fromMS(s), fromMS(en), fromMS(c)
		out[e.ChatID] = e
	}
	return out, rows.Err()
}

// MeetMeLink is what a one-to-one chat needs to know of a connection.
type MeetMeLink struct {
	ID       string
	PairKey  string
	Status   string // pending, accepted, declined
	StatusID string // the meet-me status the connection answered, or ""
}

// MeetMeLinkByID returns the connection with id as a MeetMeLink, or a
// not-found error "connection_not_found".
func (tx *Tx) MeetMeLinkByID(ctx context.Context, id string) (MeetMeLink, error) {
	var l MeetMeLink
	err := tx.queryRow(ctx, `SELECT id, pair_key, status, status_detail FROM connections WHERE id = ?`, id).
		Scan(&l.ID, &l.PairKey, &l.Status, &l.StatusID)
	if err != nil {
		return MeetMeLink{}, notFound(err, "connection_not_found", "Connection")
	}
	return l, nil
}

// LiveStatusOwner returns the user whose meet-me status id is, while it has
// not expired at tx.Now; a not-found error "status_not_found" otherwise.
func (tx *Tx) LiveStatusOwner(ctx context.Context, statusID string) (string, error) {
	var user string
	err := tx.queryRow(ctx, `SELECT user_id FROM user_statuses WHERE id = ? AND expires_at > ?`, statusID, ms(tx.Now)).Scan(&user)
	if err != nil {
		return "", notFound(err, "status_not_found", "Meet-me status")
	}
	return user, nil
}
