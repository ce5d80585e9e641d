package rpc

import (
	"encoding/json"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/wire"
)

// mutationOf decodes a pushed mutation into its social.Mutation. The rules
// of each kind (also where a kind maps onto several REST behaviours) live
// with the kinds in server/social; a kind social does not know decodes to
// social.UnsupportedMutation, which is rejected when applied.
func mutationOf(m *syncv1.Mutation) social.Mutation {
	switch k := m.GetKind().(type) {
	case *syncv1.Mutation_UpdateProfile:
		return social.UpdateProfileMutation{Name: k.UpdateProfile.Name, Username: k.UpdateProfile.Username, Bio: k.UpdateProfile.Bio, Photo: k.UpdateProfile.Photo}
	case *syncv1.Mutation_SetStatus:
		return social.SetStatusMutation{Text: k.SetStatus.GetText(), ExpiresIn: seconds(k.SetStatus.GetExpiresInSeconds())}
	case *syncv1.Mutation_Follow:
		return social.FollowMutation{UserID: k.Follow.GetUserId()}
	case *syncv1.Mutation_Unfollow:
		return social.UnfollowMutation{UserID: k.Unfollow.GetUserId()}
	case *syncv1.Mutation_Block:
		return social.BlockMutation{UserID: k.Block.GetUserId()}
	case *syncv1.Mutation_Unblock:
		return social.UnblockMutation{UserID: k.Unblock.GetUserId()}
	case *syncv1.Mutation_CreateConnection:
		return social.CreateConnectionMutation{ConnectionID: k.CreateConnection.GetConnectionId(), UserID: k.CreateConnection.GetUserId(), Message: k.CreateConnection.GetMessage()}
	case *syncv1.Mutation_AcceptConnection:
		return social.AcceptConnectionMutation{UserID: k.AcceptConnection.GetUserId()}
	case *syncv1.Mutation_DeclineConnection:
		return social.DeclineConnectionMutation{UserID: k.DeclineConnection.GetUserId()}
	case *syncv1.Mutation_DeleteConnection:
		return social.DeleteConnectionMutation{UserID: k.DeleteConnection.GetUserId(), Expect: k.DeleteConnection.GetExpectStatus()}
	case *syncv1.Mutation_CreateChat:
		in := k.CreateChat
		out := social.CreateChatMutation{ChatID: in.GetChatId(), Group: in.GetGroup(), Name: in.GetName(), Category: in.GetCategory(), ParticipantIDs: in.GetParticipantIds(),
			Restricted: in.Restricted, AllowPublicPost: in.AllowPublicPost}
		for _, t := range in.GetTags() {
			out.Tags = append(out.Tags, social.Tag{Tag: t.GetTag(), Label: t.GetLabel()})
		}
		if ev := in.GetEvent(); ev != nil {
			out.Event = &social.NewEvent{Location: ev.GetLocation()}
			// An unset time stays zero, which createChat refuses as missing.
			if ev.GetStartsAt() != nil {
				out.Event.StartsAt = wire.T(ev.GetStartsAt().AsTime())
			}
			if ev.GetEndsAt() != nil {
				out.Event.EndsAt = wire.T(ev.GetEndsAt().AsTime())
			}
		}
		return out
	case *syncv1.Mutation_AddParticipant:
		return social.AddParticipantMutation{ChatID: k.AddParticipant.GetChatId(), UserID: k.AddParticipant.GetUserId()}
	case *syncv1.Mutation_RemoveParticipant:
		return social.RemoveParticipantMutation{ChatID: k.RemoveParticipant.GetChatId(), UserID: k.RemoveParticipant.GetUserId()}
	case *syncv1.Mutation_LeaveChat:
		return social.LeaveChatMutation{ChatID: k.LeaveChat.GetChatId()}
	case *syncv1.Mutation_GrantAdmin:
		return social.GrantAdminMutation{ChatID: k.GrantAdmin.GetChatId(), UserID: k.GrantAdmin.GetUserId()}
	case *syncv1.Mutation_RevokeAdmin:
		return social.RevokeAdminMutation{ChatID: k.RevokeAdmin.GetChatId(), UserID: k.RevokeAdmin.GetUserId()}
	case *syncv1.Mutation_DeleteChat:
		return social.DeleteChatMutation{ChatID: k.DeleteChat.GetChatId()}
	case *syncv1.Mutation_SendMessage:
		in := k.SendMessage
		out := social.SendMessageMutation{ChatID: in.GetChatId(), MessageID: in.GetMessageId(), Text: in.GetText(), Tag: in.GetTag()}
		for _, f := range in.GetFiles() {
			nf := social.NewFile{URL: f.GetUrl(), Cover: f.GetCover()}
			if f.GetMetaJson() != "" {
				nf.Meta = json.RawMessage(f.GetMetaJson())
			}
			out.Files = append(out.Files, nf)
		}
		return out
	case *syncv1.Mutation_MarkRead:
		return social.MarkReadMutation{ChatID: k.MarkRead.GetChatId()}
	case *syncv1.Mutation_RequestToJoin:
		return social.RequestToJoinMutation{RequestID: k.RequestToJoin.GetRequestId(), ChatID: k.RequestToJoin.GetChatId()}
	case *syncv1.Mutation_AcceptJoinRequest:
		return social.AcceptJoinRequestMutation{RequestID: k.AcceptJoinRequest.GetRequestId()}
	case *syncv1.Mutation_RejectJoinRequest:
		return social.RejectJoinRequestMutation{RequestID: k.RejectJoinRequest.GetRequestId()}
	case *syncv1.Mutation_MarkNotificationRead:
		return social.MarkNotificationReadMutation{NotificationID: k.MarkNotificationRead.GetNotificationId()}
	case *syncv1.Mutation_RemoveConnection:
		return social.RemoveConnectionMutation{ConnectionID: k.RemoveConnection.GetConnectionId()}
	case *syncv1.Mutation_UpdateChat:
		in := k.UpdateChat
		return social.UpdateChatMutation{ChatID: in.GetChatId(), Name: in.Name, Category: in.Category, Restricted: in.Restricted, AllowPublicPost: in.AllowPublicPost}
	case *syncv1.Mutation_JoinChat:
		return social.JoinChatMutation{ChatID: k.JoinChat.GetChatId()}
	case *syncv1.Mutation_SetParticipantStatus:
		in := k.SetParticipantStatus
		return social.SetParticipantStatusMutation{ChatID: in.GetChatId(), UserID: in.GetUserId(), Status: in.GetStatus()}
	case *syncv1.Mutation_DeleteMessage:
		return social.DeleteMessageMutation{ChatID: k.DeleteMessage.GetChatId(), MessageID: k.DeleteMessage.GetMessageId()}
	case *syncv1.Mutation_MarkAllNotificationsRead:
		return social.MarkAllNotificationsReadMutation{}
	case *syncv1.Mutation_CreateReel:
		in := k.CreateReel
		return social.CreateReelMutation{ReelID: in.GetReelId(), ChatID: in.GetChatId(), Description: in.GetDescription(), Tag: in.GetTag(),
			Video: in.GetVideo(), Hashtags: in.GetHashtags(), IsAnonymous: in.GetIsAnonymous()}
	case *syncv1.Mutation_ReactToReel:
		return social.ReactToReelMutation{ReelID: k.ReactToReel.GetReelId(), Reaction: k.ReactToReel.GetReaction()}
	case *syncv1.Mutation_AddPushDevice:
		return social.AddPushDeviceMutation{Token: k.AddPushDevice.GetToken()}
	case *syncv1.Mutation_RemovePushDevice:
		return social.RemovePushDeviceMutation{Token: k.RemovePushDevice.GetToken()}
	case nil:
		if len(m.ProtoReflect().GetUnknown()) > 0 {
			// A kind of a newer protocol revision: not run here, and not
			// mistaken for an empty mutation.
			return social.UnsupportedMutation{Kind: "unknown"}
		}
		return social.UnsupportedMutation{}
	default:
		return social.UnsupportedMutation{Kind: string(m.ProtoReflect().WhichOneof(m.ProtoReflect().Descriptor().Oneofs().ByName("kind")).Name())}
	}
}

