package social

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// Limits of the reels a chat view carries (explore's reelsLimit).
const (
	DefaultReelsLimit = 5
	MaxReelsLimit     = 20
)

// Reels: short videos posted to group chats, shown by explore.
//
// Decisions: participants of a group may always post a reel to it; others
// only when the group allows public posts (allowPublicPost, which defaults
// to true for open groups and false for restricted ones: a group that
// vets its members does not take posts from strangers unless it says so).
// Nobody may post to a group when a block stands between them and one of
// its admins (403 blocked), and explore leaves out the reels of users who
// block the viewer or whom the viewer blocks. Anyone may
// like, superlike or favorite a reel; each is a toggle answering the reel
// with its new counts. The author of an anonymous reel is shown only to
// the author (others see "user": null).

// Reaction kinds.
const (
	ReactionLike      = "like"
	ReactionSuperLike = "superlike"
	ReactionFavorite  = "favorite"
)

// Limits on reels.
const (
	MaxReelDescriptionLen = 2000
	MaxHashtags           = 30
	EntityReel            = "reel"
)

// ReelUser is the author of a reel as the viewer sees them.
type ReelUser struct {
	ID         string `json:"_id"`
	Name       string `json:"name"`
	Username   string `json:"username"`
	Photo      string `json:"photo,omitempty"`
	IsFollowed bool   `json:"isFollowed"`
}

// Reel is a reel with its counts and the viewer's reactions.
type Reel struct {
	ID           string    `json:"_id"`
	User         *ReelUser `json:"user"`
	Chat         string    `json:"chat"`
	Description  string    `json:"description"`
	Tag          string    `json:"tag"`
	Video        string    `json:"video"`
	Hashtags     []string  `json:"hashtags"`
	IsAnonymous  bool      `json:"isAnonymous"`
	Views        int       `json:"views"`
	Likes        int       `json:"likes"`
	SuperLikes   int       `json:"superLikes"`
	Favorites    int       `json:"favorites"`
	Shares       int       `json:"shares"`
	Comments     int       `json:"comments"`
	CreatedAt    wire.Time `json:"createdAt"`
	UpdatedAt    wire.Time `json:"updatedAt"`
	IsLiked      bool      `json:"isLiked"`
	IsSuperLiked bool      `json:"isSuperLiked"`
	IsFavorite   bool      `json:"isFavorite"`
}

// NewReel is the input of CreateReel.
type NewReel struct {
	ID          string // client-proposed (optional; see proposed.go)
	Chat        string
	Description string
	Tag         string
	Video       string
	Hashtags    []string
	IsAnonymous bool
}

func validVideoURL(v string) error {
	u, err := url.Parse(v)
	if v == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return apperr.InvalidField("video", "video must be an absolute http(s) URL")
	}
	return nil
}

// CreateReel posts a reel to a group chat.
func (s *Service) CreateReel(ctx context.Context, c Caller, in NewReel) (out Reel, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.createReel(ctx, tx, c, in)
		return err
	})
	return out, err
}

func (s *Service) createReel(ctx context.Context, tx *store.Tx, c Caller, in NewReel) (Reel, error) {
	if in.Chat == "" {
		return Reel{}, apperr.InvalidField("chat", "chat is required")
	}
	if err := ValidID("chat", in.Chat); err != nil {
		return Reel{}, err
	}
	if err := validVideoURL(in.Video); err != nil {
		return Reel{}, err
	}
	desc := strings.TrimSpace(in.Description)
	if utf8.RuneCountInString(desc) > MaxReelDescriptionLen {
		return Reel{}, apperr.InvalidField("description", "description must be at most %d characters", MaxReelDescriptionLen)
	}
	tag := strings.TrimSpace(in.Tag)
	if utf8.RuneCountInString(tag) > MaxCategoryLen {
		return Reel{}, apperr.InvalidField("tag", "tag must be at most %d characters", MaxCategoryLen)
	}
	if len(in.Hashtags) > MaxHashtags {
		return Reel{}, apperr.InvalidField("hashtags", "at most %d hashtags", MaxHashtags)
	}
	tags := make([]string, 0, len(in.Hashtags))
	for _, h := range in.Hashtags {
		h = strings.TrimSpace(h)
		if h == "" || utf8.RuneCountInString(h) > MaxCategoryLen {
			return Reel{}, apperr.InvalidField("hashtags", "each hashtag must be 1 to %d characters", MaxCategoryLen)
		}
		tags = append(tags, h)
	}
	hashtags, err := encode(tags)
	if err != nil {
		return Reel{}, err
	}
	ch, err := tx.Chat(ctx, in.Chat)
	if err != nil {
		return Reel{}, err
	}
	if err := requireGroup(ch); err != nil {
		return Reel{}, err
	}
	if _, err := tx.ParticipantOf(ctx, ch.ID, c.UserID); apperr.Is(err, apperr.NotFound) {
		if !ch.AllowPublicPost {
			return Reel{}, apperr.Forbiddenf("not_participant", "Only participants may post reels to this chat")
		}
	} else if err != nil {
		return Reel{}, err
	}
	admins, err := tx.ChatAdmins(ctx, ch.ID)
	if err != nil {
		return Reel{}, err
	}
	if err := notBlockedByAny(ctx, tx, c.UserID, admins); err != nil {
		return Reel{}, err
	}
	id, err := newID(tx, FieldReelID, in.ID, func() (bool, error) {
		if taken, err := tx.IDTaken(ctx, "reels", in.ID); err != nil || taken {
			return taken, err
		}
		return tx.FeedHas(ctx, ChatBucket(ch.ID), EntityReel, in.ID)
	})
	if err != nil {
		return Reel{}, err
	}
	r := store.Reel{ID: id, ChatID: ch.ID, UserID: c.UserID, Description: desc, Tag: tag, Video: in.Video,
		Hashtags: string(hashtags), IsAnonymous: in.IsAnonymous, CreatedAt: tx.Now, UpdatedAt: tx.Now}
	if err := tx.CreateReel(ctx, r); err != nil {
		return Reel{}, err
	}
	return s.reelView(ctx, tx, c.UserID, r.ID)
}

