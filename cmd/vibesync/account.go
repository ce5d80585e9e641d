package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
)

// Account commands: password, sessions, delete-account, export. They
// talk to the server directly (nothing here is queued offline) and read
// passwords the way login does, never from the command line.

var accountCommands = []command{
	{name: "password", args: "", summary: "change your password (current and new: prompt, stdin lines or $VIBESYNC_PASSWORD / $VIBESYNC_NEW_PASSWORD)", max: 0, run: changePassword,
		doc: "Your other sessions end; this one stays. Piped, standard input gives the current password on its first line and the new one on its second."},
	{name: "sessions", args: "[end ID|others]", summary: "where you are logged in; end one session, or all but this one", max: 2, run: sessions,
		doc: "Ending a session logs that device out at once; its live connections close within the server's heartbeat."},
	{name: "delete-account", args: "", summary: "delete your account for good (password: prompt, stdin or $VIBESYNC_PASSWORD)", max: 0, run: deleteAccount,
		doc: "What is removed and what others keep seeing is described in the server's docs/DECISIONS.md. This data folder is wiped."},
	{name: "export", args: "FILE", summary: "download all your data as one JSON file (- for standard output)", min: 1, max: 1, run: export},
}

func init() {
	// Listed before help.
	commands = append(commands[:len(commands)-1], append(accountCommands, commands[len(commands)-1])...)
}

// newPassword reads the current and the new password: from
// $VIBESYNC_PASSWORD and $VIBESYNC_NEW_PASSWORD, else prompts without echo
// on a terminal (the new one twice), else lines of standard input.
func (s *shell) newPassword() (current, next string, err error) {
	current, next = s.getenv("VIBESYNC_PASSWORD"), s.getenv("VIBESYNC_NEW_PASSWORD")
	if f, ok := s.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprintf(s.stderr, "%s: ", prompt)
			pw, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(s.stderr)
			if err != nil {
				return "", fmt.Errorf("read password: %w", err)
			}
			return string(pw), nil
		}
		if current == "" {
			if current, err = ask("current password"); err != nil {
				return "", "", err
			}
		}
		if next == "" {
			if next, err = ask("new password"); err != nil {
				return "", "", err
			}
			again, err := ask("new password again")
			if err != nil {
				return "", "", err
			}
			if again != next {
				return "", "", errors.New("the new passwords differ; nothing changed")
			}
		}
	} else if current == "" || next == "" {
		in := bufio.NewReader(s.stdin)
		line := func() string {
			l, _ := in.ReadString('\n')
			return strings.TrimRight(l, "\r\n")
		}
		if current == "" {
			current = line()
		}
		if next == "" {
			next = line()
		}
	}
	if current == "" || next == "" {
		return "", "", errors.New("no password: type them at the prompts, pipe the current and the new one on two lines, or set VIBESYNC_PASSWORD and VIBESYNC_NEW_PASSWORD")
	}
	return current, next, nil
}

func changePassword(ctx context.Context, s *shell, _ []string) error {
	current, next, err := s.newPassword()
	if err != nil {
		return err
	}
	if err := s.c.ChangePassword(ctx, current, next); err != nil {
		return err
	}
	fmt.Fprintln(s.stdout, "password changed; your other sessions have ended")
	return nil
}

func sessions(ctx context.Context, s *shell, args []string) error {
	switch {
	case len(args) == 0:
		list, err := s.c.Sessions(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCLIENT\tCREATED\tLAST USED\t")
		for _, x := range list {
			label, mark := or(x.Client, "-"), ""
			if x.Current {
				mark = "(this device)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.ID, label, x.CreatedAt.Local().Format("2006-01-02 15:04"),
				x.LastUsedAt.Local().Format("2006-01-02 15:04"), mark)
		}
		return tw.Flush()
	case len(args) == 2 && args[0] == "end" && args[1] == "others":
		n, err := s.c.EndOtherSessions(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "ended %d other sessions\n", n)
		return nil
	case len(args) == 2 && args[0] == "end":
		if err := s.c.EndSession(ctx, args[1]); err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "ended session %s\n", args[1])
		return nil
	}
	return errors.New("usage: vibesync sessions [end ID|others]")
}

func deleteAccount(ctx context.Context, s *shell, _ []string) error {
	acct, err := s.c.Account(ctx)
	if err != nil {
		return err
	}
	if f, ok := s.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(s.stderr, "This deletes your account on "+acct.Server+" for good: your profile, connections and requests go,")
		fmt.Fprintln(s.stderr, "your messages stay in others' chats as \"Deleted user\". Type your password to confirm.")
	}
	pw, err := s.password("password")
	if err != nil {
		return err
	}
	if err := s.c.DeleteAccount(ctx, pw); err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "account %s deleted; this data folder was wiped\n", acct.UserID)
	return nil
}

// export writes the archive to a temporary file next to FILE and renames
// it into place once complete, so FILE is never a partial archive.
func export(ctx context.Context, s *shell, args []string) error {
	if args[0] == "-" {
		_, err := s.c.Export(ctx, s.stdout)
		return err
	}
	dst := args[0]
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	n, err := s.c.Export(ctx, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	fmt.Fprintf(s.stdout, "exported %d bytes to %s\n", n, dst)
	return nil
}
