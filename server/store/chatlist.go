package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
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

// ChatListRow is one chat of a user's chat list with what the list shows
// beside it: its event, its creator, its newest message and that
// message's author, and the user's unread count. Pointers are nil when
// there is none (or the user row is gone).
type ChatListRow struct {
	Chat        Chat
	Event       *ChatEvent
	Creator     *Person
	LastMessage *Message
	LastAuthor  *Person
	Unread      int
	// MembersVersion moves whenever the chat's participants or their
	// profiles change (migration 00017): ChatMembers' answer for the chat
	// is the same for as long as it does not.
	MembersVersion int64
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
// first, and the total, each with its event, creator, newest message
// (with its author) and the user's unread count: messages others sent
// after the user's last read time. One query whatever the page size (the
// total rides on each row as a window count; a page past the end costs a
// second); the extras are looked up for the page's rows only. The people
// it returns carry no presence (Online is false): callers overlay it.
func (tx *Tx) ChatList(ctx context.Context, f ChatFilter) ([]ChatListRow, int, error) {
	where := `WHERE c.id IN (SELECT chat_id FROM chat_participants WHERE user_id = ?)`
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
	var total int
	// The page is chosen first (LIMIT in the inner select), so the
	// correlated lookups run for its rows only. LIMIT and OFFSET go through
	// CAST: SQLite looks at the value bound to a bare "LIMIT ?" while
	// planning and then re-prepares the statement on every execution
	// (sqlite3Reprepare showed in the profile); an expression it does not
	// read while planning keeps the prepared plan.
	q := `SELECT ` + chatColumns + `,
		e.id, e.starts_at, e.ends_at, e.location, e.created_at,
		cu.id, cu.name, cu.username, cu.photo,
		m.id, m.user_id, m.text, m.tag, m.files, m.created_at,
		mu.id, mu.name, mu.username, mu.photo,
		(SELECT count(*) FROM messages um WHERE um.chat_id = c.id AND um.created_at > me.last_read_at AND um.user_id <> me.user_id),
		c.members_version, c.list_total
	FROM (SELECT c.*, count(*) OVER () AS list_total FROM chats c ` + where + ` ORDER BY c.last_activity_at DESC, c.id DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)) c
	JOIN chat_participants me ON me.chat_id = c.id AND me.user_id = ?
	LEFT JOIN chat_events e ON e.chat_id = c.id
	LEFT JOIN users cu INDEXED BY users_card ON cu.id = c.creator_id
	LEFT JOIN messages m ON m.id = (SELECT lm.id FROM messages lm WHERE lm.chat_id = c.id ORDER BY lm.created_at DESC, lm.id DESC LIMIT 1)
	LEFT JOIN users mu INDEXED BY users_card ON mu.id = m.user_id
	ORDER BY c.last_activity_at DESC, c.id DESC`
	all := make([]any, 0, len(args)+3)
	all = append(all, args...)
	all = append(all, f.Limit, f.Offset, f.UserID)
	rows, err := tx.query(ctx, q, all...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: chat list: %w", err)
	}
	defer rows.Close()
	out := make([]ChatListRow, 0, f.Limit)
	for rows.Next() {
		var r ChatListRow
		var c Chat
		var act, created, updated int64
		var eID, eLoc, cuID, cuName, cuUser, cuPhoto, mID, mUser, mText, mTag, mFiles, muID, muName, muUser, muPhoto sql.NullString
		var eStart, eEnd, eCreated, mCreated sql.NullInt64
		if err := rows.Scan(&c.ID, &c.CreatorID, &c.IsGroup, &c.Name, &c.Category, &c.Restricted, &c.AllowPublicPost, &c.Photo, &c.Tags,
			&c.MeetMeID, &c.PairKey, &act, &created, &updated,
			&eID, &eStart, &eEnd, &eLoc, &eCreated,
			&cuID, &cuName, &cuUser, &cuPhoto,
			&mID, &mUser, &mText, &mTag, &mFiles, &mCreated,
			&muID, &muName, &muUser, &muPhoto,
			&r.Unread, &r.MembersVersion, &total); err != nil {
			return nil, 0, fmt.Errorf("store: scan chat list: %w", err)
		}
		c.LastActivityAt, c.CreatedAt, c.UpdatedAt = fromMS(act), fromMS(created), fromMS(updated)
		r.Chat = c
		if eID.Valid {
			r.Event = &ChatEvent{ID: eID.String, ChatID: c.ID, StartsAt: fromMS(eStart.Int64), EndsAt: fromMS(eEnd.Int64),
				Location: eLoc.String, CreatedAt: fromMS(eCreated.Int64)}
		}
		if cuID.Valid {
			r.Creator = &Person{ID: cuID.String, Name: cuName.String, Username: cuUser.String, Photo: cuPhoto.String}
		}
		if mID.Valid {
			r.LastMessage = &Message{ID: mID.String, ChatID: c.ID, UserID: mUser.String, Text: mText.String, Tag: mTag.String,
				Files: mFiles.String, CreatedAt: fromMS(mCreated.Int64)}
		}
		if muID.Valid {
			r.LastAuthor = &Person{ID: muID.String, Name: muName.String, Username: muUser.String, Photo: muPhoto.String}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(out) == 0 {
		// An empty page carries no row to read the total from.
		if err := tx.queryRow(ctx, `SELECT count(*) FROM chats c `+where, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("store: count chats: %w", translate(err))
		}
	}
	return out, total, nil
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
