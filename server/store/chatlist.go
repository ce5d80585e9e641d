package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Person is a user as a chat list shows them: the public profile and
// whether they are online at the transaction's time.
type Person struct {
	ID       string
	Name     string
	Username string
	Photo    string // media storage key, "" for none
	Online   bool
}

// ChatListEntry is one chat of a user's chat list as the list orders it,
// with the user's read mark and the versions of what the list keeps in
// memory about the chat, read together in one snapshot.
type ChatListEntry struct {
	ID             string
	LastActivityAt time.Time
	// LastReadAt is the listing user's read mark in the chat.
	LastReadAt time.Time
	// MembersVersion moves whenever the chat's participants or their
	// profiles change (migration 00017): ChatMembers' answer for the chat
	// is the same for as long as it does not.
	MembersVersion int64
	// MessagesVersion moves whenever a message of the chat is sent,
	// deleted or changed (migration 00019): MessageSummaries' answer for
	// the chat is the same for as long as it does not.
	MessagesVersion int64
	// CardVersion moves whenever the chat's row (but for its activity
	// time and versions) or its event changes (migration 00020):
	// ChatCards' answer for the chat is the same for as long as it does
	// not.
	CardVersion int64
}

// ChatCard is a chat's row and event (nil when it has none).
type ChatCard struct {
	Chat  Chat
	Event *ChatEvent
}

// ParticipantPerson is a participant with its user's profile (nil when
// the user row is gone).
type ParticipantPerson struct {
	Participant
	User *Person
}

// onlineSQL is true when the user in column col has a live socket at ?.
func onlineSQL(col string) string {
	return `EXISTS (SELECT 1 FROM presence pr WHERE pr.user_id = ` + col + ` AND pr.expires_at > ?)`
}

// ChatList returns one page of f.UserID's chats, most recent activity
// first, and the total: one statement, narrow (id, activity time, read
// mark, versions), whatever the page size. The chats are ordered and cut
// to the page here: a few dozen rows sort faster in Go than through
// SQLite's sorter, and the total is their number.
func (tx *Tx) ChatList(ctx context.Context, f ChatFilter) ([]ChatListEntry, int, error) {
	q, args := chatListStatement(f)
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: chat list: %w", err)
	}
	defer rows.Close()
	type entry struct {
		ChatListEntry
		act, read int64
	}
	var all []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.ID, &e.act, &e.read, &e.MembersVersion, &e.MessagesVersion, &e.CardVersion); err != nil {
			return nil, 0, fmt.Errorf("store: scan chat list: %w", err)
		}
		all = append(all, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: chat list: %w", translate(err))
	}
	total := len(all)
	slices.SortFunc(all, func(a, b entry) int {
		if a.act != b.act {
			return cmp.Compare(b.act, a.act)
		}
		return strings.Compare(b.ID, a.ID)
	})
	lo := min(max(f.Offset, 0), total)
	hi := total
	if f.Limit >= 0 {
		hi = min(lo+f.Limit, total)
	}
	out := make([]ChatListEntry, 0, hi-lo)
	for _, e := range all[lo:hi] {
		e.LastActivityAt, e.LastReadAt = fromMS(e.act), fromMS(e.read)
		out = append(out, e.ChatListEntry)
	}
	return out, total, nil
}

// chatListStatement is ChatList's statement for f. Without a search or
// filter it reads indexes only, one entry of each per chat: the user's
// entries of chat_participants_user, which hold the read mark (migration
// 00022), and each chat's entry of chats_list, which holds its activity
// time and versions (migration 00023; named, since without statistics
// SQLite prefers the primary key's index and reads each chat's row
// besides).
func chatListStatement(f ChatFilter) (string, []any) {
	where := `WHERE me.user_id = ?`
	args := []any{f.UserID}
	if f.Group != nil {
		where, args = where+` AND c.is_group = ?`, append(args, *f.Group)
	}
	if f.MeetMeOnly {
		where += ` AND c.is_group = 0 AND c.meet_me_id <> ''`
	}
	if f.Search != "" {
		pat := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
		where += ` AND (c.name_key LIKE ? ESCAPE '\' OR (c.is_group = 0 AND EXISTS (
			SELECT 1 FROM chat_participants o JOIN users u ON u.id = o.user_id
			WHERE o.chat_id = c.id AND o.user_id <> ? AND (u.username_key LIKE ? ESCAPE '\' OR lower(u.name) LIKE ? ESCAPE '\'))))`
		args = append(args, pat, f.UserID, pat, pat)
	}
	return `SELECT c.id, c.last_activity_at, me.last_read_at, c.members_version, c.messages_version, c.card_version
		FROM chat_participants me JOIN chats c INDEXED BY chats_list ON c.id = me.chat_id ` + where, args
}

