package client

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vibesync/vibesync/wire"
)

// The replicated forms below follow the documented REST shapes ("_id",
// camelCase, RFC 3339 times). They name every field the server replicates,
// so a drift between the server's forms and these shows up in a test
// (TestEveryEntityDecodesStrictly); a field a newer server adds is still
// kept in the replica, and ignored here.

// User is a profile, or a reference to one (the feed may hold a bare id).
type User struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Photo    string `json:"photo,omitempty"`
	Bio      string `json:"bio,omitempty"`
	// Deleted marks a deleted account ("Deleted user", no username).
	Deleted bool `json:"deleted,omitempty"`
	// Status is the active meet-me status, if any.
	Status *MeetMeStatus `json:"status,omitempty"`
	// IsOnline is set in references the server rendered with presence;
	// IsFollowed, in a reel's author, when the viewer follows them. Both
	// are false in the feed.
	IsOnline   bool `json:"isOnline,omitempty"`
	IsFollowed bool `json:"isFollowed,omitempty"`
}

// MeetMeStatus is a meet-me status: what the user is up for, until when.
type MeetMeStatus struct {
	ID        string    `json:"_id"`
	Text      string    `json:"text"`
	ExpiresAt wire.Time `json:"expiresAt"`
	CreatedAt wire.Time `json:"createdAt"`
}

// UnmarshalJSON accepts the object form and a bare id.
func (u *User) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*u = User{}
		return json.Unmarshal(b, &u.ID)
	}
	type plain User
	return json.Unmarshal(b, (*plain)(u))
}

// Connection is a connection or a pending request between two users.
type Connection struct {
	ID     string `json:"_id"`
	Num    int64  `json:"num,omitempty"` // the v1 API's integer id
	From   User   `json:"from"`
	To     User   `json:"to"`
	Status string `json:"status"` // pending, accepted, declined
	// Message is the request's optional message; StatusDetail the id of
	// the meet-me status it answered.
	Message      string    `json:"message,omitempty"`
	StatusDetail string    `json:"statusDetail,omitempty"`
	CreatedAt    wire.Time `json:"createdAt"`
	AcceptedAt   wire.Time `json:"acceptedAt"`
	RespondedAt  wire.Time `json:"respondedAt,omitzero"`
	// User is the other side, as seen by the replica's user.
	User User `json:"user"`
}

// Participant is a member of a chat.
type Participant struct {
	ID         string    `json:"_id"`
	Chat       string    `json:"chat"`
	User       User      `json:"user"`
	IsAdmin    bool      `json:"isAdmin,omitempty"`
	Status     string    `json:"status,omitempty"` // an event's attendance: accepted, rejected
	LastReadAt wire.Time `json:"lastReadAt"`
}

// Membership, in the user's own bucket, says they take part in a chat.
type Membership struct {
	Chat        string `json:"chat"`
	Participant string `json:"participant"`
	IsAdmin     bool   `json:"isAdmin"`
	Status      string `json:"status,omitempty"`
}

// Message is a chat message.
type Message struct {
	ID    string    `json:"_id"`
	Chat  string    `json:"chat"`
	User  User      `json:"user"`
	Text  string    `json:"text"`
	Tag   string    `json:"tag,omitempty"`
	Files []File    `json:"files,omitempty"`
	At    wire.Time `json:"at"`
	// Pending is set while the message waits in the outbox.
	Pending bool `json:"pending,omitempty"`
}

// File is one file of a message. Meta is what the sender attached
// (mediaType, fileName, fileSize, duration, …).
type File struct {
	ID    string          `json:"_id"`
	URL   string          `json:"url"`
	Cover string          `json:"cover,omitempty"`
	Meta  json.RawMessage `json:"meta,omitempty"`
}

// ChatFile is a file posted to a chat, as the chat's file list shows it:
// Type is image, video, audio, document or other; Tag the message's tag.
type ChatFile struct {
	ID      string    `json:"_id"`
	User    string    `json:"user"`
	Chat    string    `json:"chat"`
	At      wire.Time `json:"at"`
	Message string    `json:"message"`
	Type    string    `json:"type"`
	Tag     string    `json:"tag"`
	File    File      `json:"file"`
}

