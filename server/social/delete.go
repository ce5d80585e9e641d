package social

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// Account deletion. What happens to everything the user touched is
// decided in docs/DECISIONS.md ("Account deletion"); in short:
//
//   - the users row stays as a "deleted user" identity (name DeletedName,
//     no username, bio, photo or password, "deleted": true) that their
//     kept messages point to; their username stays reserved for
//     Service.UsernameGrace, then anyone may take it;
//   - their sessions end with reason account_deleted (tokens fail at once,
//     sockets close and sync streams end at the next heartbeat);
//   - connections, follows, blocks (both ways), their meet-me status,
//     their join requests, the notifications they received or caused,
//     score, push devices and pending pushes, presence, sync clients and
//     their own feed bucket are removed;
//   - a chat where nobody else is left (no other member, or only deleted
//     ones) is deleted as if its admin had deleted it;
//   - a group loses their participant row; if they were its last admin,
//     the longest-standing remaining member (earliest joined, then
//     participant id) becomes admin and is told so;
//   - a one-to-one chat stays for the other person, showing the deleted
//     user (who can no longer be written to: 409 user_deleted);
//   - their messages stay, re-written in every replica with the deleted
//     identity; the files they attached are removed from the messages,
//     the chats' file lists and storage; their reels go, and their
//     reactions to others' reels;
//   - every effect reaches other users as tombstones and re-put rows in
//     the change feed and as live events (the usual ones, plus
//     user-deleted {"_id"} to every chat and user they were linked with).

// DeletedName is the display name of a deleted account.
const DeletedName = "Deleted user"

// EventUserDeleted tells a chat's members and the user's former contacts
// that the account with "_id" was deleted.
const EventUserDeleted = "user-deleted"

// DeleteAccount deletes the caller's account after checking their
// password (rate limited with the password change: 429 rate_limited;
// 403 wrong_password). It is one transaction: it happens whole or not at
// all. Uploaded media is deleted after it commits.
func (s *Service) DeleteAccount(ctx context.Context, c Caller, password string) error {
	if err := c.valid(); err != nil {
		return err
	}
	if password == "" {
		return apperr.InvalidField("password", "password is required")
	}
	if _, err := s.checkPassword(ctx, c.UserID, password); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error { return s.deleteAccount(ctx, tx, c) })
}

func (s *Service) deleteAccount(ctx context.Context, tx *store.Tx, c Caller) error {
	id := c.UserID
	u, err := tx.User(ctx, id)
	if err != nil {
		return err
	}
	if !u.DeletedAt.IsZero() {
		return accountDeleted()
	}
	if _, err := s.endSessions(ctx, tx, id, "", store.EndAccountDeleted); err != nil {
		return err
	}
	// Everyone who hears user-deleted on their own bucket.
	told := map[string]bool{}
	var keys []string // media to delete after commit

	conns, err := tx.ConnectionsOf(ctx, id)
	if err != nil {
		return err
	}
	for _, conn := range conns {
		if err := removeConnection(ctx, tx, c, conn, true); err != nil {
			return err
		}
		other := conn.FromID
		if other == id {
			other = conn.ToID
		}
		told[other] = true
	}
	if err := s.dropGraph(ctx, tx, id, told); err != nil {
		return err
	}
	if err := s.dropRequestsBy(ctx, tx, id, told); err != nil {
		return err
	}
	chats, err := s.leaveChats(ctx, tx, c, &keys)
	if err != nil {
		return err
	}
	files, err := tx.StripFilesOf(ctx, id)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := drop(ctx, tx, EntityFile, f.ID, ChatBucket(f.ChatID)); err != nil {
			return err
		}
		keys = append(keys, s.mediaKeys(f.URL, f.Cover)...)
	}
	if err := s.dropReelsOf(ctx, tx, id, &keys); err != nil {
		return err
	}
	ns, err := tx.DeleteNotificationsAbout(ctx, id)
	if err != nil {
		return err
	}
	for _, n := range ns {
		if n.UserID != id {
			if err := drop(ctx, tx, EntityNotification, n.ID, UserBucket(n.UserID)); err != nil {
				return err
			}
		}
	}
	keys = append(keys, s.mediaKeys(u.Photo)...)
	if _, err := tx.DeleteStatus(ctx, id); err != nil {
		return err
	}
	if err := tx.EraseUser(ctx, id, DeletedName); err != nil {
		return err
	}
	if err := s.rewriteMessagesOf(ctx, tx, id); err != nil {
		return err
	}
	if _, err := replicateUser(ctx, tx, id); err != nil {
		return err
	}
	if err := tx.PurgeAccount(ctx, id); err != nil {
		return err
	}
	targets := make([]string, 0, len(told)+len(chats))
	for _, other := range sortedKeys(told) {
		if other != id {
			targets = append(targets, UserBucket(other))
		}
	}
	for _, ch := range chats {
		targets = append(targets, ChatBucket(ch))
	}
	if err := emit(ctx, tx, c, EventUserDeleted, map[string]string{"_id": id}, targets...); err != nil {
		return err
	}
	return s.deleteMediaAfterCommit(ctx, tx, keys...)
}

