package social

import (
	"context"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// Mutations: the writes a client may queue offline and push through sync,
// as values. The set is closed (the types in this file are all of it; a
// kind is added here, with its rules, never in a transport): a transport
// decodes its wire form into one of them and hands it to ApplyMutation (or
// Apply), which runs the same private write path the REST methods run, in
// the transaction it is given.
//
// Where a mutation maps onto several REST behaviours:
//   - CreateConnectionMutation is the v1 request (no meet-me status
//     needed).
//   - Creations keep the client-proposed id (ConnectionID, ChatID,
//     RequestID, ReelID, MessageID) when nothing uses it, and are rejected
//     with 409 id_taken otherwise (proposed.go); without one the server
//     assigns it.
//   - Writes naming a chat (ChatID) accept the alias a one-to-one
//     creation left (proposed.go): the caller's id for a pair's chat
//     that another device created first.
//   - DeleteConnectionMutation cancels or declines a pending request
//     (DELETE /connections/:userId) and removes an accepted connection
//     (v1 DELETE).
//   - SetStatusMutation with empty text clears the status; its expiry is
//     MinStatusDuration to MaxStatusDuration ahead, rounded down to whole
//     minutes.
//   - CreateChatMutation makes a group with ParticipantIDs when Group is
//     set, else a one-to-one chat with the first of ParticipantIDs.
//   - SendMessageMutation keeps the client-proposed MessageID, so the
//     optimistic message and the server's are the same row.
//   - LeaveChatMutation is RemoveParticipantMutation of oneself.
//   - RequestToJoinMutation carries no message (none is stored).

// Mutation is one write as a value: one of the *Mutation types of this
// package.
type Mutation interface {
	// apply runs the mutation for c inside tx.
	apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error
}

// CodeUnimplemented rejects a mutation kind this server does not run.
const CodeUnimplemented apperr.Code = syncv1.CodeUnimplemented

// UpdateProfileMutation changes the non-nil fields of the caller's profile
// (UpdateProfile).
type UpdateProfileMutation struct {
	Name, Username, Bio, Photo *string
}

// SetStatusMutation sets the caller's meet-me status for ExpiresIn (from
// MinStatusDuration to MaxStatusDuration, counted in whole minutes), or
// clears it when Text is empty.
type SetStatusMutation struct {
	Text      string
	ExpiresIn time.Duration
}

// FollowMutation follows a user (FollowUser).
type FollowMutation struct{ UserID string }

// UnfollowMutation stops following a user (UnfollowUser).
type UnfollowMutation struct{ UserID string }

// BlockMutation blocks a user (BlockUser).
type BlockMutation struct{ UserID string }

// UnblockMutation lifts a block (UnblockUser).
type UnblockMutation struct{ UserID string }

// CreateConnectionMutation sends a connection request to UserID, answering
// no meet-me status (the v1 request).
type CreateConnectionMutation struct {
	ConnectionID string
	UserID       string
	Message      string
}

// AcceptConnectionMutation accepts the request received from UserID.
type AcceptConnectionMutation struct{ UserID string }

// DeclineConnectionMutation declines the request received from UserID.
type DeclineConnectionMutation struct{ UserID string }

// DeleteConnectionMutation ends the caller's record with UserID: cancels a
// request they sent, declines one they received, removes an accepted
// connection. Expect is the status the client saw ("pending", "accepted";
// empty: any): a record in another status is left alone and the mutation
// is rejected (connection_accepted, connection_not_active), so a cancel
// that races an accept never becomes an unfriend.
type DeleteConnectionMutation struct {
	UserID string
	Expect string
}

// CreateChatMutation creates a group (Group set: Name, Category,
// ParticipantIDs) or a one-to-one chat with ParticipantIDs[0].
type CreateChatMutation struct {
	ChatID         string
	Group          bool
	Name           string
	Category       string
	ParticipantIDs []string
	// A group's settings at creation, as REST POST /chats takes them
	// (nil: the defaults); Event only with category Event, where it may be
	// left out.
	Restricted      *bool
	AllowPublicPost *bool
	Tags            []Tag
	Event           *NewEvent
}

// AddParticipantMutation adds UserID to a group (admins only).
type AddParticipantMutation struct{ ChatID, UserID string }

// RemoveParticipantMutation removes UserID from a group.
type RemoveParticipantMutation struct{ ChatID, UserID string }

// LeaveChatMutation removes the caller from a group.
type LeaveChatMutation struct{ ChatID string }

// GrantAdminMutation makes participant UserID an admin.
type GrantAdminMutation struct{ ChatID, UserID string }

// RevokeAdminMutation takes admin access away from participant UserID.
type RevokeAdminMutation struct{ ChatID, UserID string }

// DeleteChatMutation deletes a group (admins only).
type DeleteChatMutation struct{ ChatID string }

// SendMessageMutation posts Text and Files (with Tag, one of the
// chat's tags) to a chat under the client-proposed MessageID (optional),
// as REST POST /chats/{id}/messages does.
type SendMessageMutation struct {
	ChatID    string
	MessageID string
	Text      string
	Tag       string
	Files     []NewFile
}

// MarkReadMutation marks every message of a chat read.
type MarkReadMutation struct{ ChatID string }

// RequestToJoinMutation asks to join a restricted group.
type RequestToJoinMutation struct{ RequestID, ChatID string }

// AcceptJoinRequestMutation accepts a join request (admins only).
type AcceptJoinRequestMutation struct{ RequestID string }

// RejectJoinRequestMutation rejects a join request (admins only).
type RejectJoinRequestMutation struct{ RequestID string }

// MarkNotificationReadMutation marks one of the caller's notifications read.
type MarkNotificationReadMutation struct{ NotificationID string }

// RemoveConnectionMutation removes an accepted connection by its id (the
// v1 DELETE).
type RemoveConnectionMutation struct{ ConnectionID string }

// UpdateChatMutation changes the non-nil settings of a group (admins
// only; UpdateChat without a photo, which is an upload and stays REST).
type UpdateChatMutation struct {
	ChatID                      string
	Name, Category              *string
	Restricted, AllowPublicPost *bool
}

// JoinChatMutation joins an open group (Join).
type JoinChatMutation struct{ ChatID string }

// SetParticipantStatusMutation records an event participant's attendance
// (SetParticipantStatus).
type SetParticipantStatusMutation struct{ ChatID, UserID, Status string }

// DeleteMessageMutation deletes a message (DeleteMessage: its sender, or
// an admin of the group).
type DeleteMessageMutation struct{ ChatID, MessageID string }

// MarkAllNotificationsReadMutation marks every notification of the caller
// read (ReadAllNotifications).
type MarkAllNotificationsReadMutation struct{}

// CreateReelMutation posts a reel (CreateReel) under the client-proposed
// ReelID (optional).
type CreateReelMutation struct {
	ReelID, ChatID, Description, Tag, Video string
	Hashtags                                []string
	IsAnonymous                             bool
}

// ReactToReelMutation toggles a reaction to a reel (ToggleReaction).
type ReactToReelMutation struct{ ReelID, Reaction string }

// AddPushDeviceMutation registers a push device token (AddPushDevice).
type AddPushDeviceMutation struct{ Token string }

// RemovePushDeviceMutation forgets a push device token (RemovePushDevice).
type RemovePushDeviceMutation struct{ Token string }

// UnsupportedMutation stands for a mutation a transport received but this
// server cannot run: Kind names it, or is empty when the mutation had no
// body. Applying it fails for good (400 mutation_empty, or code
// "unimplemented" with reason mutation_unimplemented), so it is recorded
// and never blocks the mutations behind it.
type UnsupportedMutation struct{ Kind string }

func (m UpdateProfileMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.updateProfile(ctx, tx, c, ProfileUpdate{Name: m.Name, Username: m.Username, Bio: m.Bio, Photo: m.Photo})
	return err
}

func (m SetStatusMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	if m.Text == "" {
		return clearStatus(ctx, tx, c)
	}
	if m.ExpiresIn < MinStatusDuration || m.ExpiresIn > MaxStatusDuration {
		return apperr.InvalidField(FieldStatusDuration, "%s must be from %d to %d", FieldStatusDuration,
			int64(MinStatusDuration/time.Second), int64(MaxStatusDuration/time.Second))
	}
	minutes := int(m.ExpiresIn / time.Minute)
	_, err := setStatus(ctx, tx, c, StatusInput{Text: m.Text, DurationMinutes: &minutes})
	return err
}

func (m FollowMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return followUser(ctx, tx, c, m.UserID)
}

func (m UnfollowMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return unfollowUser(ctx, tx, c, m.UserID)
}

func (m BlockMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return blockUser(ctx, tx, c, m.UserID)
}

func (m UnblockMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return unblockUser(ctx, tx, c, m.UserID)
}

func (m CreateConnectionMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, _, err := requestConnection(ctx, tx, c, ConnectionRequest{ID: m.ConnectionID, To: m.UserID, Message: m.Message})
	return err
}

func (m AcceptConnectionMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.acceptConnection(ctx, tx, c, ByUser(m.UserID))
	return err
}

func (m DeclineConnectionMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.declineConnection(ctx, tx, c, ByUser(m.UserID))
	return err
}

func (m DeleteConnectionMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	switch m.Expect {
	case "":
		_, _, err := s.deleteConnection(ctx, tx, c, m.UserID, true)
		return err
	case store.ConnPending:
		if err := ValidID(FieldOtherUser, m.UserID); err != nil {
			return err
		}
		_, _, err := s.deleteConnection(ctx, tx, c, m.UserID, false)
		if e, ok := apperr.As(err); ok && e.Reason == ReasonConnectionAccepted {
			return apperr.Conflictf(ReasonConnectionAccepted, "The request was accepted before this reached the server; the connection stays (remove it if that is still wanted)")
		}
		return err
	case store.ConnAccepted:
		if err := ValidID(FieldOtherUser, m.UserID); err != nil {
			return err
		}
		return removeAcceptedConnection(ctx, tx, c, ByUser(m.UserID))
	}
	return apperr.InvalidField(FieldExpectedStatus, "%s must be pending, accepted or empty", FieldExpectedStatus)
}

func (m CreateChatMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	nc := NewChat{ID: m.ChatID, IsGroup: m.Group, Name: m.Name, Category: m.Category,
		Restricted: m.Restricted, AllowPublicPost: m.AllowPublicPost, Tags: m.Tags, Event: m.Event}
	if m.Group {
		ids := m.ParticipantIDs
		if ids == nil {
			ids = []string{}
		}
		nc.Participants = &ids
	} else if len(m.ParticipantIDs) > 0 {
		nc.User = m.ParticipantIDs[0]
	}
	_, _, err := s.createChat(ctx, tx, c, nc)
	return err
}

func (m AddParticipantMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		_, err := s.addParticipants(ctx, tx, c, chatID, []string{m.UserID})
		return err
	})
}