// Chat is a chat with what the REST list computes: participants, the
// caller's unread count and the last message.
type Chat struct {
	ID         string `json:"_id"`
	Name       string `json:"name"`
	Photo      string `json:"photo,omitempty"`
	Category   string `json:"category,omitempty"`
	IsGroup    bool   `json:"isGroup"`
	Restricted bool   `json:"restricted,omitempty"`
	// AllowPublicPost, Tags and Event are a group's settings; MeetMe the
	// meet-me connection a one-to-one chat started from.
	AllowPublicPost bool          `json:"allowPublicPost,omitempty"`
	Tags            []Tag         `json:"tags,omitempty"`
	MeetMe          string        `json:"meetMe,omitempty"`
	Event           *ChatEvent    `json:"event,omitempty"`
	Creator         User          `json:"creator"`
	CreatedAt       wire.Time     `json:"createdAt"`
	UpdatedAt       wire.Time     `json:"updatedAt"`
	Participants    []Participant `json:"participants"`
	Unread          int           `json:"unread"`
	LastMessage     *Message      `json:"lastMessage"`
}

// Tag labels a group chat; messages and files may carry one.
type Tag struct {
	Tag   string `json:"tag"`
	Label string `json:"label"`
}

// ChatEvent is the event of an Event-category group chat.
type ChatEvent struct {
	ID       string    `json:"_id"`
	StartsAt wire.Time `json:"startsAt"`
	EndsAt   wire.Time `json:"endsAt"`
	Location string    `json:"location,omitempty"`
	IsActive bool      `json:"isActive"`
}

// JoinRequest is a request to join a restricted chat.
type JoinRequest struct {
	ID        string    `json:"_id"`
	Chat      string    `json:"chat"`
	User      User      `json:"user"`
	Status    string    `json:"status"`
	CreatedAt wire.Time `json:"createdAt"`
}

