package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vibesync/vibesync/client"
)

// describeRejection is one line about a change that was not applied: what
// it was, what it acted on, what the user wrote, why, and what to do.
func describeRejection(r client.Rejection) string {
	var b strings.Builder
	if r.Outcome == client.OutcomeUnknown {
		b.WriteString("outcome unknown: ")
	} else {
		b.WriteString("rejected by the server: ")
	}
	fmt.Fprintf(&b, "#%d %s", r.MutationID, r.Kind)
	if r.Target != "" {
		fmt.Fprintf(&b, " %s", r.Target)
	}
	if r.Content != "" {
		fmt.Fprintf(&b, ": %q", r.Content)
	}
	fmt.Fprintf(&b, " — %s", r.Message)
	if r.Outcome != client.OutcomeUnknown {
		fmt.Fprintf(&b, " (%s)", or(r.Reason, r.Code))
	}
	fmt.Fprintf(&b, "; kept: vibesync retry %d, or vibesync dismiss %d", r.MutationID, r.MutationID)
	return b.String()
}

func rejectionsCmd(ctx context.Context, s *shell, _ []string) error {
	rs, err := s.c.Rejections(ctx)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		fmt.Fprintln(s.stdout, "no rejected changes")
	}
	for _, r := range rs {
		fmt.Fprintln(s.stdout, describeRejection(r))
	}
	return nil
}

func mutationArg(arg string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(arg, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a change number (vibesync rejections lists them)", arg)
	}
	return id, nil
}

func retry(ctx context.Context, s *shell, args []string) error {
	id, err := mutationArg(args[0])
	if err != nil {
		return err
	}
	if _, err := s.c.Retry(ctx, id); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func dismiss(ctx context.Context, s *shell, args []string) error {
	id, err := mutationArg(args[0])
	if err != nil {
		return err
	}
	if err := s.c.Dismiss(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "dismissed #%d\n", id)
	return nil
}