// ToggleReaction turns the caller's like, superlike or favorite of a reel
// on or off and answers the reel as it is now.
func (s *Service) ToggleReaction(ctx context.Context, c Caller, reelID, kind string) (out Reel, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.toggleReaction(ctx, tx, c, reelID, kind)
		return err
	})
	return out, err
}

func (s *Service) toggleReaction(ctx context.Context, tx *store.Tx, c Caller, reelID, kind string) (Reel, error) {
	if err := ValidID(FieldReelID, reelID); err != nil {
		return Reel{}, err
	}
	switch kind {
	case ReactionLike, ReactionSuperLike, ReactionFavorite:
	default:
		return Reel{}, apperr.InvalidField("kind", "unknown reaction %q", kind)
	}
	if _, err := tx.Reel(ctx, reelID); err != nil {
		return Reel{}, err
	}
	if _, err := tx.ToggleReaction(ctx, reelID, c.UserID, kind); err != nil {
		return Reel{}, err
	}
	return s.reelView(ctx, tx, c.UserID, reelID)
}

// reelView loads one reel for viewer and replicates its counts to the
// chat's bucket (the replicated form carries no viewer flags).
func (s *Service) reelView(ctx context.Context, tx *store.Tx, viewer, id string) (Reel, error) {
	r, err := tx.Reel(ctx, id)
	if err != nil {
		return Reel{}, err
	}
	views, err := s.reelViews(ctx, tx, viewer, []store.Reel{r})
	if err != nil {
		return Reel{}, err
	}
	row := reelFrom(r)
	if err := put(ctx, tx, EntityReel, r.ID, row, ChatBucket(r.ChatID)); err != nil {
		return Reel{}, err
	}
	return views[0], nil
}

func reelFrom(r store.Reel) Reel {
	out := Reel{ID: r.ID, Chat: r.ChatID, Description: r.Description, Tag: r.Tag, Video: r.Video, Hashtags: []string{},
		IsAnonymous: r.IsAnonymous, Views: r.Views, Likes: r.Likes, SuperLikes: r.SuperLikes, Favorites: r.Favorites,
		Shares: r.Shares, Comments: r.Comments, CreatedAt: wire.T(r.CreatedAt), UpdatedAt: wire.T(r.UpdatedAt)}
	_ = json.Unmarshal([]byte(r.Hashtags), &out.Hashtags) // written by encode; a bad row shows no hashtags
	if !r.IsAnonymous {
		out.User = &ReelUser{ID: r.UserID}
	}
	return out
}

// reelViews renders reels for viewer: authors, follow state and the
// viewer's reactions in three queries whatever the number of reels.
func (s *Service) reelViews(ctx context.Context, tx *store.Tx, viewer string, rows []store.Reel) ([]Reel, error) {
	ids, authors := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		ids[i], authors[i] = r.ID, r.UserID
	}
	users, err := tx.UsersByID(ctx, authors)
	if err != nil {
		return nil, err
	}
	followed, err := tx.FollowedAmong(ctx, viewer, authors)
	if err != nil {
		return nil, err
	}
	mine, err := tx.ReactionsBy(ctx, viewer, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Reel, len(rows))
	for i, r := range rows {
		v := reelFrom(r)
		if !r.IsAnonymous || r.UserID == viewer {
			u := users[r.UserID]
			v.User = &ReelUser{ID: r.UserID, Name: u.Name, Username: u.Username, Photo: u.Photo, IsFollowed: followed[r.UserID]}
		}
		v.IsLiked, v.IsSuperLiked, v.IsFavorite = mine[r.ID][ReactionLike], mine[r.ID][ReactionSuperLike], mine[r.ID][ReactionFavorite]
		out[i] = v
	}
	return out, nil
}

// reelsOf returns up to limit newest reels per chat and each chat's count.
func (s *Service) reelsOf(ctx context.Context, tx *store.Tx, viewer string, chatIDs []string, limit int) (map[string][]Reel, map[string]int, error) {
	rows, counts, err := tx.ReelsOf(ctx, viewer, chatIDs, limit)
	if err != nil {
		return nil, nil, err
	}
	var all []store.Reel
	for _, id := range chatIDs {
		all = append(all, rows[id]...)
	}
	views, err := s.reelViews(ctx, tx, viewer, all)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string][]Reel, len(chatIDs))
	for _, v := range views {
		out[v.Chat] = append(out[v.Chat], v)
	}
	return out, counts, nil
}