// ChatCards returns the row and event of each chat of ids, keyed by chat
// id. One query.
func (tx *Tx) ChatCards(ctx context.Context, ids []string) (map[string]ChatCard, error) {
	out := make(map[string]ChatCard, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT `+chatColumns+`, e.id, e.starts_at, e.ends_at, e.location, e.created_at
		FROM chats c LEFT JOIN chat_events e ON e.chat_id = c.id
		WHERE c.id IN (SELECT value FROM json_each(?))`, jsonStrings(ids))
	if err != nil {
		return nil, fmt.Errorf("store: chat cards: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Chat
		var act, created, updated int64
		var eID, eLoc sql.NullString
		var eStart, eEnd, eCreated sql.NullInt64
		if err := rows.Scan(&c.ID, &c.CreatorID, &c.IsGroup, &c.Name, &c.Category, &c.Restricted, &c.AllowPublicPost, &c.Photo, &c.Tags,
			&c.MeetMeID, &c.PairKey, &act, &created, &updated,
			&eID, &eStart, &eEnd, &eLoc, &eCreated); err != nil {
			return nil, fmt.Errorf("store: scan chat card: %w", err)
		}
		c.LastActivityAt, c.CreatedAt, c.UpdatedAt = fromMS(act), fromMS(created), fromMS(updated)
		card := ChatCard{Chat: c}
		if eID.Valid {
			card.Event = &ChatEvent{ID: eID.String, ChatID: c.ID, StartsAt: fromMS(eStart.Int64), EndsAt: fromMS(eEnd.Int64),
				Location: eLoc.String, CreatedAt: fromMS(eCreated.Int64)}
		}
		out[c.ID] = card
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: chat cards: %w", translate(err))
	}
	return out, nil
}

// MessageSummary is what a chat list shows of a chat's messages: its
// newest message (in the order of Messages) and, for unread counts, the
// times and senders of its recent messages.
type MessageSummary struct {
	// Last is the newest message; nil when the chat has none.
	Last *Message
	// Since (ms) bounds the window: At and From hold every message of the
	// chat created at or after it, oldest first. Complete says they hold
	// every message of the chat.
	Since    int64
	Complete bool
	At       []int64 // created_at, ms, ascending
	From     []string
}

// Unread returns how many messages of the summary others than userID
// sent after lastRead (ms), and whether the summary can tell: it can when
// it holds every message after lastRead.
func (s *MessageSummary) Unread(userID string, lastRead int64) (int, bool) {
	if !s.Complete && lastRead < s.Since {
		return 0, false
	}
	i, _ := slices.BinarySearch(s.At, lastRead+1)
	n := 0
	for ; i < len(s.At); i++ {
		if s.From[i] != userID {
			n++
		}
	}
	return n, true
}

// MessageSummaries returns the summary of each chat, keyed by chat id,
// with a window of at least the window newest messages (more when several
// share the oldest time). Two statements whatever the number of chats.
func (tx *Tx) MessageSummaries(ctx context.Context, chatIDs []string, window int) (map[string]*MessageSummary, error) {
	out := make(map[string]*MessageSummary, len(chatIDs))
	if len(chatIDs) == 0 {
		return out, nil
	}
	last, err := tx.LastMessages(ctx, chatIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range chatIDs {
		s := &MessageSummary{Complete: true}
		if m, ok := last[id]; ok {
			s.Last = &m
		}
		out[id] = s
	}
	// The window of a chat starts at the time of its window-th newest
	// message (NULL when it has fewer: then it holds them all); the
	// covering index messages_chat_time_user serves both the bound and
	// the rows.
	rows, err := tx.query(ctx, `WITH j AS MATERIALIZED (SELECT value, (SELECT x.created_at FROM messages x WHERE x.chat_id = value
			ORDER BY x.created_at DESC LIMIT 1 OFFSET CAST(? AS INTEGER)) AS since FROM json_each(?))
		SELECT j.value, j.since, m.created_at, m.user_id
		FROM j JOIN messages m ON m.chat_id = j.value AND m.created_at >= COALESCE(j.since, 0)`, window-1, jsonStrings(chatIDs))
	if err != nil {
		return nil, fmt.Errorf("store: message summaries: %w", err)
	}
	defer rows.Close()
	type sent struct {
		at   int64
		from string
	}
	got := make(map[string][]sent, len(chatIDs))
	for rows.Next() {
		var id, from string
		var since sql.NullInt64
		var at int64
		if err := rows.Scan(&id, &since, &at, &from); err != nil {
			return nil, fmt.Errorf("store: scan message summary: %w", err)
		}
		s := out[id]
		if s == nil {
			continue
		}
		s.Since, s.Complete = since.Int64, !since.Valid
		got[id] = append(got[id], sent{at, from})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: message summaries: %w", translate(err))
	}
	for id, list := range got {
		// The index gives each chat's rows in time order; sorting here
		// keeps that from depending on the plan.
		slices.SortStableFunc(list, func(a, b sent) int { return cmp.Compare(a.at, b.at) })
		s := out[id]
		s.At, s.From = make([]int64, len(list)), make([]string, len(list))
		senders := map[string]string{}
		for i, m := range list {
			from, ok := senders[m.from]
			if !ok { // one copy of each sender's id
				from = m.from
				senders[from] = from
			}
			s.At[i], s.From[i] = m.at, from
		}
	}
	return out, nil
}

// People returns the users of ids as lists show them (every user row,
// deleted accounts' included), keyed by id. One query.
func (tx *Tx) People(ctx context.Context, ids []string) (map[string]Person, error) {
	out := make(map[string]Person, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT u.id, u.name, u.username, u.photo FROM users u INDEXED BY users_card
		WHERE u.id IN (SELECT value FROM json_each(?))`, jsonStrings(ids))
	if err != nil {
		return nil, fmt.Errorf("store: people: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Person
		if err := rows.Scan(&p.ID, &p.Name, &p.Username, &p.Photo); err != nil {
			return nil, fmt.Errorf("store: scan person: %w", err)
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}

// Users are joined INDEXED BY users_card (migration 00012), which covers
// the columns a list shows: SQLite otherwise picks the primary key's index
// and reads each table row besides.

// ParticipantPeople returns the participants of each chat with their
// users' profiles and presence, keyed by chat id, in joining order. One
// query.
func (tx *Tx) ParticipantPeople(ctx context.Context, chatIDs []string) (map[string][]ParticipantPerson, error) {
	return tx.participantPeople(ctx, chatIDs, true)
}

// ChatMembers is ParticipantPeople without presence (every Online is
// false): what stays the same while a chat's MembersVersion does.
func (tx *Tx) ChatMembers(ctx context.Context, chatIDs []string) (map[string][]ParticipantPerson, error) {
	return tx.participantPeople(ctx, chatIDs, false)
}

func (tx *Tx) participantPeople(ctx context.Context, chatIDs []string, presence bool) (map[string][]ParticipantPerson, error) {
	// Ordered here rather than in SQL: a handful of rows per chat sort
	// faster in Go than through SQLite's sorter.
	online, args := `0`, []any{jsonStrings(chatIDs)}
	if presence {
		online, args = onlineSQL("p.user_id"), []any{ms(tx.Now), jsonStrings(chatIDs)}
	}
	rows, err := tx.query(ctx, `SELECT p.id, p.chat_id, p.user_id, p.is_admin, p.status, p.last_read_at, p.joined_at,
		u.name, u.username, u.photo, `+online+`
		FROM chat_participants p LEFT JOIN users u INDEXED BY users_card ON u.id = p.user_id
		WHERE p.chat_id IN (SELECT value FROM json_each(?))`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: participant people: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]ParticipantPerson, len(chatIDs))
	for rows.Next() {
		var p ParticipantPerson
		var read, joined int64
		var uName, uUser, uPhoto sql.NullString
		var online bool
		if err := rows.Scan(&p.ID, &p.ChatID, &p.UserID, &p.IsAdmin, &p.Status, &read, &joined,
			&uName, &uUser, &uPhoto, &online); err != nil {
			return nil, fmt.Errorf("store: scan participant person: %w", err)
		}
		p.LastReadAt, p.JoinedAt = fromMS(read), fromMS(joined)
		if uName.Valid { // NOT NULL in users: NULL here means no user row
			p.User = &Person{ID: p.UserID, Name: uName.String, Username: uUser.String, Photo: uPhoto.String, Online: online}
		}
		out[p.ChatID] = append(out[p.ChatID], p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b ParticipantPerson) int {
			if c := a.JoinedAt.Compare(b.JoinedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
	}
	return out, nil
}
