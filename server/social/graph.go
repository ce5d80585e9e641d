package social

import (
	"context"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// Feed entities of the social graph.
const (
	EntityFollow = "follow"
	EntityBlock  = "block"
)

// Follow is a follow edge in its replicated form. It lives in both users'
// buckets (the follower's "following", the followee's "followers").
type Follow struct {
	ID        string    `json:"_id"` // "<follower>:<followee>"
	Follower  string    `json:"follower"`
	Followee  string    `json:"followee"`
	CreatedAt wire.Time `json:"createdAt"`
}

// Block is a block in its replicated form. Only the blocker's bucket holds
// it: the blocked user is never told.
type Block struct {
	ID        string    `json:"_id"` // "<blocker>:<blocked>"
	Blocker   string    `json:"blocker"`
	Blocked   string    `json:"blocked"`
	CreatedAt wire.Time `json:"createdAt"`
}

func edgeID(a, b string) string { return a + ":" + b }

func userNotFound(id string) error {
	return apperr.NotFoundf("user_not_found", "User with ID '%s' does not exist", id)
}

// visibleUser checks, inside tx, that id is a well-formed id of an existing
// user who is not hidden from viewer by a block either way. A hidden user
// gets the same 404 as a missing one.
func visibleUser(ctx context.Context, tx *store.Tx, viewer, id string) (store.User, error) {
	u, err := tx.User(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return store.User{}, userNotFound(id)
	} else if err != nil {
		return store.User{}, err
	}
	if viewer == id {
		return u, nil
	}
	if !u.DeletedAt.IsZero() {
		return store.User{}, userNotFound(id)
	}
	blocked, err := tx.Blocked(ctx, viewer, id)
	if err != nil {
		return store.User{}, err
	}
	if blocked {
		return store.User{}, userNotFound(id)
	}
	return u, nil
}

// otherUser validates the path id of another user: a 400 for a malformed
// id or the caller's own, a 404 for a missing or hidden user.
func otherUser(ctx context.Context, tx *store.Tx, c Caller, field, id string) (store.User, error) {
	if err := notSelf(c, field, id); err != nil {
		return store.User{}, err
	}
	return visibleUser(ctx, tx, c.UserID, id)
}

// notSelf checks that id is a well-formed id other than the caller's own.
func notSelf(c Caller, field, id string) error {
	if err := ValidID(field, id); err != nil {
		return err
	}
	if id == c.UserID {
		return apperr.New(apperr.Invalid, "self_reference", "%s cannot be your own id", field)
	}
	return nil
}

// existingOther is otherUser without the block check, for blocking and
// unblocking, which must reach a user hidden by a block: 400 for a
// malformed id or the caller's own, 404 for a missing user.
func existingOther(ctx context.Context, tx *store.Tx, c Caller, id string) error {
	if err := notSelf(c, FieldUserID, id); err != nil {
		return err
	}
	u, err := tx.User(ctx, id)
	if apperr.Is(err, apperr.NotFound) || err == nil && !u.DeletedAt.IsZero() {
		return userNotFound(id)
	}
	return err
}

// FollowUser makes the caller follow id. Following someone already
// followed is not an error. 400 for the caller's own id, 404 for a missing
// user or one hidden by a block.
func (s *Service) FollowUser(ctx context.Context, c Caller, id string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return followUser(ctx, tx, c, id) })
}

func followUser(ctx context.Context, tx *store.Tx, c Caller, id string) error {
	if _, err := otherUser(ctx, tx, c, FieldUserID, id); err != nil {
		return err
	}
	created, err := tx.Follow(ctx, c.UserID, id)
	if err != nil || !created {
		return err
	}
	f := Follow{ID: edgeID(c.UserID, id), Follower: c.UserID, Followee: id, CreatedAt: wire.T(tx.Now)}
	return put(ctx, tx, EntityFollow, f.ID, f, UserBucket(c.UserID), UserBucket(id))
}

// UnfollowUser stops the caller following id; not following is not an error.
func (s *Service) UnfollowUser(ctx context.Context, c Caller, id string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return unfollowUser(ctx, tx, c, id) })
}

func unfollowUser(ctx context.Context, tx *store.Tx, c Caller, id string) error {
	if _, err := otherUser(ctx, tx, c, FieldUserID, id); err != nil {
		return err
	}
	return unfollow(ctx, tx, c.UserID, id)
}

