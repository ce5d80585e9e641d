package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/wire"
)

// ErrRefused: the change breaks a rule of size or shape the server would
// refuse it for, so it was not queued. The error says which rule.
var ErrRefused = errors.New("client: not queued, the server would refuse it")

// refuse is an ErrRefused naming the offending field.
func refuse(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrRefused, field, fmt.Sprintf(format, args...))
}

// checkMutation refuses, before anything is queued, a mutation the server
// would refuse for its size or shape whatever its state: a change that can
// never apply must not wait in the outbox. Rules that depend on the
// server's state (membership, permissions, taken usernames) stay the
// server's; their rejections come back with the push.
func checkMutation(m *syncv1.Mutation) error {
	if m.GetKind() == nil {
		return refuse("kind", "a mutation needs a kind")
	}
	if err := checkKind(m); err != nil {
		return err
	}
	if n := proto.Size(m); n > wire.MaxMutationBytes {
		return refuse("mutation", "%d bytes, at most %d", n, wire.MaxMutationBytes)
	}
	return nil
}

// checkKind checks the fields of the kinds the server bounds.
func checkKind(m *syncv1.Mutation) error {
	switch k := m.GetKind().(type) {
	case *syncv1.Mutation_SendMessage:
		text := strings.TrimSpace(k.SendMessage.GetText())
		files := k.SendMessage.GetFiles()
		if text == "" && len(files) == 0 {
			return refuse("text", "a message needs text or a file")
		}
		if len(files) > wire.MaxMessageFiles {
			return refuse("files", "%d files, at most %d", len(files), wire.MaxMessageFiles)
		}
		for _, f := range files {
			if u, err := url.Parse(f.GetUrl()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return refuse("files.url", "a file needs an absolute http(s) URL")
			}
			if m := f.GetMetaJson(); m != "" && !json.Valid([]byte(m)) {
				return refuse("files.meta", "meta must be JSON")
			}
		}
		return maxChars("text", text, wire.MaxMessageLen)
	case *syncv1.Mutation_UpdateProfile:
		u := k.UpdateProfile
		if u.Name != nil {
			name := strings.TrimSpace(u.GetName())
			if name == "" {
				return refuse("name", "name is required")
			}
			if err := maxChars("name", name, wire.MaxNameLen); err != nil {
				return err
			}
		}
		if u.Bio != nil {
			if err := maxChars("bio", strings.TrimSpace(u.GetBio()), wire.MaxBioLen); err != nil {
				return err
			}
		}
		if u.Username != nil {
			return checkUsername(u.GetUsername())
		}
	case *syncv1.Mutation_SetStatus:
		if k.SetStatus.GetText() == "" {
			return nil // clears the status
		}
		if err := maxChars("text", strings.TrimSpace(k.SetStatus.GetText()), wire.MaxStatusLen); err != nil {
			return err
		}
		if s := k.SetStatus.GetExpiresInSeconds(); s < wire.MinStatusSeconds || s > wire.MaxStatusSeconds {
			return refuse("expiresInSeconds", "must be from %d to %d", wire.MinStatusSeconds, wire.MaxStatusSeconds)
		}
	case *syncv1.Mutation_CreateConnection:
		return maxChars("message", strings.TrimSpace(k.CreateConnection.GetMessage()), wire.MaxConnectionMessageLen)
	case *syncv1.Mutation_CreateChat:
		c := k.CreateChat
		if !c.GetGroup() {
			if len(c.GetParticipantIds()) == 0 {
				return refuse("participantIds", "a one-to-one chat needs the other user")
			}
			return nil
		}
		if strings.TrimSpace(c.GetName()) == "" {
			return refuse("name", "a group needs a name")
		}
		if err := maxChars("name", strings.TrimSpace(c.GetName()), wire.MaxChatNameLen); err != nil {
			return err
		}
		if strings.TrimSpace(c.GetCategory()) == "" {
			return refuse("category", "a group needs a category")
		}
		if err := maxChars("category", strings.TrimSpace(c.GetCategory()), wire.MaxCategoryLen); err != nil {
			return err
		}
		if n := len(c.GetParticipantIds()); n > wire.MaxGroupInvitees {
			return refuse("participantIds", "%d participants, at most %d at creation", n, wire.MaxGroupInvitees)
		}
		ev := c.GetEvent()
		switch { // an Event group may come without its event, as on the server
		case strings.TrimSpace(c.GetCategory()) != "Event" && ev != nil:
			return refuse("event", "only an Event group carries an event")
		case ev != nil && (ev.GetStartsAt() == nil || ev.GetEndsAt() == nil):
			return refuse("event", "the event needs its start and end")
		case ev != nil && !ev.GetEndsAt().AsTime().After(ev.GetStartsAt().AsTime()):
			return refuse("event", "the event must end after it starts")
		}
	}
	return nil
}

func maxChars(field, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return refuse(field, "%d characters, at most %d", n, limit)
	}
	return nil
}

func checkUsername(u string) error {
	if p := wire.UsernameProblem(u); p != "" {
		return refuse("username", "%s", p)
	}
	return nil
}