// dropGraph removes id's follows and blocks both ways, with their feed
// rows in the other users' buckets.
func (s *Service) dropGraph(ctx context.Context, tx *store.Tx, id string, told map[string]bool) error {
	following, followers, err := tx.FollowEdges(ctx, id)
	if err != nil {
		return err
	}
	for _, other := range following {
		if err := unfollow(ctx, tx, id, other); err != nil {
			return err
		}
		told[other] = true
	}
	for _, other := range followers {
		if err := unfollow(ctx, tx, other, id); err != nil {
			return err
		}
		told[other] = true
	}
	blocking, blockedBy, err := tx.BlockEdges(ctx, id)
	if err != nil {
		return err
	}
	for _, other := range blocking {
		if _, err := tx.Unblock(ctx, id, other); err != nil {
			return err
		}
	}
	for _, other := range blockedBy {
		if _, err := tx.Unblock(ctx, other, id); err != nil {
			return err
		}
		if err := drop(ctx, tx, EntityBlock, edgeID(other, id), UserBucket(other)); err != nil {
			return err
		}
		told[other] = true
	}
	return nil
}

// dropRequestsBy deletes every join request id sent, with its rows in the
// chat admins' buckets and its notifications.
func (s *Service) dropRequestsBy(ctx context.Context, tx *store.Tx, id string, told map[string]bool) error {
	reqs, err := tx.RequestsBy(ctx, id)
	if err != nil {
		return err
	}
	adminsOf := map[string][]string{} // by chat: one read per chat, not per request
	for _, r := range reqs {
		admins, ok := adminsOf[r.ChatID]
		if !ok {
			if admins, err = tx.ChatAdmins(ctx, r.ChatID); err != nil {
				return err
			}
			adminsOf[r.ChatID] = admins
		}
		if err := tx.DeleteRequest(ctx, r.ID); err != nil {
			return err
		}
		buckets := make([]string, 0, len(admins))
		for _, a := range admins {
			buckets = append(buckets, UserBucket(a))
		}
		if err := drop(ctx, tx, EntityRequest, r.ID, buckets...); err != nil {
			return err
		}
		if err := deleteNotifications(ctx, tx, store.NotificationMatch{SubjectID: r.ID}); err != nil {
			return err
		}
		for _, a := range admins {
			if err := settleProfile(ctx, tx, a, id); err != nil {
				return err
			}
			told[a] = true
		}
	}
	return nil
}

