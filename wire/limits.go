package wire

// Limits the server enforces and the client checks before it queues a
// change, so that what the server would refuse for its size or shape is
// refused at once, on the device, instead of waiting in the outbox. Both
// sides read these constants; lengths count characters (runes) after
// trimming surrounding space, as the server does.
const (
	// MaxSyncRequestBytes bounds one sync request message (decompressed);
	// the server refuses a larger one whole with RESOURCE_EXHAUSTED.
	MaxSyncRequestBytes = 8 << 20
	// MaxPushMutations bounds the mutations of one push.
	MaxPushMutations = 500
	// MaxMutationBytes bounds one encoded mutation: the largest a valid
	// one can be is far below (a message of MaxMessageLen four-byte
	// characters is 16 KB), as is the REST API's 1 MiB request body.
	MaxMutationBytes = 1 << 20

	MaxMessageLen           = 4000 // a message's text
	MaxNameLen              = 100  // a profile's name
	MaxBioLen               = 500  // a profile's bio
	MinUsernameLen          = 3
	MaxUsernameLen          = 30
	MaxConnectionMessageLen = 500   // the message of a connection request
	MaxStatusLen            = 280   // a meet-me status's text
	MaxChatNameLen          = 100   // a group's name
	MaxCategoryLen          = 50    // a group's category
	MaxGroupInvitees        = 500   // participants named when a group is created
	MaxMessageFiles         = 20    // files of one message
	MinStatusSeconds        = 60    // a status set through sync lasts 60 s …
	MaxStatusSeconds        = 86400 // … to a day
)
