package social

import (
	"context"

	"github.com/vibesync/vibesync/server/store"
)

// DeleteChatIn runs DeleteChat's write inside tx, so a test can roll it
// back after it succeeded.
func (s *Service) DeleteChatIn(ctx context.Context, tx *store.Tx, c Caller, chatID string) error {
	return s.deleteChat(ctx, tx, c, chatID)
}

// FuncMutation is a Mutation that runs Fn, so a test can make a mutation
// fail the way a driver does.
type FuncMutation struct {
	Fn func(context.Context, *store.Tx) error
}

func (m FuncMutation) apply(ctx context.Context, _ *Service, tx *store.Tx, _ Caller) error {
	return m.Fn(ctx, tx)
}
