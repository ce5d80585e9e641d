package social

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// Reading chats: one chat, the caller's list, and explore.

// Chat returns chat id as the caller (a participant) sees it.
func (s *Service) Chat(ctx context.Context, c Caller, id string) (ChatView, error) {
	if err := ValidID(FieldChatID, id); err != nil {
		return ChatView{}, err
	}
	var out ChatView
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		ch, _, err := memberOf(ctx, tx, id, c.UserID)
		if err != nil {
			return err
		}
		views, err := s.chatViews(ctx, tx, c.UserID, []store.Chat{ch}, viewOpts{populate: true})
		if err != nil {
			return err
		}
		out = views[0]
		return nil
	})
	return out, err
}

// ChatFilter selects the caller's chats (see store.ChatFilter).
type ChatFilter struct {
	Search     string
	Group      *bool
	MeetMeOnly bool
}

// Chats lists the caller's chats, most recent activity first, each with
// its participants, newest message and unread count. The number of
// queries does not depend on the page size.
func (s *Service) Chats(ctx context.Context, c Caller, f ChatFilter, p Page) ([]ChatView, int, error) {
	views, total, err := s.ListChats(ctx, c, f, p)
	for i := range views {
		views[i] = views[i].Expanded()
	}
	return views, total, err
}

// ListChats is Chats with each view's participants as Members and Online
// (shared between answers, see ChatView): for a transport that writes
// them with the list they share (ParticipantList).
func (s *Service) ListChats(ctx context.Context, c Caller, f ChatFilter, p Page) ([]ChatView, int, error) {
	search := strings.TrimSpace(f.Search)
	if utf8.RuneCountInString(search) > MaxSearchLen {
		return nil, 0, apperr.InvalidField("search", "search must be at most %d characters", MaxSearchLen)
	}
	meetMe := f.MeetMeOnly && (f.Group == nil || !*f.Group)
	var out []ChatView
	var total int
	gen := s.db.PresenceGeneration() // before the snapshot: see chatListViews
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, total, err = s.chatListViews(ctx, tx, store.ChatFilter{UserID: c.UserID, Search: search, Group: f.Group, MeetMeOnly: meetMe, Offset: p.Offset, Limit: p.Limit}, gen)
		return err
	})
	return out, total, err
}

// ExploreFilter selects communities to discover.
type ExploreFilter struct {
	Search     string
	Category   string
	ReelsLimit int
}

// Explore lists group chats whose name contains Search (at least 3
// characters), trending first.
//
// Trending: a chat's trend is the number of messages sent in it plus the
// number of participants who joined it within the last TrendingWindow (7
// days); ties go to the chat with more participants, then the one with the
// most recent activity. Every group is listed, restricted or not, joined or
// not; restricted ones show the caller's pending join request.
func (s *Service) Explore(ctx context.Context, c Caller, f ExploreFilter, p Page) ([]ChatView, int, error) {
	search := strings.TrimSpace(f.Search)
	if utf8.RuneCountInString(search) < MinExploreSearch {
		return nil, 0, apperr.InvalidField("search", "search is required, at least %d characters", MinExploreSearch)
	}
	if utf8.RuneCountInString(search) > MaxSearchLen {
		return nil, 0, apperr.InvalidField("search", "search must be at most %d characters", MaxSearchLen)
	}
	if f.ReelsLimit < 0 || f.ReelsLimit > MaxReelsLimit {
		return nil, 0, apperr.InvalidField("reelsLimit", "reelsLimit must be from 0 to %d", MaxReelsLimit)
	}
	var out []ChatView
	var total int
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		chats, n, err := tx.ExploreChats(ctx, store.ExploreFilter{Search: search, Category: strings.TrimSpace(f.Category),
			Since: tx.Now.Add(-TrendingWindow), Offset: p.Offset, Limit: p.Limit})
		if err != nil {
			return err
		}
		total = n
		out, err = s.chatViews(ctx, tx, c.UserID, chats, viewOpts{populate: false, explore: true, reelsLimit: f.ReelsLimit})
		return err
	})
	return out, total, err
}
