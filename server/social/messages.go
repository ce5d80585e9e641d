package social

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// Messages.
//
// Decisions where the documents are loose:
//   - Messages are ordered by the time the server stored them (then id),
//     not by the time inside their ids: a client-proposed id carries the
//     device's clock, which may be wrong or from when it was offline.
//   - A client may propose `_id` (a valid id). Re-posting an `_id` the same
//     user already used in the same chat with the same content (text, tag
//     and file URLs) returns the stored message with 200 and writes
//     nothing: it is a retry. An `_id` taken by anything else, including
//     the same user's message with other content, is 409
//     message_id_taken: the second text would otherwise be answered as
//     sent and silently lost.
//   - A message may carry `tag`, one of the chat's tags; its files are
//     listed under that tag by GET /chats/:id/files, otherwise under
//     "others".
//   - A file's type is meta.mediaType when that names a known type,
//     otherwise it follows the URL's extension (see fileTypeOf).
//   - Sending does not move the sender's lastReadAt; unread never counts
//     the reader's own messages anyway.
//   - unread counts messages of others after the reader's lastReadAt. A
//     message is stamped after every participant's lastReadAt, and marking
//     read reaches the newest message, so two writes within one
//     millisecond still order correctly (see nextMessageTime).

// Limits on messages.
const (
	MaxMessageLen   = wire.MaxMessageLen
	MaxMessageFiles = wire.MaxMessageFiles
	MaxFileMetaLen  = 8 << 10
	DefaultMessages = 20
)

// NewFile is one file of a new message.
type NewFile struct {
	URL   string
	Cover string
	Meta  json.RawMessage
}

// NewMessage is the input of SendMessage.
type NewMessage struct {
	ID    string // proposed by the client, optional
	Text  string
	Tag   string
	Files []NewFile
}

func validFileURL(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return apperr.InvalidField(field, "%s must be an absolute http(s) URL", field)
	}
	return nil
}

var extTypes = map[string]string{
	".mp4": "video", ".mov": "video", ".webm": "video", ".mkv": "video", ".avi": "video", ".m4v": "video", ".3gp": "video",
	".mp3": "audio", ".wav": "audio", ".m4a": "audio", ".aac": "audio", ".ogg": "audio", ".oga": "audio", ".flac": "audio", ".opus": "audio",
	".jpg": "image", ".jpeg": "image", ".png": "image", ".gif": "image", ".webp": "image", ".avif": "image", ".heic": "image", ".bmp": "image", ".svg": "image",
	".pdf": "document", ".doc": "document", ".docx": "document", ".xls": "document", ".xlsx": "document", ".ppt": "document",
	".pptx": "document", ".txt": "document", ".csv": "document", ".rtf": "document", ".odt": "document", ".ods": "document",
	".odp": "document", ".md": "document", ".epub": "document",
}

// fileTypeOf is a file's type: meta.mediaType when it names one of the
// types, else by the URL path's extension, else "other".
func fileTypeOf(rawURL string, meta json.RawMessage) string {
	if len(meta) > 0 {
		var m struct {
			MediaType string `json:"mediaType"`
		}
		if json.Unmarshal(meta, &m) == nil && slices.Contains(fileTypes, m.MediaType) {
			return m.MediaType
		}
	}
	if u, err := url.Parse(rawURL); err == nil {
		if t, ok := extTypes[strings.ToLower(path.Ext(u.Path))]; ok {
			return t
		}
	}
	return "other"
}

// SentMessage is what SendMessage did.
type SentMessage struct {
	Message Message
	// JSON is the message's JSON encoding, the bytes its feed row and
	// message-created event carry (encoded once, so a transport may answer
	// with them too); nil when nothing was written.
	JSON []byte
	// Created is false when the proposed id was already posted by the
	// caller in this chat: Message is the stored one, nothing was written.
	Created bool
}

// SendMessage posts a message to a chat the caller takes part in. A
// proposed id the caller already posted in this chat answers the stored
// message with Created false.
//
// One query reads the chat, the sender's participation, the read marks and
// the sender's profile (see store.SendContext); the message is encoded once
// for the feed row, the live event and the caller's answer.
func (s *Service) SendMessage(ctx context.Context, c Caller, chatID string, in NewMessage) (SentMessage, error) {
	var out SentMessage
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.sendMessage(ctx, tx, c, chatID, in)
		return err
	})
	return out, err
}

