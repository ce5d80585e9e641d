package social

import (
	"context"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// Administering a group chat: its settings and photo, and deleting it with
// everything it holds.

// Upload is an uploaded file's bytes.
type Upload struct {
	Data []byte
}

// ChatUpdate changes the non-nil fields of a group chat.
type ChatUpdate struct {
	Name            *string
	Category        *string
	Restricted      *bool
	AllowPublicPost *bool
	Photo           *Upload
}

// UpdateChat changes a group chat's settings and photo (admins only). A
// chat whose category is Courses is never restricted; a chat cannot become
// or stop being an Event chat (400 invalid_category). The photo must be
// JPEG, PNG, WebP, GIF or AVIF by content (400 invalid_photo) and at most
// MaxPhotoBytes (413 photo_too_large); it replaces the previous one, which
// is deleted from storage.
func (s *Service) UpdateChat(ctx context.Context, c Caller, chatID string, upd ChatUpdate) (Chat, error) {
	if err := c.valid(); err != nil {
		return Chat{}, err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return Chat{}, err
	}
	su, err := chatUpdateOf(upd)
	if err != nil {
		return Chat{}, err
	}
	var photo *photoFile
	if upd.Photo != nil {
		p, err := sniffPhoto(upd.Photo.Data)
		if err != nil {
			return Chat{}, err
		}
		photo = &p
	}
	var newKey string
	if photo != nil {
		// Authorize before touching storage, so a stranger cannot write
		// files (the write below checks again).
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			_, _, err := adminOf(ctx, tx, chatID, c.UserID)
			return err
		})
		if err != nil {
			return Chat{}, err
		}
		if err := s.verifyPhoto(ctx, *photo); err != nil {
			return Chat{}, err
		}
		newKey = "chats/" + chatID + "/" + oid.New() + photo.ext
		if err := s.media.Put(ctx, newKey, photo.data); err != nil {
			return Chat{}, err
		}
		su.Photo = &newKey
	}
	var out Chat
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		if newKey != "" {
			// If this write is undone (also after it returns, as one step
			// of a group commit that fails), the new photo goes with it.
			tx.AfterRollback(func() { s.deleteMedia(context.WithoutCancel(ctx), newKey) })
		}
		out, err = s.updateChat(ctx, tx, c, chatID, su)
		return err
	})
	if err != nil {
		if newKey != "" {
			s.deleteMedia(ctx, newKey) // also when the write failed before it began
		}
		return Chat{}, err
	}
	return out, nil
}

// chatUpdateOf validates the settings of a chat update (not its photo).
func chatUpdateOf(upd ChatUpdate) (store.ChatUpdate, error) {
	var su store.ChatUpdate
	if upd.Name != nil {
		n, err := validChatName(*upd.Name)
		if err != nil {
			return su, err
		}
		su.Name = &n
	}
	if upd.Category != nil {
		cat, err := validCategory(*upd.Category)
		if err != nil {
			return su, err
		}
		su.Category = &cat
	}
	su.Restricted, su.AllowPublicPost = upd.Restricted, upd.AllowPublicPost
	return su, nil
}

// updateChat applies a validated update (su.Photo: a stored new photo,
// which replaces the old one once committed).
func (s *Service) updateChat(ctx context.Context, tx *store.Tx, c Caller, chatID string, su store.ChatUpdate) (Chat, error) {
	ch, _, err := adminOf(ctx, tx, chatID, c.UserID)
	if err != nil {
		return Chat{}, err
	}
	if su.Photo != nil {
		// The replaced photo goes only once the new one is committed.
		if err := s.deleteMediaAfterCommit(ctx, tx, ch.Photo); err != nil {
			return Chat{}, err
		}
	}
	cat := ch.Category
	if su.Category != nil {
		cat = *su.Category
	}
	if (cat == CategoryEvent) != (ch.Category == CategoryEvent) {
		// An Event chat's event is given at creation; the category
		// cannot move in or out of Event afterwards.
		return Chat{}, apperr.InvalidField("category", "the Event category is fixed when the chat is created")
	}
	if cat == CategoryCourses {
		f := false
		su.Restricted = &f
	}
	if err := tx.UpdateChat(ctx, chatID, su); err != nil {
		return Chat{}, err
	}
	if ch, err = tx.Chat(ctx, chatID); err != nil {
		return Chat{}, err
	}
	out, err := s.chatWithParts(ctx, tx, ch)
	if err != nil {
		return Chat{}, err
	}
	row := out
	row.Participants = nil
	if row.Creator, err = s.personRef(ctx, tx, nil, ch.CreatorID); err != nil {
		return Chat{}, err
	}
	if err := put(ctx, tx, EntityChat, ch.ID, row, ChatBucket(ch.ID)); err != nil {
		return Chat{}, err
	}
	return out, emit(ctx, tx, c, EventChatUpdated, row, ChatBucket(ch.ID))
}

