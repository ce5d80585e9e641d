// Command vibesync is the command-line client of vibesync, a thin shell
// over package client. It keeps a local replica in --data, works offline
// (writes show at once, queue, and are delivered exactly once by the next
// sync) and syncs with the server the data folder logged in to.
//
//	vibesync [--server URL] [--data DIR] COMMAND [ARGS]
//	vibesync help [COMMAND]
//
// `vibesync help` lists every command, one line each. USER is a user id or
// a username; CHAT is a chat id, a chat name, or for a one-to-one chat the
// other user's username. Passwords are never arguments: they come from
// $VIBESYNC_PASSWORD, else a prompt without echo on a terminal, else the
// first line of standard input.
//
// --data defaults to $VIBESYNC_DATA, else ~/.vibesync. The server is the
// one the data folder logged in to; --server (or $VIBESYNC_SERVER) names it
// for register and login, and is refused when it names another server than
// the login's (log out first).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vibesync/vibesync/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vibesync:", err)
		}
		os.Exit(1)
	}
}

// env is what a run reads and writes besides its arguments.
type env struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

const usageLine = "usage: vibesync [--server URL] [--data DIR] COMMAND [ARGS]  (vibesync help: every command)"

func run(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("vibesync", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprintln(e.stderr, usageLine); fs.PrintDefaults() }
	server := fs.String("server", e.getenv("VIBESYNC_SERVER"), "server URL, for register and login ($VIBESYNC_SERVER; default: the login's server, else "+client.DefaultServer+")")
	home, _ := os.UserHomeDir()
	data := fs.String("data", or(e.getenv("VIBESYNC_DATA"), filepath.Join(home, ".vibesync")), "data folder ($VIBESYNC_DATA)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	name, args := args[0], args[1:]
	if name == "help" || name == "-h" || name == "--help" {
		return help(e.stdout, args)
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintln(e.stderr, usageLine)
		return fmt.Errorf("unknown command %q (vibesync help lists them)", name)
	}
	if len(args) < cmd.min || (cmd.max >= 0 && len(args) > cmd.max) {
		return fmt.Errorf("usage: vibesync %s %s", cmd.name, cmd.args)
	}

	sh := &shell{env: e}
	c, err := client.Open(ctx, client.Options{Server: strings.TrimRight(*server, "/"), Dir: *data, Label: "vibesync CLI",
		Log:        slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnRejected: func(r client.Rejection) { sh.rejected = append(sh.rejected, r) },
		OnSync: func(r client.SyncResult) {
			if sh.onSync != nil {
				sh.onSync(r)
			}
		}})
	if err != nil {
		return err
	}
	defer c.Close()
	sh.c = c
	if err := sh.checkServer(ctx, cmd.name); err != nil {
		return err
	}
	defer func() {
		for _, r := range sh.rejected {
			fmt.Fprintln(e.stderr, describeRejection(r))
		}
	}()
	err = cmd.run(ctx, sh, args)
	if errors.Is(err, client.ErrOffline) && !cmd.offline {
		return fmt.Errorf("%s needs the server, and %s is unreachable; try again once online (%w)", cmd.name, c.Server(), err)
	}
	return err
}

// checkServer refuses a --server other than the login's: the data
// folder's tokens, replica and queued writes belong to that server. Only
// register and login on a logged-out folder may move it to another.
func (s *shell) checkServer(ctx context.Context, cmd string) error {
	acct, err := s.c.Account(ctx)
	if err != nil || acct.Server == "" || acct.Server == s.c.Server() {
		return err
	}
	if !acct.LoggedIn && (cmd == "register" || cmd == "login") {
		return nil
	}
	how := "log out first (vibesync logout) to log in there, leave --server out, or use another --data folder"
	if !acct.LoggedIn {
		how = "log in there (vibesync --server " + s.c.Server() + " login USERNAME), leave --server out, or use another --data folder"
	}
	return fmt.Errorf("this data folder belongs to %s, not %s: %s", acct.Server, s.c.Server(), how)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