// Notification is one of the user's notifications.
type Notification struct {
	ID   string `json:"_id"`
	Num  int64  `json:"num,omitempty"` // the v1 API's integer id
	Type string `json:"type"`
	// User is the recipient, Actor who caused it; Subject (of
	// SubjectType) what it is about, Chat the chat it belongs to.
	User        string    `json:"user,omitempty"`
	Actor       string    `json:"actor,omitempty"`
	SubjectType string    `json:"subjectType,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	Chat        string    `json:"chat,omitempty"`
	Message     string    `json:"message,omitempty"`
	Read        bool      `json:"read,omitempty"`
	Dismissed   bool      `json:"dismissed,omitempty"`
	CreatedAt   wire.Time `json:"createdAt"`
}

// Score is a user's vibe score, with the action that changed it last.
type Score struct {
	User   string `json:"user"`
	Score  int    `json:"score"`
	Action string `json:"action,omitempty"`
	Points int    `json:"points,omitempty"`
}

// Follow is one user following another.
type Follow struct {
	ID        string    `json:"_id"`
	Follower  string    `json:"follower"`
	Followee  string    `json:"followee"`
	CreatedAt wire.Time `json:"createdAt"`
}

// Block is the user blocking another (only the blocker's replica has it).
type Block struct {
	ID        string    `json:"_id"`
	Blocker   string    `json:"blocker"`
	Blocked   string    `json:"blocked"`
	CreatedAt wire.Time `json:"createdAt"`
}

// Reel is a short video posted to a chat. User is nil for an anonymous
// reel seen by someone else.
type Reel struct {
	ID          string    `json:"_id"`
	User        *User     `json:"user"`
	Chat        string    `json:"chat"`
	Description string    `json:"description"`
	Tag         string    `json:"tag"`
	Video       string    `json:"video"`
	Hashtags    []string  `json:"hashtags"`
	IsAnonymous bool      `json:"isAnonymous"`
	Views       int       `json:"views"`
	Likes       int       `json:"likes"`
	SuperLikes  int       `json:"superLikes"`
	Favorites   int       `json:"favorites"`
	Shares      int       `json:"shares"`
	Comments    int       `json:"comments"`
	CreatedAt   wire.Time `json:"createdAt"`
	UpdatedAt   wire.Time `json:"updatedAt"`
	// The viewer's own reactions (false in the feed).
	IsLiked      bool `json:"isLiked,omitempty"`
	IsSuperLiked bool `json:"isSuperLiked,omitempty"`
	IsFavorite   bool `json:"isFavorite,omitempty"`
}

func decodeAll[T any](es []entity) ([]T, error) {
	out := make([]T, 0, len(es))
	for _, e := range es {
		var v T
		if err := json.Unmarshal(e.Data, &v); err != nil {
			return nil, fmt.Errorf("client: decode %s: %w", e.ID, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// profiles holds the replica's `user` rows by id: the current profiles of
// the users its other rows mention. The server replicates a user's profile
// into each bucket that mentions them and re-puts it there when it changes,
// so these are fresher than the snapshots embedded in chats, participants,
// messages, connections and requests, which fill in only for a user whose
// row the replica does not hold (hidden by a block, or written before
// profiles were replicated).
type profiles map[string]User

// profiles reads the profiles held in bucket ("" for every bucket). Each
// copy of a profile is re-put with every change, so one bucket's copies
// are as fresh as any; for a chat's bucket the user's own profile comes
// from their bucket, where their queued edits show.
func (c *Client) profiles(ctx context.Context, bucket string) (profiles, error) {
	es, err := c.entities(ctx, "user", bucket)
	if err != nil {
		return nil, err
	}
	us, err := decodeAll[User](es)
	if err != nil {
		return nil, err
	}
	out := make(profiles, len(us)+1)
	for _, u := range us {
		out[u.ID] = u
	}
	if strings.HasPrefix(bucket, "chat:") {
		me, err := c.Me(ctx)
		if err != nil && !errors.Is(err, ErrNotLoggedIn) {
			return nil, err
		}
		if me.Name != "" || me.Username != "" {
			out[me.ID] = me
		}
	}
	return out, nil
}

// resolve replaces *u with the replicated profile of its id, if any.
func (ps profiles) resolve(u *User) {
	if p, ok := ps[u.ID]; ok && u.ID != "" {
		*u = p
	}
}

func (c *Client) me(ctx context.Context) (string, error) {
	id := c.UserID(ctx)
	if id == "" {
		return "", ErrNotLoggedIn
	}
	return id, nil
}

// Me returns the user's own profile from the replica (as edited offline).
func (c *Client) Me(ctx context.Context) (User, error) {
	id, err := c.me(ctx)
	if err != nil {
		return User{}, err
	}
	es, err := c.entities(ctx, "user", "user:"+id)
	if err != nil {
		return User{}, err
	}
	users, err := decodeAll[User](es)
	if err != nil {
		return User{}, err
	}
	for _, u := range users {
		if u.ID == id {
			return u, nil
		}
	}
	return User{ID: id}, nil
}

// Connections lists the user's connections and requests (status "" for
// all, or "pending", "accepted"), newest first, each with User set to the
// other side.
func (c *Client) Connections(ctx context.Context, status string) ([]Connection, error) {
	me, err := c.me(ctx)
	if err != nil {
		return nil, err
	}
	es, err := c.entities(ctx, "connection", "")
	if err != nil {
		return nil, err
	}
	all, err := decodeAll[Connection](es)
	if err != nil {
		return nil, err
	}
	ps, err := c.profiles(ctx, "user:"+me)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, cn := range all {
		if status != "" && cn.Status != status {
			continue
		}
		ps.resolve(&cn.From)
		ps.resolve(&cn.To)
		cn.User = cn.To
		if cn.To.ID == me {
			cn.User = cn.From
		}
		out = append(out, cn)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt.Time) })
	return out, nil
}

// Messages lists a chat's messages, oldest first (queued ones included).
func (c *Client) Messages(ctx context.Context, chatID string) ([]Message, error) {
	es, err := c.entities(ctx, "message", "chat:"+chatID)
	if err != nil {
		return nil, err
	}
	ms, err := decodeAll[Message](es)
	if err != nil {
		return nil, err
	}
	ps, err := c.profiles(ctx, "chat:"+chatID)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		ps.resolve(&ms[i].User)
	}
	sort.SliceStable(ms, func(i, j int) bool { return messageBefore(ms[i], ms[j]) })
	return ms, nil
}

func messageBefore(a, b Message) bool {
	if !a.At.Equal(b.At.Time) {
		return a.At.Before(b.At.Time)
	}
	return a.ID < b.ID
}

// Chats lists the user's chats, most recently active first, with
// participants, lastMessage and unread (messages by others after the
// user's lastReadAt) computed from the replica as the REST API does; a
// one-to-one chat is named after the other user's current profile.
// search filters by name, ignoring case.
func (c *Client) Chats(ctx context.Context, search string) ([]Chat, error) {
	me, err := c.me(ctx)
	if err != nil {
		return nil, err
	}
	es, err := c.entities(ctx, "chat", "")
	if err != nil {
		return nil, err
	}
	chats, err := decodeAll[Chat](es)
	if err != nil {
		return nil, err
	}
	pes, err := c.entities(ctx, "participant", "")
	if err != nil {
		return nil, err
	}
	parts, err := decodeAll[Participant](pes)
	if err != nil {
		return nil, err
	}
	ps, err := c.profiles(ctx, "")
	if err != nil {
		return nil, err
	}
	byChat := map[string][]Participant{}
	for i, p := range parts {
		ps.resolve(&p.User)
		chat := p.Chat
		if chat == "" {
			chat = strings.TrimPrefix(pes[i].Bucket, "chat:")
		}
		byChat[chat] = append(byChat[chat], p)
	}
	out := chats[:0]
	for _, ch := range chats {
		ch.Participants = byChat[ch.ID]
		var lastRead wire.Time
		for _, p := range ch.Participants {
			if p.User.ID == me {
				lastRead = p.LastReadAt
			} else if !ch.IsGroup && ch.Name == "" {
				// A one-to-one chat is named after the other user, as
				// the REST reads name it.
				ch.Name, ch.Photo = p.User.Name, p.User.Photo
			}
		}
		if search != "" && !strings.Contains(strings.ToLower(ch.Name), strings.ToLower(search)) {
			continue
		}
		ps.resolve(&ch.Creator)
		if err := c.timeline(ctx, &ch, me, lastRead); err != nil {
			return nil, err
		}
		if ch.LastMessage != nil {
			ps.resolve(&ch.LastMessage.User)
		}
		out = append(out, ch)
	}
	sort.SliceStable(out, func(i, j int) bool { return activity(out[i]).After(activity(out[j]).Time) })
	return out, nil
}

// timeline sets a chat's unread count and last message: from the pulled
// rows with two indexed queries (plus, for a chat the replica holds a
// window of, the server's count of unread messages older than it), then
// the queued messages of the overlay (the user's own: they never count as
// unread). The last message is always in the window: a window holds a
// chat's newest messages.
func (c *Client) timeline(ctx context.Context, ch *Chat, me string, lastRead wire.Time) error {
	bucket := "chat:" + ch.ID
	var last []byte
	err := c.db.QueryRowContext(ctx, `SELECT data FROM rows WHERE bucket = ? AND entity = 'message'`+notDeleted+` ORDER BY at DESC, id DESC LIMIT 1`, bucket).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("client: last message: %w", err)
	}
	ch.LastMessage = nil
	if last != nil {
		var m Message
		if err := json.Unmarshal(last, &m); err != nil {
			return fmt.Errorf("client: decode message: %w", err)
		}
		ch.LastMessage = &m
	}
	var readMS int64 = noReadMark
	if !lastRead.IsZero() {
		readMS = lastRead.UnixMilli()
	}
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM rows WHERE bucket = ? AND entity = 'message' AND at > ? AND author <> ?`+notDeleted,
		bucket, readMS, me).Scan(&ch.Unread); err != nil {
		return fmt.Errorf("client: unread: %w", err)
	}
	// Messages older than the replica's window count from the server's
	// summary.
	hidden, err := hiddenUnread(ctx, c.db, bucket, readMS)
	if err != nil {
		return err
	}
	ch.Unread += hidden
	rows, err := c.db.QueryContext(ctx, `SELECT data FROM overlay WHERE bucket = ? AND entity = 'message' AND op = 'upsert'`, bucket)
	if err != nil {
		return fmt.Errorf("client: queued messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return err
		}
		var m Message
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("client: decode queued message: %w", err)
		}
		if ch.LastMessage == nil || messageBefore(*ch.LastMessage, m) {
			ch.LastMessage = &m
		}
	}
	return rows.Err()
}