func (s *Service) sendMessage(ctx context.Context, tx *store.Tx, c Caller, chatID string, in NewMessage) (SentMessage, error) {
	if err := c.valid(); err != nil {
		return SentMessage{}, err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return SentMessage{}, err
	}
	if in.ID != "" {
		if err := ValidID(FieldMessageID, in.ID); err != nil {
			return SentMessage{}, &apperr.Error{Code: apperr.Invalid, Reason: "invalid_id", Message: FieldMessageID + " must be a 24-character hex id", Field: FieldMessageID}
		}
	}
	text := strings.TrimSpace(in.Text)
	if utf8.RuneCountInString(text) > MaxMessageLen {
		return SentMessage{}, apperr.InvalidField("text", "text must be at most %d characters", MaxMessageLen)
	}
	if text == "" && len(in.Files) == 0 {
		return SentMessage{}, apperr.Invalidf("empty_message", "A message needs text or at least one file")
	}
	if len(in.Files) > MaxMessageFiles {
		return SentMessage{}, apperr.InvalidField("files", "at most %d files", MaxMessageFiles)
	}
	for _, f := range in.Files {
		if err := validFileURL("files.url", f.URL); err != nil {
			return SentMessage{}, err
		}
		if f.Cover != "" {
			if err := validFileURL("files.cover", f.Cover); err != nil {
				return SentMessage{}, err
			}
		}
		if len(f.Meta) > MaxFileMetaLen {
			return SentMessage{}, apperr.InvalidField("files.meta", "meta must be at most %d bytes", MaxFileMetaLen)
		}
		if len(f.Meta) > 0 && !json.Valid(f.Meta) {
			// REST's decoder has checked it; a sync mutation carries it as text.
			return SentMessage{}, apperr.InvalidField("files.meta", "meta must be JSON")
		}
	}
	sc, err := tx.SendContext(ctx, chatID, c.UserID)
	if err != nil {
		return SentMessage{}, err
	}
	if !sc.Participant {
		return SentMessage{}, apperr.Forbiddenf("not_participant", "You are not a participant of this chat")
	}
	ch := sc.Chat
	if in.ID != "" {
		if m, err := tx.Message(ctx, in.ID); err == nil {
			if m.ChatID != chatID || m.UserID != c.UserID || !sameMessage(m, text, in) {
				return SentMessage{}, apperr.Conflictf("message_id_taken", "That message id is already taken")
			}
			ppl, err := s.loadPeople(ctx, tx, []string{m.UserID})
			if err != nil {
				return SentMessage{}, err
			}
			out, err := messageFrom(m, ppl.ref(m.UserID))
			return SentMessage{Message: out}, err
		} else if !apperr.Is(err, apperr.NotFound) {
			return SentMessage{}, err
		}
	}
	if !ch.IsGroup {
		if err := s.checkDirectNotBlocked(ctx, tx, ch, c.UserID); err != nil {
			return SentMessage{}, err
		}
	}
	tag := strings.TrimSpace(in.Tag)
	if tag != "" && tag != DefaultFileTag && !slices.ContainsFunc(decodeTags(ch.Tags), func(t Tag) bool { return t.Tag == tag }) {
		return SentMessage{}, apperr.InvalidField("tag", "tag must be one of the chat's tags")
	}
	at := nextMessageTime(tx.Now, sc.LastRead, sc.Newest)
	id := in.ID
	if id == "" {
		id = oid.NewAt(at)
	}
	fileTag := tag
	if fileTag == "" {
		fileTag = DefaultFileTag
	}
	files := make([]File, 0, len(in.Files))
	rows := make([]store.ChatFile, 0, len(in.Files))
	for _, f := range in.Files {
		var meta json.RawMessage
		if len(bytes.TrimSpace(f.Meta)) > 0 && string(bytes.TrimSpace(f.Meta)) != "null" {
			meta = f.Meta
		}
		fid := oid.NewAt(at)
		files = append(files, File{ID: fid, URL: f.URL, Cover: f.Cover, Meta: meta})
		rows = append(rows, store.ChatFile{ID: fid, ChatID: chatID, MessageID: id, UserID: c.UserID, Type: fileTypeOf(f.URL, meta),
			Tag: fileTag, URL: f.URL, Cover: f.Cover, Meta: string(meta), CreatedAt: at})
	}
	filesJSON := []byte("[]")
	if len(files) > 0 {
		if filesJSON, err = encode(files); err != nil {
			return SentMessage{}, err
		}
	}
	m := store.Message{ID: id, ChatID: chatID, UserID: c.UserID, Text: text, Tag: tag, Files: string(filesJSON), CreatedAt: at}
	if err := tx.InsertMessage(ctx, m); err != nil {
		if apperr.Is(err, apperr.Conflict) {
			return SentMessage{}, apperr.Conflictf("message_id_taken", "That message id is already taken")
		}
		return SentMessage{}, err
	}
	for _, r := range rows {
		if err := tx.InsertChatFile(ctx, r); err != nil {
			return SentMessage{}, err
		}
		if err := put(ctx, tx, EntityFile, r.ID, chatFileFrom(r), ChatBucket(chatID)); err != nil {
			return SentMessage{}, err
		}
	}
	// The chat's activity time moves with the insert (trigger
	// messages_touch_chat, migration 00018).
	sender := UserRef{ID: c.UserID}
	if u := sc.Sender; sc.SenderFound {
		sender = UserRef{ID: u.ID, Name: u.Name, Username: u.Username, Photo: u.Photo, Populated: true}
	}
	out := Message{ID: m.ID, User: sender, Chat: chatID, Text: text, Tag: tag, At: wire.T(at), Files: files}
	// The feed row and the live event carry the same form: encoded once.
	b, err := encode(out)
	if err != nil {
		return SentMessage{}, err
	}
	if _, err := tx.Put(ctx, ChatBucket(chatID), EntityMessage, m.ID, b); err != nil {
		return SentMessage{}, err
	}
	if _, err := tx.AppendEvent(ctx, ChatBucket(chatID), EventMessageCreated, b, store.EventOrigin(c.UserID, c.Socket)); err != nil {
		return SentMessage{}, err
	}
	return SentMessage{Message: out, JSON: b, Created: true}, nil
}

