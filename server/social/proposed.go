package social

import (
	"context"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// Client-proposed ids. A device creating something offline names it (a
// chat, a connection request, a join request, a reel, a message), shows
// it under that name at once and may write to it before the server has
// it. The server keeps the name when it is a valid id nothing uses, and
// otherwise rejects the creation (409 id_taken): it never renames it, as
// the device's later writes name it too.
//
// One-to-one chats are one per pair. When a device proposes an id for the
// pair's chat and the pair already has one (another device of either user
// created it first), the creation succeeds with the existing chat and the
// proposed id becomes an alias of it for the proposing user: their
// writes naming the alias (messages queued after the offline creation)
// land in the existing chat. See docs/sync.md.

// ReasonIDTaken rejects a client-proposed id something already uses.
const ReasonIDTaken = syncv1.ReasonIDTaken

func idTaken(field string) error {
	return &apperr.Error{Code: apperr.Conflict, Reason: ReasonIDTaken, Field: field,
		Message: "That id is already used; create it again under a new id"}
}

// newID is the id of a new row: the proposed one when given (valid, and
// unused as used says), else a fresh one.
func newID(tx *store.Tx, field, proposed string, used func() (bool, error)) (string, error) {
	if proposed == "" {
		return oid.NewAt(tx.Now), nil
	}
	if err := ValidID(field, proposed); err != nil {
		return "", err
	}
	taken, err := used()
	if err != nil {
		return "", err
	}
	if taken {
		return "", idTaken(field)
	}
	return proposed, nil
}

// connectionIDUsed: a record has the id, or the caller's bucket has (had)
// a record of that id.
func connectionIDUsed(ctx context.Context, tx *store.Tx, c Caller, id string) (bool, error) {
	if taken, err := tx.IDTaken(ctx, "connections", id); err != nil || taken {
		return taken, err
	}
	return tx.FeedHas(ctx, UserBucket(c.UserID), EntityConnection, id)
}

// aliasOf returns the chat chatID names for the caller: the chat itself,
// or the pair's chat that the caller's proposed id became an alias of.
func aliasOf(ctx context.Context, tx *store.Tx, c Caller, chatID string) (string, error) {
	target, user, err := tx.ChatAlias(ctx, chatID)
	if err != nil || target == "" || user != c.UserID {
		return chatID, err
	}
	return target, nil
}

// onChat runs write on the chat chatID names for the caller: the chat
// itself or, when no chat has that id, the pair's chat the caller's
// proposed id became an alias of. The alias is looked up only after write
// found no chat (every write loads its chat before it changes anything),
// so writes to real chats cost no extra query.
func onChat(ctx context.Context, tx *store.Tx, c Caller, chatID string, write func(chatID string) error) error {
	err := write(chatID)
	if e, ok := apperr.As(err); !ok || e.Reason != chatNotFoundReason {
		return err
	}
	target, aerr := aliasOf(ctx, tx, c, chatID)
	if aerr != nil {
		return aerr
	}
	if target == chatID {
		return err
	}
	return write(target)
}
