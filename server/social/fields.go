package social

// Field names that errors give inputs whose name differs between
// transports. The rules name them after their own inputs, not after any
// transport's; each transport renames them (field, reason and the message's
// leading name, apperr.RenameField) to its own: REST to the JSON or path
// names of the spec, the sync service to the JSON names of the proto
// fields. Inputs every transport names alike keep that name.
const (
	// FieldOtherUser is the other user of a connection call
	// (ConnectionRequest.To, ConnectionRef.With, a connection mutation's
	// user): REST's userId or receiver_id, the proto's user_id.
	FieldOtherUser = "user"
	// FieldParticipant is the participant a chat admin call acts on:
	// REST's participantId path parameter, the proto's user_id.
	FieldParticipant = "participant"
	// FieldMessageID is a message's id (a proposed one or the one to
	// delete): REST's _id body field or messageId path parameter, the
	// proto's message_id.
	FieldMessageID = "messageID"
	// FieldStatusDuration is how long a status lasts (SetStatusMutation):
	// the proto's expires_in_seconds.
	FieldStatusDuration = "expiresIn"
	// FieldExpectedStatus is the connection state a removal expects
	// (DeleteConnectionMutation): the proto's expect_status.
	FieldExpectedStatus = "expect"

	// The ids a call acts on or proposes: REST's id path parameter (where
	// it has one), the proto's <thing>_id field.

	// FieldChatID is a chat's id: the chat a call acts on, or the id a
	// new chat (or the caller's alias of a pair's chat) is proposed under.
	FieldChatID = "chatID"
	// FieldUserID is the id of the user a profile, follow, block or score
	// call is about.
	FieldUserID = "userID"
	// FieldConnectionID is a connection record's id, looked up or
	// proposed (the sync service's only; REST names records by number).
	FieldConnectionID = "connectionID"
	// FieldRequestID is a join request's id, looked up or proposed.
	FieldRequestID = "requestID"
	// FieldReelID is a reel's id, looked up or proposed.
	FieldReelID = "reelID"
	// FieldNotificationID is a notification's id.
	FieldNotificationID = "notificationID"
	// FieldSessionID is a signed-in session's id (REST only).
	FieldSessionID = "sessionID"

	// A pull's inputs (the sync service's only).

	// FieldPullPageSize is how many changes a pull page may carry.
	FieldPullPageSize = "pullPageSize"
	// FieldPullPageToken continues a pull where its previous page ended.
	FieldPullPageToken = "pullPageToken"
	// FieldClientID is the installation id a device's mutations are
	// recorded under.
	FieldClientID = "clientID"
)
