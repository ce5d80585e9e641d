package rpc

import (
	"context"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/wire"
)

// codeUnimplemented rejects a mutation kind this server cannot run yet.
const codeUnimplemented apperr.Code = "unimplemented"

// apply runs one mutation through the same social method REST calls, with
// ctx joining the push's transaction. Kinds whose rules do not exist yet
// are rejected with code "unimplemented".
//
// Where a mutation maps onto several REST behaviours: create_connection is
// the v1 request (no meet-me status needed; the server assigns the id, a
// client-proposed connection_id only names the optimistic row);
// delete_connection cancels or declines a pending request and removes an
// accepted connection; set_status with empty text clears the status, and
// its expiry is rounded down to whole minutes; create_chat makes a group
// with participant_ids when group is set, else a one-to-one chat with the
// first of participant_ids (the server assigns the chat's id; chat_id is
// not used); send_message keeps the client-proposed message_id, so the
// optimistic message and the server's are the same row; leave_chat is
// remove_participant of oneself; request_to_join's message is not stored.
func (s *Services) apply(ctx context.Context, c social.Caller, m *syncv1.Mutation) error {
	svc := s.svc
	switch k := m.GetKind().(type) {
	case *syncv1.Mutation_UpdateProfile:
		_, err := svc.UpdateProfile(ctx, c, social.ProfileUpdate{
			Name: k.UpdateProfile.Name, Username: k.UpdateProfile.Username, Bio: k.UpdateProfile.Bio,
		})
		return err
	case *syncv1.Mutation_SetStatus:
		if k.SetStatus.GetText() == "" {
			return svc.ClearStatus(ctx, c)
		}
		secs := k.SetStatus.GetExpiresInSeconds()
		if secs < wire.MinStatusSeconds || secs > wire.MaxStatusSeconds {
			return apperr.InvalidField("expiresInSeconds", "expiresInSeconds must be from 60 to 86400")
		}
		minutes := int(secs / 60)
		_, err := svc.SetStatus(ctx, c, social.StatusInput{Text: k.SetStatus.GetText(), DurationMinutes: &minutes})
		return err
	case *syncv1.Mutation_Follow:
		return svc.FollowUser(ctx, c, k.Follow.GetUserId())
	case *syncv1.Mutation_Unfollow:
		return svc.UnfollowUser(ctx, c, k.Unfollow.GetUserId())
	case *syncv1.Mutation_Block:
		return svc.BlockUser(ctx, c, k.Block.GetUserId())
	case *syncv1.Mutation_Unblock:
		return svc.UnblockUser(ctx, c, k.Unblock.GetUserId())
	case *syncv1.Mutation_CreateConnection:
		_, _, err := svc.RequestConnection(ctx, c, social.ConnectionRequest{
			To: k.CreateConnection.GetUserId(), Field: "userId", Message: k.CreateConnection.GetMessage()})
		return err
	case *syncv1.Mutation_AcceptConnection:
		_, err := svc.AcceptConnection(ctx, c, social.ByUser(k.AcceptConnection.GetUserId()))
		return err
	case *syncv1.Mutation_DeclineConnection:
		_, err := svc.DeclineConnection(ctx, c, social.ByUser(k.DeclineConnection.GetUserId()))
		return err
	case *syncv1.Mutation_DeleteConnection:
		with := k.DeleteConnection.GetUserId()
		_, _, err := svc.DeleteConnection(ctx, c, with)
		if e, ok := apperr.As(err); ok && e.Reason == "connection_accepted" {
			return svc.RemoveConnection(ctx, c, social.ByUser(with))
		}
		return err
	case *syncv1.Mutation_CreateChat:
		in := k.CreateChat
		nc := social.NewChat{IsGroup: in.GetGroup(), Name: in.GetName(), Category: in.GetCategory()}
		if in.GetGroup() {
			ids := in.GetParticipantIds()
			nc.Participants = &ids
		} else if len(in.GetParticipantIds()) > 0 {
			nc.User = in.GetParticipantIds()[0]
		}
		_, _, err := svc.CreateChat(ctx, c, nc)
		return err
	case *syncv1.Mutation_AddParticipant:
		_, err := svc.AddParticipants(ctx, c, k.AddParticipant.GetChatId(), []string{k.AddParticipant.GetUserId()})
		return err
	case *syncv1.Mutation_RemoveParticipant:
		return svc.RemoveParticipant(ctx, c, k.RemoveParticipant.GetChatId(), k.RemoveParticipant.GetUserId())
	case *syncv1.Mutation_LeaveChat:
		return svc.RemoveParticipant(ctx, c, k.LeaveChat.GetChatId(), c.UserID)
	case *syncv1.Mutation_GrantAdmin:
		_, err := svc.SetAdmin(ctx, c, k.GrantAdmin.GetChatId(), k.GrantAdmin.GetUserId(), true)
		return err
	case *syncv1.Mutation_RevokeAdmin:
		_, err := svc.SetAdmin(ctx, c, k.RevokeAdmin.GetChatId(), k.RevokeAdmin.GetUserId(), false)
		return err
	case *syncv1.Mutation_DeleteChat:
		return svc.DeleteChat(ctx, c, k.DeleteChat.GetChatId())
	case *syncv1.Mutation_SendMessage:
		_, _, err := svc.SendMessage(ctx, c, k.SendMessage.GetChatId(), social.NewMessage{
			ID: k.SendMessage.GetMessageId(), Text: k.SendMessage.GetText()})
		return err
	case *syncv1.Mutation_MarkRead:
		_, err := svc.MarkRead(ctx, c, k.MarkRead.GetChatId())
		return err
	case *syncv1.Mutation_RequestToJoin:
		_, err := svc.CreateRequest(ctx, c, k.RequestToJoin.GetChatId())
		return err
	case *syncv1.Mutation_AcceptJoinRequest:
		_, err := svc.AnswerRequest(ctx, c, k.AcceptJoinRequest.GetRequestId(), social.RequestAccepted)
		return err
	case *syncv1.Mutation_RejectJoinRequest:
		_, err := svc.AnswerRequest(ctx, c, k.RejectJoinRequest.GetRequestId(), social.RequestRejected)
		return err
	case *syncv1.Mutation_MarkNotificationRead:
		_, err := svc.ReadNotification(ctx, c, social.NotificationRef{ID: k.MarkNotificationRead.GetNotificationId()})
		return err
	case nil:
		return apperr.Invalidf("mutation_empty", "The mutation has no body")
	default:
		return &apperr.Error{Code: codeUnimplemented, Reason: "mutation_unimplemented",
			Message: "This server does not implement this mutation yet"}
	}
}

func invalid(field, format string, args ...any) error {
	return apperr.InvalidField(field, format, args...)
}

func validClientID(id string) error {
	if len(id) < 16 || len(id) > 64 {
		return invalid("clientId", "clientId must be 16 to 64 characters")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return invalid("clientId", "clientId may contain only letters, digits, '-' and '_'")
		}
	}
	return nil
}