// nextMessageTime is the time of a new message in a chat: now, but always
// after every participant's lastReadAt, so a message sent in the same
// millisecond as someone marked the chat read (or joined it) still counts
// as unread for them, and never before the chat's newest message, so
// message order is arrival order even if the clock steps back. Times are
// kept in milliseconds.
func nextMessageTime(now, lastRead, newest time.Time) time.Time {
	at := now
	if !at.After(lastRead) {
		at = lastRead.Add(time.Millisecond)
	}
	if at.Before(newest) {
		at = newest
	}
	return at
}

// readTime is the lastReadAt that marks every message of chat read: the
// transaction's time, or the newest message's if that is later (see
// nextMessageTime).
func readTime(ctx context.Context, tx *store.Tx, chatID string) (time.Time, error) {
	_, newest, err := tx.ReadMarks(ctx, chatID)
	if err != nil {
		return time.Time{}, err
	}
	if newest.After(tx.Now) {
		return newest, nil
	}
	return tx.Now, nil
}

// checkDirectNotBlocked answers 403 blocked when either user of a
// one-to-one chat blocks the other.
func (s *Service) checkDirectNotBlocked(ctx context.Context, tx *store.Tx, ch store.Chat, me string) error {
	parts, err := tx.ParticipantsOf(ctx, []string{ch.ID})
	if err != nil {
		return err
	}
	for _, p := range parts[ch.ID] {
		if p.UserID == me {
			continue
		}
		u, err := tx.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		if !u.DeletedAt.IsZero() {
			return apperr.Conflictf("user_deleted", "This account has been deleted; it cannot receive messages")
		}
		blocked, err := tx.Blocked(ctx, me, p.UserID)
		if err != nil {
			return err
		}
		if blocked {
			return apperr.Forbiddenf("blocked", "You cannot message this user")
		}
	}
	return nil
}