func (s *Service) deleteMedia(ctx context.Context, key string) {
	if err := s.media.Delete(ctx, key); err != nil {
		s.log.WarnContext(ctx, "delete media", "key", key, "err", err)
	}
}

// DeleteChat deletes a group chat (admins only) with its messages, files,
// event, join requests and reels; its photo and the files kept in our
// media storage are deleted once the transaction commits (a rollback keeps
// them). Every participant (and the caller's other
// devices) gets chat-deleted; every participant loses the chat's bucket.
func (s *Service) DeleteChat(ctx context.Context, c Caller, chatID string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return s.deleteChat(ctx, tx, c, chatID) })
}

func (s *Service) deleteChat(ctx context.Context, tx *store.Tx, c Caller, chatID string) error {
	if err := c.valid(); err != nil {
		return err
	}
	if err := ValidID(FieldChatID, chatID); err != nil {
		return err
	}
	ch, _, err := adminOf(ctx, tx, chatID, c.UserID)
	if err != nil {
		return err
	}
	return s.removeChat(ctx, tx, c, ch)
}

// removeChat deletes chat ch with everything in it: its rows leave every
// replica (tombstones), its members hear chat-deleted on their own
// buckets, and its files are deleted from storage after commit.
func (s *Service) removeChat(ctx context.Context, tx *store.Tx, c Caller, ch store.Chat) error {
	chatID := ch.ID
	parts, err := tx.ParticipantsOf(ctx, []string{chatID})
	if err != nil {
		return err
	}
	urls, err := tx.ChatFileURLs(ctx, chatID)
	if err != nil {
		return err
	}
	keys := s.mediaKeys(urls...)
	if ch.Photo != "" {
		keys = append(keys, ch.Photo)
	}
	senders, err := dropRequestsOf(ctx, tx, chatID, parts[chatID])
	if err != nil {
		return err
	}
	if err := tx.DeleteChat(ctx, chatID); err != nil {
		return err
	}
	if err := drop(ctx, tx, EntityChat, chatID, ChatBucket(chatID)); err != nil {
		return err
	}
	if err := dropChatProfiles(ctx, tx, chatID); err != nil {
		return err
	}
	for _, p := range parts[chatID] {
		if !p.IsAdmin {
			continue
		}
		for _, id := range senders {
			if err := settleProfile(ctx, tx, p.UserID, id); err != nil {
				return err
			}
		}
	}
	targets := make([]string, 0, len(parts[chatID]))
	for _, p := range parts[chatID] {
		if err := tx.RemoveBucketMember(ctx, ChatBucket(chatID), p.UserID); err != nil {
			return err
		}
		if err := drop(ctx, tx, EntityMembership, chatID, UserBucket(p.UserID)); err != nil {
			return err
		}
		targets = append(targets, UserBucket(p.UserID))
	}
	if err := deleteNotifications(ctx, tx, store.NotificationMatch{SubjectID: chatID}); err != nil {
		return err
	}
	if err := emit(ctx, tx, c, EventChatDeleted, map[string]string{"chat": chatID}, targets...); err != nil {
		return err
	}
	return s.deleteMediaAfterCommit(ctx, tx, keys...)
}

// dropRequestsOf tombstones a chat's join requests in their senders' and
// the admins' buckets and deletes the notifications about them, before
// the chat (and with it the requests) is deleted. It returns the senders.
func dropRequestsOf(ctx context.Context, tx *store.Tx, chatID string, parts []store.Participant) ([]string, error) {
	reqs, err := tx.RequestsOfChat(ctx, chatID)
	if err != nil {
		return nil, err
	}
	var admins []string
	for _, p := range parts {
		if p.IsAdmin {
			admins = append(admins, UserBucket(p.UserID))
		}
	}
	senders := make([]string, 0, len(reqs))
	for _, r := range reqs {
		if err := drop(ctx, tx, EntityRequest, r.ID, append([]string{UserBucket(r.UserID)}, admins...)...); err != nil {
			return nil, err
		}
		if err := deleteNotifications(ctx, tx, store.NotificationMatch{SubjectID: r.ID}); err != nil {
			return nil, err
		}
		senders = append(senders, r.UserID)
	}
	return senders, nil
}