func unfollow(ctx context.Context, tx *store.Tx, follower, followee string) error {
	gone, err := tx.Unfollow(ctx, follower, followee)
	if err != nil || !gone {
		return err
	}
	return drop(ctx, tx, EntityFollow, edgeID(follower, followee), UserBucket(follower), UserBucket(followee))
}

// BlockUser makes the caller block id. From then on the two are hidden from
// each other: profile, search, lists and connection calls answer as if the
// other did not exist. Blocking also ends follows both ways, removes a
// pending connection request between them (and its notification), and
// hides an accepted or declined connection record, and the notifications
// either caused the other, until the block is lifted. Blocking works even
// when id already blocks the caller; blocking twice is not an error.
func (s *Service) BlockUser(ctx context.Context, c Caller, id string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return blockUser(ctx, tx, c, id) })
}

func blockUser(ctx context.Context, tx *store.Tx, c Caller, id string) error {
	if err := existingOther(ctx, tx, c, id); err != nil {
		return err
	}
	created, err := tx.Block(ctx, c.UserID, id)
	if err != nil || !created {
		return err
	}
	b := Block{ID: edgeID(c.UserID, id), Blocker: c.UserID, Blocked: id, CreatedAt: wire.T(tx.Now)}
	if err := put(ctx, tx, EntityBlock, b.ID, b, UserBucket(c.UserID)); err != nil {
		return err
	}
	if err := settleProfiles(ctx, tx, c.UserID, id); err != nil {
		return err
	}
	if err := unfollow(ctx, tx, c.UserID, id); err != nil {
		return err
	}
	if err := unfollow(ctx, tx, id, c.UserID); err != nil {
		return err
	}
	if err := hideNotificationsBetween(ctx, tx, c.UserID, id); err != nil {
		return err
	}
	conn, err := tx.ConnectionBetween(ctx, c.UserID, id)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if conn.Status == store.ConnPending {
		return removeConnection(ctx, tx, c, conn, true)
	}
	return drop(ctx, tx, EntityConnection, conn.ID, UserBucket(conn.FromID), UserBucket(conn.ToID))
}

// UnblockUser lifts the caller's block of id (not blocking is not an
// error). Once neither blocks the other, the connection record and
// notifications hidden by the block show again; follows ended by the block
// stay ended.
func (s *Service) UnblockUser(ctx context.Context, c Caller, id string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return unblockUser(ctx, tx, c, id) })
}

func unblockUser(ctx context.Context, tx *store.Tx, c Caller, id string) error {
	if err := existingOther(ctx, tx, c, id); err != nil {
		return err
	}
	gone, err := tx.Unblock(ctx, c.UserID, id)
	if err != nil || !gone {
		return err
	}
	if err := drop(ctx, tx, EntityBlock, edgeID(c.UserID, id), UserBucket(c.UserID)); err != nil {
		return err
	}
	if still, err := tx.Blocked(ctx, c.UserID, id); err != nil || still {
		return err
	}
	if err := settleProfiles(ctx, tx, c.UserID, id); err != nil {
		return err
	}
	if err := showNotificationsBetween(ctx, tx, c.UserID, id); err != nil {
		return err
	}
	conn, err := tx.ConnectionBetween(ctx, c.UserID, id)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	} else if err != nil {
		return err
	}
	_, err = replicateConnection(ctx, tx, conn)
	return err
}

// Following lists the users the caller follows (newest first), without
// anyone hidden by a block; and the total.
func (s *Service) Following(ctx context.Context, c Caller, p Page) ([]User, int, error) {
	return s.userList(ctx, c, p, (*store.Tx).Following)
}

// Followers lists the users who follow the caller (newest first), without
// anyone hidden by a block; and the total.
func (s *Service) Followers(ctx context.Context, c Caller, p Page) ([]User, int, error) {
	return s.userList(ctx, c, p, (*store.Tx).Followers)
}

// BlockedUsers lists the users the caller blocks (newest first); and the total.
func (s *Service) BlockedUsers(ctx context.Context, c Caller, p Page) ([]User, int, error) {
	return s.userList(ctx, c, p, (*store.Tx).BlockedUsers)
}

func (s *Service) userList(ctx context.Context, c Caller, p Page,
	list func(*store.Tx, context.Context, store.GraphFilter) ([]store.User, int, error)) ([]User, int, error) {
	var out []User
	var total int
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, n, err := list(tx, ctx, store.GraphFilter{UserID: c.UserID, Offset: p.Offset, Limit: p.Limit})
		if err != nil {
			return err
		}
		total = n
		out, err = withStatuses(ctx, tx, rows)
		return err
	})
	return out, total, err
}