// MessageFilter pages through a chat's messages with message ids as
// cursors: those older than Before and/or newer than After, at most Limit,
// newest first. With After, the Limit messages right after it are
// answered (catching up forward leaves no gap); otherwise the newest
// ones. Older and newer follow the order the server stored them in, never
// the time inside a client-proposed id. A cursor that is not a message of
// the chat is 404 message_not_found.
type MessageFilter struct {
	Before string
	After  string
	Limit  int
}

// Messages lists a chat's messages for a participant, newest first, and
// the chat's total number of messages.
func (s *Service) Messages(ctx context.Context, c Caller, chatID string, f MessageFilter) ([]Message, int, error) {
	if err := ValidID(FieldChatID, chatID); err != nil {
		return nil, 0, err
	}
	if f.Before != "" {
		if err := ValidID("before", f.Before); err != nil {
			return nil, 0, err
		}
	}
	if f.After != "" {
		if err := ValidID("after", f.After); err != nil {
			return nil, 0, err
		}
	}
	if f.Limit <= 0 {
		f.Limit = DefaultMessages
	}
	out := []Message{}
	var total int
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, _, err := memberOf(ctx, tx, chatID, c.UserID); err != nil {
			return err
		}
		rows, n, err := tx.Messages(ctx, store.MessageFilter{ChatID: chatID, Before: f.Before, After: f.After, Limit: f.Limit})
		if err != nil {
			return err
		}
		total = n
		ids := make([]string, len(rows))
		for i, m := range rows {
			ids[i] = m.UserID
		}
		ppl, err := s.loadPeopleOnline(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, m := range rows {
			v, err := messageFrom(m, ppl.ref(m.UserID))
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, total, err
}

// sameMessage reports whether stored message m has the content of a post
// of text (trimmed) with in's tag and files: a retry of the same message.
func sameMessage(m store.Message, text string, in NewMessage) bool {
	if m.Text != text || m.Tag != strings.TrimSpace(in.Tag) {
		return false
	}
	var files []File
	if m.Files != "" {
		if err := json.Unmarshal([]byte(m.Files), &files); err != nil {
			return false
		}
	}
	if len(files) != len(in.Files) {
		return false
	}
	for i, f := range files {
		if f.URL != in.Files[i].URL || f.Cover != in.Files[i].Cover {
			return false
		}
	}
	return true
}

// EventMessageDeleted tells a chat's participants a message was deleted.
const EventMessageDeleted = "message-deleted"

// DeleteMessage deletes a message of a chat. Its sender may, and so may
// the admins of a group (403 not_sender for anyone else); the caller must
// be a participant (403 not_participant). The message and its files leave
// the chat's feed (tombstones, so replicas drop them) and the chat's
// participants get message-deleted {_id, chat} live.
func (s *Service) DeleteMessage(ctx context.Context, c Caller, chatID, messageID string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return s.deleteMessage(ctx, tx, c, chatID, messageID) })
}

func (s *Service) deleteMessage(ctx context.Context, tx *store.Tx, c Caller, chatID, messageID string) error {
	if err := c.valid(); err != nil {
		return err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return err
	}
	if err := ValidID(FieldMessageID, messageID); err != nil {
		return err
	}
	ch, me, err := memberOf(ctx, tx, chatID, c.UserID)
	if err != nil {
		return err
	}
	m, err := tx.Message(ctx, messageID)
	if err != nil {
		return err
	}
	if m.ChatID != chatID {
		return apperr.NotFoundf("message_not_found", "Message not found")
	}
	if m.UserID != c.UserID && !(ch.IsGroup && me.IsAdmin) {
		return apperr.Forbiddenf("not_sender", "Only its sender or an admin of the group may delete a message")
	}
	files, err := tx.DeleteMessage(ctx, messageID)
	if err != nil {
		return err
	}
	if err := drop(ctx, tx, EntityMessage, messageID, ChatBucket(chatID)); err != nil {
		return err
	}
	for _, f := range files {
		if err := drop(ctx, tx, EntityFile, f, ChatBucket(chatID)); err != nil {
			return err
		}
	}
	return emit(ctx, tx, c, EventMessageDeleted, map[string]string{"_id": messageID, "chat": chatID}, ChatBucket(chatID))
}
