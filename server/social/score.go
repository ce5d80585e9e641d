package social

import (
	"context"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/store"
)

// ScoreAction names something that changes a user's vibe score.
type ScoreAction string

// The score actions the spec names.
const (
	ActionCreateMeetMeRequest ScoreAction = "create-meetme-request"
	ActionAddNewFriend        ScoreAction = "add-new-friend"
	ActionJoinGroupChat       ScoreAction = "join-group-chat"
)

// scorePoints is the one table of points per action (the spec names the
// actions, not their points: see docs/DECISIONS.md).
var scorePoints = map[ScoreAction]int{
	ActionCreateMeetMeRequest: 2,
	ActionAddNewFriend:        10,
	ActionJoinGroupChat:       5,
}

// Points is what action adds to a user's score (0 for an unknown action).
func (a ScoreAction) Points() int { return scorePoints[a] }

// Feed entity and live event names for the score.
const (
	EntityScore       = "score"
	EventScoreUpdated = "score-updated"
)

// Score is a user's vibe score as replicated and sent with score-updated.
type Score struct {
	UserID string      `json:"user"`
	Score  int         `json:"score"`
	Action ScoreAction `json:"action,omitempty"`
	Points int         `json:"points,omitempty"`
}

// addScore records action for user inside tx: the points, the new total in
// the user's bucket, and a score-updated live event to every one of the
// user's devices (the caller's own socket is skipped only when the caller
// is that user).
func addScore(ctx context.Context, tx *store.Tx, c Caller, userID string, action ScoreAction, subjectID string) (Score, error) {
	pts := action.Points()
	total, err := tx.AddScore(ctx, store.ScoreAction{
		ID: oid.NewAt(tx.Now), UserID: userID, Action: string(action), Points: pts, SubjectID: subjectID, CreatedAt: tx.Now,
	})
	if err != nil {
		return Score{}, err
	}
	sc := Score{UserID: userID, Score: total, Action: action, Points: pts}
	if err := put(ctx, tx, EntityScore, userID, Score{UserID: userID, Score: total}, UserBucket(userID)); err != nil {
		return Score{}, err
	}
	from := c
	if c.UserID != userID {
		from.Socket = ""
	}
	return sc, emit(ctx, tx, from, EventScoreUpdated, sc, UserBucket(userID))
}

// addScoreOnce is addScore for an action that counts once per user and
// subject: when userID was already credited action about subjectID it
// records nothing and reports false. Connection actions use it with the
// other user as subject, so cancelling and re-sending a request, or
// removing and re-making a connection, earns nothing more.
func addScoreOnce(ctx context.Context, tx *store.Tx, c Caller, userID string, action ScoreAction, subjectID string) (bool, error) {
	done, err := tx.HasScoreAction(ctx, userID, string(action), subjectID)
	if err != nil || done {
		return false, err
	}
	_, err = addScore(ctx, tx, c, userID, action, subjectID)
	return err == nil, err
}