func (m RemoveParticipantMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		return s.removeParticipant(ctx, tx, c, chatID, m.UserID)
	})
}

func (m LeaveChatMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		return s.removeParticipant(ctx, tx, c, chatID, c.UserID)
	})
}

func (m GrantAdminMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		_, err := s.setAdmin(ctx, tx, c, chatID, m.UserID, true)
		return err
	})
}

func (m RevokeAdminMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		_, err := s.setAdmin(ctx, tx, c, chatID, m.UserID, false)
		return err
	})
}

func (m DeleteChatMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		return s.deleteChat(ctx, tx, c, chatID)
	})
}

func (m SendMessageMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		_, err := s.sendMessage(ctx, tx, c, chatID, NewMessage{ID: m.MessageID, Text: m.Text, Tag: m.Tag, Files: m.Files})
		return err
	})
}

func (m MarkReadMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		_, err := s.markRead(ctx, tx, c, chatID)
		return err
	})
}

func (m RequestToJoinMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		_, err := s.createRequest(ctx, tx, c, chatID, m.RequestID)
		return err
	})
}

func (m AcceptJoinRequestMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.answerRequest(ctx, tx, c, m.RequestID, RequestAccepted)
	return err
}

func (m RejectJoinRequestMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.answerRequest(ctx, tx, c, m.RequestID, RequestRejected)
	return err
}

