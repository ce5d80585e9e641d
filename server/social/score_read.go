package social

import (
	"context"

	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// ScoreEntry is one recorded score action.
type ScoreEntry struct {
	Action    string    `json:"action"`
	Points    int       `json:"points"`
	Subject   string    `json:"subject,omitempty"`
	CreatedAt wire.Time `json:"createdAt"`
}

// ScoreReport is a user's vibe score with one page of its history.
type ScoreReport struct {
	Score   int          `json:"score"`
	Actions []ScoreEntry `json:"actions"`
}

// UserScore returns user id's score and one page of their score actions,
// newest first. A user hidden from the caller by a block is a 404.
func (s *Service) UserScore(ctx context.Context, c Caller, id string, p Page) (ScoreReport, error) {
	if err := ValidID(FieldUserID, id); err != nil {
		return ScoreReport{}, err
	}
	var out ScoreReport
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := visibleUser(ctx, tx, c.UserID, id); err != nil {
			return err
		}
		total, err := tx.Score(ctx, id)
		if err != nil {
			return err
		}
		acts, err := tx.ScoreActions(ctx, id, p.Offset, p.Limit)
		if err != nil {
			return err
		}
		out = ScoreReport{Score: total, Actions: make([]ScoreEntry, len(acts))}
		for i, a := range acts {
			out.Actions[i] = ScoreEntry{Action: a.Action, Points: a.Points, Subject: a.SubjectID, CreatedAt: wire.T(a.CreatedAt)}
		}
		return nil
	})
	return out, err
}