// notDeleted leaves out pulled messages a queued mutation deletes.
const notDeleted = ` AND NOT EXISTS (SELECT 1 FROM overlay o WHERE o.entity = 'message' AND o.bucket = rows.bucket AND o.id = rows.id AND o.op = 'delete')`

func activity(ch Chat) wire.Time {
	if ch.LastMessage != nil && ch.LastMessage.At.After(ch.UpdatedAt.Time) {
		return ch.LastMessage.At
	}
	return ch.UpdatedAt
}

// Requests lists join requests the replica holds: the user's own, and
// those pending in chats they administer.
func (c *Client) Requests(ctx context.Context) ([]JoinRequest, error) {
	me, err := c.me(ctx)
	if err != nil {
		return nil, err
	}
	es, err := c.entities(ctx, "request", "")
	if err != nil {
		return nil, err
	}
	rs, err := decodeAll[JoinRequest](es)
	if err != nil {
		return nil, err
	}
	ps, err := c.profiles(ctx, "user:"+me)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		ps.resolve(&rs[i].User)
	}
	return rs, nil
}

// Notifications lists the user's notifications, newest first.
func (c *Client) Notifications(ctx context.Context) ([]Notification, error) {
	es, err := c.entities(ctx, "notification", "")
	if err != nil {
		return nil, err
	}
	ns, err := decodeAll[Notification](es)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(ns, func(i, j int) bool { return ns[i].CreatedAt.After(ns[j].CreatedAt.Time) })
	return ns, nil
}