func (m MarkNotificationReadMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := readNotification(ctx, tx, c, NotificationRef{ID: m.NotificationID})
	return err
}

func (m RemoveConnectionMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return removeAcceptedConnection(ctx, tx, c, ByID(m.ConnectionID))
}

func (m UpdateChatMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		if err := ValidID(FieldChatID, chatID); err != nil {
			return err
		}
		su, err := chatUpdateOf(ChatUpdate{Name: m.Name, Category: m.Category, Restricted: m.Restricted, AllowPublicPost: m.AllowPublicPost})
		if err != nil {
			return err
		}
		_, err = s.updateChat(ctx, tx, c, chatID, su)
		return err
	})
}

func (m JoinChatMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.join(ctx, tx, c, m.ChatID)
	return err
}

func (m SetParticipantStatusMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		_, err := s.setParticipantStatus(ctx, tx, c, chatID, m.UserID, m.Status)
		return err
	})
}

func (m DeleteMessageMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return onChat(ctx, tx, c, m.ChatID, func(chatID string) error {
		return s.deleteMessage(ctx, tx, c, chatID, m.MessageID)
	})
}

func (m MarkAllNotificationsReadMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.readAllNotifications(ctx, tx, c)
	return err
}

func (m CreateReelMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.createReel(ctx, tx, c, NewReel{ID: m.ReelID, Chat: m.ChatID, Description: m.Description, Tag: m.Tag,
		Video: m.Video, Hashtags: m.Hashtags, IsAnonymous: m.IsAnonymous})
	return err
}

func (m ReactToReelMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	_, err := s.toggleReaction(ctx, tx, c, m.ReelID, m.Reaction)
	return err
}

func (m AddPushDeviceMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return addPushDevice(ctx, tx, c, m.Token)
}

func (m RemovePushDeviceMutation) apply(ctx context.Context, s *Service, tx *store.Tx, c Caller) error {
	return removePushDevice(ctx, tx, c, m.Token)
}

func (m UnsupportedMutation) apply(context.Context, *Service, *store.Tx, Caller) error {
	if m.Kind == "" {
		return apperr.Invalidf(syncv1.ReasonMutationEmpty, "The mutation has no body")
	}
	return &apperr.Error{Code: CodeUnimplemented, Reason: syncv1.ReasonMutationUnimplemented,
		Message: "This server does not implement this mutation yet"}
}

// Apply runs m for c in a transaction of its own, without the exactly-once
// bookkeeping of ApplyMutation: for callers that are not a sync push.
func (s *Service) Apply(ctx context.Context, c Caller, m Mutation) error {
	if m == nil {
		m = UnsupportedMutation{}
	}
	return s.db.Write(ctx, func(tx *store.Tx) error { return m.apply(ctx, s, tx, c) })
}
