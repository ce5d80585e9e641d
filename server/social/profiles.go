package social

import (
	"context"

	"github.com/vibesync/vibesync/server/store"
)

// Profiles in the change feed.
//
// A user's profile (User, with its active meet-me status) is replicated as
// its own `user` row into every bucket whose rows mention the user, so a
// replica resolves the users of chats, participants, messages, connections
// and requests by id and shows a profile change after one sync:
//
//   - their own bucket, always;
//   - each chat bucket they ever took part in (put when they join; kept
//     after they leave, since their messages stay there);
//   - the user bucket of each user they have a connection record with,
//     and of each admin of a chat they asked to join;
//   - never the bucket of a user who blocks them or whom they block: a
//     block tombstones the profile in both users' buckets, unblocking
//     restores it where a record still mentions it. Chat buckets are
//     shared by all participants and are not touched by blocks.
//
// A profile change re-puts the one row in each bucket that holds it live
// (replicateUser): the cost is one feed row per bucket, whatever the number
// of messages, participants or records that mention the user. Rows such as
// messages still embed a snapshot of the profile, as the REST shapes do;
// replicas prefer the `user` row.

// replicateUser records user id's current profile (with its active status)
// in every bucket that holds it (their own always) and returns it.
func replicateUser(ctx context.Context, tx *store.Tx, id string) (User, error) {
	u, err := tx.User(ctx, id)
	if err != nil {
		return User{}, err
	}
	us, err := withStatuses(ctx, tx, []store.User{u})
	if err != nil {
		return User{}, err
	}
	buckets, err := tx.LiveBuckets(ctx, id)
	if err != nil {
		return User{}, err
	}
	own := UserBucket(id)
	if !contains(buckets, own) {
		buckets = append(buckets, own)
	}
	return us[0], put(ctx, tx, EntityUser, id, us[0], buckets...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// shareUser puts user id's current profile into each bucket that does not
// hold it yet (one that does holds the current profile already).
func shareUser(ctx context.Context, tx *store.Tx, id string, buckets ...string) error {
	var missing []string
	for _, b := range buckets {
		has, err := tx.HasLive(ctx, b, EntityUser, id)
		if err != nil {
			return err
		}
		if !has {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	u, err := tx.User(ctx, id)
	if err != nil {
		return err
	}
	us, err := withStatuses(ctx, tx, []store.User{u})
	if err != nil {
		return err
	}
	return put(ctx, tx, EntityUser, id, us[0], missing...)
}

// settleProfile makes owner's bucket hold user id's profile exactly when a
// row there mentions id (a connection record, a join request of id to a
// chat owner administers) and no block stands between them: it shares the
// profile, or tombstones it where it is live.
func settleProfile(ctx context.Context, tx *store.Tx, owner, id string) error {
	if owner == id {
		return nil
	}
	show, err := tx.ProfileLinked(ctx, owner, id)
	if err != nil {
		return err
	}
	if show {
		blocked, err := tx.Blocked(ctx, owner, id)
		if err != nil {
			return err
		}
		show = !blocked
	}
	bucket := UserBucket(owner)
	if show {
		return shareUser(ctx, tx, id, bucket)
	}
	has, err := tx.HasLive(ctx, bucket, EntityUser, id)
	if err != nil || !has {
		return err
	}
	return drop(ctx, tx, EntityUser, id, bucket)
}

// settleProfiles settles a's profile in b's bucket and b's in a's.
func settleProfiles(ctx context.Context, tx *store.Tx, a, b string) error {
	if err := settleProfile(ctx, tx, a, b); err != nil {
		return err
	}
	return settleProfile(ctx, tx, b, a)
}

// dropChatProfiles tombstones the profiles a deleted chat's bucket holds,
// so later profile changes no longer write to it.
func dropChatProfiles(ctx context.Context, tx *store.Tx, chatID string) error {
	bucket := ChatBucket(chatID)
	ids, err := tx.LiveUsers(ctx, bucket)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := drop(ctx, tx, EntityUser, id, bucket); err != nil {
			return err
		}
	}
	return nil
}