// UserByUsername finds a user the replica knows by username, ignoring
// case and a leading "@": from the replicated profiles, then from the
// users its connections, chats and requests mention. It works offline;
// ok is false when the replica has never seen the user (then ask the
// server, SearchUsers, or use the user's id).
func (c *Client) UserByUsername(ctx context.Context, username string) (u User, ok bool, err error) {
	username = strings.TrimPrefix(username, "@")
	ps, err := c.profiles(ctx, "")
	if err != nil {
		return User{}, false, err
	}
	for _, p := range ps {
		if strings.EqualFold(p.Username, username) {
			return p, true, nil
		}
	}
	for _, kind := range []string{"connection", "participant", "request"} {
		es, err := c.entities(ctx, kind, "")
		if err != nil {
			return User{}, false, err
		}
		for _, e := range es {
			var refs struct{ From, To, User User }
			if json.Unmarshal(e.Data, &refs) != nil {
				continue
			}
			for _, r := range []User{refs.From, refs.To, refs.User} {
				if r.ID != "" && r.Username != "" && strings.EqualFold(r.Username, username) {
					return r, true, nil
				}
			}
		}
	}
	return User{}, false, nil
}

// Following lists the ids of the users the user follows.
func (c *Client) Following(ctx context.Context) ([]string, error) {
	return c.edges(ctx, "follow", func(e map[string]string) string { return e["followee"] }, "follower")
}

// Blocked lists the ids of the users the user blocked.
func (c *Client) Blocked(ctx context.Context) ([]string, error) {
	return c.edges(ctx, "block", func(e map[string]string) string { return e["blocked"] }, "blocker")
}

// edges reads the user's own follow or block rows (side names the user's
// end) and returns the other ends.
func (c *Client) edges(ctx context.Context, kind string, other func(map[string]string) string, side string) ([]string, error) {
	me, err := c.me(ctx)
	if err != nil {
		return nil, err
	}
	es, err := c.entities(ctx, kind, "user:"+me)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		var m map[string]string
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return nil, fmt.Errorf("client: decode %s %s: %w", kind, e.ID, err)
		}
		if m[side] == me {
			out = append(out, other(m))
		}
	}
	sort.Strings(out)
	return out, nil
}
