package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/oid"
)

// user resolves a user id or a username: from the replica first (works
// offline), then by asking the server.
func (s *shell) user(ctx context.Context, arg string) (string, error) {
	if oid.Valid(arg) {
		return arg, nil
	}
	name := strings.TrimPrefix(arg, "@")
	u, ok, err := s.c.UserByUsername(ctx, name)
	if err != nil || ok {
		return u.ID, err
	}
	users, err := s.c.SearchUsers(ctx, name)
	if errors.Is(err, client.ErrOffline) {
		return "", fmt.Errorf("@%s is not in this replica and the server is unreachable: run vibesync sync once online (or connect to them then), or give their user id", name)
	}
	if err != nil {
		return "", fmt.Errorf("look up @%s: %w", name, err)
	}
	for _, u := range users {
		if strings.EqualFold(u.Username, name) {
			return u.ID, nil
		}
	}
	return "", fmt.Errorf("no user @%s", name)
}

func (s *shell) users(ctx context.Context, args []string) ([]string, error) {
	ids := make([]string, 0, len(args))
	for _, a := range args {
		id, err := s.user(ctx, a)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// chat resolves a chat id, a chat name, or the other user's username of
// a one-to-one chat, from the replica.
func (s *shell) chat(ctx context.Context, arg string) (string, error) {
	if oid.Valid(arg) {
		return arg, nil
	}
	chats, err := s.c.Chats(ctx, "")
	if err != nil {
		return "", err
	}
	name := strings.TrimPrefix(arg, "@")
	for _, ch := range chats {
		if strings.EqualFold(ch.Name, name) {
			return ch.ID, nil
		}
	}
	me := s.c.UserID(ctx)
	for _, ch := range chats {
		if ch.IsGroup {
			continue
		}
		for _, p := range ch.Participants {
			if p.User.ID != me && strings.EqualFold(p.User.Username, name) {
				return ch.ID, nil
			}
		}
	}
	return "", fmt.Errorf("no chat %q in the replica (vibesync chats lists them; sync first, or give its id)", arg)
}

// message resolves a message id, or "last": the user's latest message in
// the chat.
func (s *shell) message(ctx context.Context, chatID, arg string) (string, error) {
	if arg != "last" {
		if !oid.Valid(arg) {
			return "", fmt.Errorf("%q is not a message id (vibesync messages CHAT shows them) or \"last\"", arg)
		}
		return arg, nil
	}
	ms, err := s.c.Messages(ctx, chatID)
	if err != nil {
		return "", err
	}
	me := s.c.UserID(ctx)
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].User.ID == me {
			return ms[i].ID, nil
		}
	}
	return "", errors.New("you have no message in this chat")
}

// password reads a password: $VIBESYNC_PASSWORD, else a prompt without
// echo when standard input is a terminal, else its first line. Never an
// argument: shell history and ps would keep it.
func (s *shell) password(prompt string) (string, error) {
	if pw := s.getenv("VIBESYNC_PASSWORD"); pw != "" {
		return pw, nil
	}
	if f, ok := s.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(s.stderr, "%s: ", prompt)
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if len(pw) == 0 {
			return "", errors.New("no password given")
		}
		return string(pw), nil
	}
	line, err := bufio.NewReader(s.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", errors.New("no password: type it at the prompt, pipe it on standard input, or set VIBESYNC_PASSWORD")
		}
		return "", errors.New("no password given")
	}
	return line, nil
}