// leaveChats takes id out of every chat (see the package decisions above)
// and returns the chats that remain for others.
func (s *Service) leaveChats(ctx context.Context, tx *store.Tx, c Caller, keys *[]string) ([]string, error) {
	id := c.UserID
	mine, err := tx.ParticipationsOf(ctx, id)
	if err != nil {
		return nil, err
	}
	// Chats, participants and their users are read once for all the chats:
	// leaving one chat changes only that chat's rows.
	chatIDs := make([]string, 0, len(mine))
	for _, me := range mine {
		chatIDs = append(chatIDs, me.ChatID)
	}
	chats, err := tx.ChatsByID(ctx, chatIDs)
	if err != nil {
		return nil, err
	}
	parts, err := tx.ParticipantsOf(ctx, chatIDs)
	if err != nil {
		return nil, err
	}
	var userIDs []string
	for _, ps := range parts {
		for _, p := range ps {
			userIDs = append(userIDs, p.UserID)
		}
	}
	users, err := tx.UsersByID(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	var kept []string
	for _, me := range mine {
		ch, ok := chats[me.ChatID]
		if !ok {
			return nil, fmt.Errorf("leave chats: chat %s of a participant row is missing", me.ChatID)
		}
		var others []store.Participant // live members besides id, longest-standing first
		for _, p := range parts[ch.ID] {
			if p.UserID != id && users[p.UserID].DeletedAt.IsZero() {
				others = append(others, p)
			}
		}
		switch {
		case len(others) == 0:
			if err := s.removeChat(ctx, tx, c, ch); err != nil {
				return nil, err
			}
			continue
		case !ch.IsGroup:
			// The other person keeps the chat and its history; the deleted
			// user's participant row stays so the chat still shows whom it
			// was with. Only their access goes.
			if err := tx.RemoveBucketMember(ctx, ChatBucket(ch.ID), id); err != nil {
				return nil, err
			}
		default:
			if err := s.handOver(ctx, tx, ch, me, parts[ch.ID], others); err != nil {
				return nil, err
			}
			if err := s.removeMember(ctx, tx, me); err != nil {
				return nil, err
			}
			if me.IsAdmin {
				if err := s.shareRequests(ctx, tx, ch.ID, id, false); err != nil {
					return nil, err
				}
			}
			if err := emit(ctx, tx, c, EventChatParticipantRemoved, participantFrom(me, ref(id)), ChatBucket(ch.ID)); err != nil {
				return nil, err
			}
		}
		kept = append(kept, ch.ID)
	}
	return kept, nil
}

// handOver makes the longest-standing remaining member of group ch an
// admin when me, who is leaving, is its last admin. The new admin gets the
// chat's pending requests, a notification and chat-admin-access-granted.
func (s *Service) handOver(ctx context.Context, tx *store.Tx, ch store.Chat, me store.Participant, all, others []store.Participant) error {
	if !me.IsAdmin {
		return nil
	}
	for _, p := range all {
		if p.IsAdmin && p.UserID != me.UserID && slices.ContainsFunc(others, func(o store.Participant) bool { return o.ID == p.ID }) {
			return nil // another admin remains
		}
	}
	next := others[0]
	admin := true
	if err := tx.UpdateParticipant(ctx, next.ID, store.ParticipantUpdate{IsAdmin: &admin}); err != nil {
		return err
	}
	next.IsAdmin = true
	if err := s.putMember(ctx, tx, next, nil); err != nil {
		return err
	}
	if err := s.shareRequests(ctx, tx, ch.ID, next.UserID, true); err != nil {
		return err
	}
	if _, err := notify(ctx, tx, store.Notification{UserID: next.UserID, Type: EventChatAdminGranted,
		SubjectType: EntityChat, SubjectID: ch.ID, ChatID: ch.ID, Message: "You are now an admin of " + ch.Name}); err != nil {
		return err
	}
	return emit(ctx, tx, Caller{}, EventChatAdminGranted, participantFrom(next, ref(next.UserID)), UserBucket(next.UserID))
}

// dropReelsOf deletes id's reels (and their videos, when stored here)
// and id's reactions, re-putting the reels whose counts changed.
func (s *Service) dropReelsOf(ctx context.Context, tx *store.Tx, id string, keys *[]string) error {
	reels, touched, err := tx.DeleteReelsOf(ctx, id)
	if err != nil {
		return err
	}
	for _, r := range reels {
		if err := drop(ctx, tx, EntityReel, r.ID, ChatBucket(r.ChatID)); err != nil {
			return err
		}
		*keys = append(*keys, s.mediaKeys(r.Video)...)
	}
	slices.Sort(touched)
	for _, rid := range slices.Compact(touched) {
		r, err := tx.Reel(ctx, rid)
		if err != nil {
			return err
		}
		if err := put(ctx, tx, EntityReel, r.ID, reelFrom(r), ChatBucket(r.ChatID)); err != nil {
			return err
		}
	}
	return nil
}

// rewriteMessagesOf re-puts every kept message of id with the deleted
// identity as its sender, so no replica keeps the old name inside them.
// Pages of 500 keep memory bounded whatever the number of messages.
func (s *Service) rewriteMessagesOf(ctx context.Context, tx *store.Tx, id string) error {
	sender := UserRef{ID: id, Name: DeletedName, Populated: true}
	after := ""
	for {
		page, err := tx.MessagesBy(ctx, id, after, 500)
		if err != nil {
			return err
		}
		for _, m := range page {
			row, err := messageFrom(m, sender)
			if err != nil {
				return err
			}
			if err := put(ctx, tx, EntityMessage, m.ID, row, ChatBucket(m.ChatID)); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// mediaKeys returns the storage keys of the URLs that point to this
// server's media.
func (s *Service) mediaKeys(urls ...string) []string {
	var out []string
	for _, u := range urls {
		if k, ok := s.media.KeyOf(u); ok {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