// fieldNames are the proto fields (their JSON names, as the rest of a
// result is named) of the rules' neutral field names; the other user of a
// connection is the user_id of the connection mutations only (wireError).
var fieldNames = map[string]string{
	social.FieldParticipant:    "userId",
	social.FieldMessageID:      "messageId",
	social.FieldStatusDuration: "expiresInSeconds",
	social.FieldExpectedStatus: "expectStatus",
	social.FieldChatID:         "chatId",
	social.FieldUserID:         "userId",
	social.FieldConnectionID:   "connectionId",
	social.FieldRequestID:      "requestId",
	social.FieldReelID:         "reelId",
	social.FieldNotificationID: "notificationId",
	social.FieldPullPageSize:   "pageSize",
	social.FieldPullPageToken:  "pageToken",
	social.FieldClientID:       "clientId",
}

// wireError names the fields of a mutation's rejection after the
// mutation's own (proto JSON) fields.
func wireError(m *syncv1.Mutation, e *apperr.Error) *apperr.Error {
	switch m.GetKind().(type) {
	case *syncv1.Mutation_CreateConnection, *syncv1.Mutation_AcceptConnection,
		*syncv1.Mutation_DeclineConnection, *syncv1.Mutation_DeleteConnection:
		return apperr.Public(apperr.RenameField(e, social.FieldOtherUser, "userId"))
	}
	return apperr.Public(apperr.RenameFields(e, fieldNames))
}

// seconds converts a wire count of seconds to a duration, saturating
// instead of overflowing (the rules then reject it as out of range).
func seconds(n int64) time.Duration {
	const most = int64(1<<63-1) / int64(time.Second)
	switch {
	case n > most:
		return time.Duration(1<<63 - 1)
	case n < -most:
		return time.Duration(-1 << 63)
	}
	return time.Duration(n) * time.Second
}
