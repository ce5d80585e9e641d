package social

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// Chat files: the files posted with a chat's messages, listed by type and
// tag (GET /chats/:id/files).

// File types of GET /chats/:id/files.
var fileTypes = []string{"video", "audio", "image", "document", "other"}

// Defaults of the files list.
const (
	DefaultFileType = "video"
	DefaultFileTag  = "others"
)

// ChatFiles lists a chat's files of one type (default video) and tag
// (default others), newest first. Participants only.
func (s *Service) ChatFiles(ctx context.Context, c Caller, chatID, typ, tag string, p Page) ([]ChatFile, int, error) {
	if err := ValidID(FieldChatID, chatID); err != nil {
		return nil, 0, err
	}
	if typ == "" {
		typ = DefaultFileType
	}
	if !slices.Contains(fileTypes, typ) {
		return nil, 0, apperr.InvalidField("type", "type must be one of %s", strings.Join(fileTypes, ", "))
	}
	if tag == "" {
		tag = DefaultFileTag
	}
	var out []ChatFile
	var total int
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, _, err := memberOf(ctx, tx, chatID, c.UserID); err != nil {
			return err
		}
		rows, n, err := tx.ChatFiles(ctx, store.ChatFileFilter{ChatID: chatID, Type: typ, Tag: tag, Offset: p.Offset, Limit: p.Limit})
		total = n
		for _, r := range rows {
			out = append(out, chatFileFrom(r))
		}
		return err
	})
	if out == nil {
		out = []ChatFile{}
	}
	return out, total, err
}

func chatFileFrom(r store.ChatFile) ChatFile {
	f := File{ID: r.ID, URL: r.URL, Cover: r.Cover}
	if r.Meta != "" {
		f.Meta = json.RawMessage(r.Meta)
	}
	return ChatFile{ID: r.ID, User: r.UserID, Chat: r.ChatID, At: wire.T(r.CreatedAt), Message: r.MessageID, Type: r.Type, Tag: r.Tag, File: f}
}
