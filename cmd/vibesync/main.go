// Command vibesync is the command-line client of vibesync, a thin shell
// over package client. It keeps a local replica in --data, works offline
// (writes queue and are delivered, exactly once, by the next sync) and
// syncs with the server at --server.
//
//	vibesync [--server URL] [--data DIR] COMMAND [ARGS]
//
//	register USERNAME PASSWORD [NAME]  create an account and log in
//	login USERNAME PASSWORD            log in
//	sync [--verify]                    push queued changes, pull the server's
//	status                             outbox size, last sync, cursors
//	me                                 your profile
//	connections [pending|accepted]     your connections and requests
//	connect USER [MESSAGE]             send a connection request
//	accept USER                        accept a request
//	chat USER                          start a one-to-one chat
//	chats [SEARCH]                     your chats, with unread counts
//	messages CHAT                      a chat's messages
//	send CHAT TEXT                     send a message
//	watch                              keep syncing and print what arrives
//
// USER is a user id or a username; CHAT is a chat id, a chat name, or for
// a one-to-one chat the other user's username.
// --server and --data default to $VIBESYNC_SERVER (else
// http://127.0.0.1:8080) and $VIBESYNC_DATA (else ~/.vibesync).
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
	"time"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/oid"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vibesync:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: vibesync [--server URL] [--data DIR] COMMAND [ARGS]

commands: register USERNAME PASSWORD [NAME] | login USERNAME PASSWORD |
  sync [--verify] | status | me | connections [pending|accepted] |
  connect USER [MESSAGE] | accept USER | chat USER | chats [SEARCH] | messages CHAT |
  send CHAT TEXT | watch`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vibesync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	server := fs.String("server", or(getenv("VIBESYNC_SERVER"), "http://127.0.0.1:8080"), "server URL ($VIBESYNC_SERVER)")
	home, _ := os.UserHomeDir()
	data := fs.String("data", or(getenv("VIBESYNC_DATA"), filepath.Join(home, ".vibesync")), "data folder ($VIBESYNC_DATA)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	cmd, args := args[0], args[1:]
	var rejected []client.Rejection
	var onSync func(client.SyncResult)
	c, err := client.Open(ctx, client.Options{Server: *server, Dir: *data,
		Log:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnRejected: func(r client.Rejection) { rejected = append(rejected, r) },
		OnSync: func(r client.SyncResult) {
			if onSync != nil {
				onSync(r)
			}
		}})
	if err != nil {
		return err
	}
	defer c.Close()
	sh := &shell{c: c, out: stdout}
	defer func() {
		for _, r := range rejected {
			fmt.Fprintf(stderr, "rejected by the server: %s #%d: %s (%s)\n", r.Kind, r.MutationID, r.Message, or(r.Reason, r.Code))
		}
	}()
	need := func(n int, what string) error {
		if len(args) < n {
			return fmt.Errorf("usage: vibesync %s %s", cmd, what)
		}
		return nil
	}
	switch cmd {
	case "register":
		if err := need(2, "USERNAME PASSWORD [NAME]"); err != nil {
			return err
		}
		name := args[0]
		if len(args) > 2 {
			name = strings.Join(args[2:], " ")
		}
		u, err := c.Register(ctx, name, args[0], args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "registered %s (%s)\n", u.Username, u.ID)
		return sh.syncQuietly(ctx)
	case "login":
		if err := need(2, "USERNAME PASSWORD"); err != nil {
			return err
		}
		u, err := c.Login(ctx, args[0], args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "logged in as %s (%s)\n", u.Username, u.ID)
		return sh.syncQuietly(ctx)
	case "sync":
		verify := len(args) > 0 && args[0] == "--verify"
		sync := c.Sync
		if verify {
			sync = c.Verify
		}
		res, err := sync(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pushed %d, rejected %d, pulled %d changes; cursor %d", res.Pushed, len(res.Rejected), res.Pulled, res.Cursor)
		if res.Pending > 0 {
			fmt.Fprintf(stdout, "; %d still queued", res.Pending)
		}
		if len(res.Drifted) > 0 {
			fmt.Fprintf(stdout, "; repaired %s", strings.Join(res.Drifted, ", "))
		}
		if res.Rekeyed {
			fmt.Fprint(stdout, "; another copy of this data folder had used its mutation ids: took a new client id and pushed again")
		}
		fmt.Fprintln(stdout)
		return nil
	case "status":
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		printStatus(stdout, *server, st)
		return nil
	case "me":
		u, err := c.Me(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s (@%s) %s\n", u.Name, u.Username, u.ID)
		if u.Bio != "" {
			fmt.Fprintln(stdout, u.Bio)
		}
		return nil
	case "connections":
		status := ""
		if len(args) > 0 {
			status = args[0]
		}
		cs, err := c.Connections(ctx, status)
		if err != nil {
			return err
		}
		for _, cn := range cs {
			fmt.Fprintf(stdout, "%-9s @%s (%s)\n", cn.Status, or(cn.User.Username, "?"), cn.User.ID)
		}
		return nil
	case "connect", "accept":
		if err := need(1, "USER"); err != nil {
			return err
		}
		id, err := sh.user(ctx, args[0])
		if err != nil {
			return err
		}
		if cmd == "connect" {
			_, err = c.Connect(ctx, id, strings.Join(args[1:], " "))
		} else {
			err = c.Accept(ctx, id)
		}
		if err != nil {
			return err
		}
		return sh.deliver(ctx)
	case "chat":
		if err := need(1, "USER"); err != nil {
			return err
		}
		id, err := sh.user(ctx, args[0])
		if err != nil {
			return err
		}
		if err := c.CreateChat(ctx, client.NewChat{Users: []string{id}}); err != nil {
			return err
		}
		return sh.deliver(ctx)
	case "chats":
		chats, err := c.Chats(ctx, strings.Join(args, " "))
		if err != nil {
			return err
		}
		for _, ch := range chats {
			last := ""
			if ch.LastMessage != nil {
				last = "  " + ch.LastMessage.User.Username + ": " + ch.LastMessage.Text
			}
			fmt.Fprintf(stdout, "%s  %-24s %3d unread%s\n", ch.ID, ch.Name, ch.Unread, last)
		}
		return nil
	case "messages":
		if err := need(1, "CHAT"); err != nil {
			return err
		}
		id, err := sh.chat(ctx, args[0])
		if err != nil {
			return err
		}
		ms, err := c.Messages(ctx, id)
		if err != nil {
			return err
		}
		for _, m := range ms {
			mark := ""
			if m.Pending {
				mark = " (queued)"
			}
			fmt.Fprintf(stdout, "%s  @%s: %s%s\n", m.At.Local().Format(time.DateTime), m.User.Username, m.Text, mark)
		}
		return nil
	case "send":
		if err := need(2, "CHAT TEXT"); err != nil {
			return err
		}
		id, err := sh.chat(ctx, args[0])
		if err != nil {
			return err
		}
		if _, err := c.SendMessage(ctx, id, strings.Join(args[1:], " ")); err != nil {
			return err
		}
		return sh.deliver(ctx)
	case "watch":
		fmt.Fprintln(stdout, "watching; Ctrl-C stops")
		onSync = func(r client.SyncResult) {
			for _, rj := range rejected {
				fmt.Fprintf(stdout, "%s rejected: %s #%d: %s\n", time.Now().Format(time.TimeOnly), rj.Kind, rj.MutationID, rj.Message)
			}
			rejected = nil
			if r.Pushed+r.Pulled > 0 || r.Reset {
				fmt.Fprintf(stdout, "%s synced: pushed %d, pulled %d changes, cursor %d\n", time.Now().Format(time.TimeOnly), r.Pushed, r.Pulled, r.Cursor)
			}
			printArrivals(stdout, r)
		}
		err := c.Run(ctx)
		if err == nil || errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", cmd)
}

type shell struct {
	c   *client.Client
	out io.Writer
}

// deliver tries to sync a write at once; offline, it stays queued.
func (s *shell) deliver(ctx context.Context) error {
	_, err := s.c.Sync(ctx)
	if errors.Is(err, client.ErrOffline) {
		fmt.Fprintln(s.out, "queued (server unreachable); the next sync delivers it")
		return nil
	}
	if err != nil {
		// The write is in the outbox whatever went wrong; say so.
		fmt.Fprintln(s.out, "queued, not delivered yet")
		return err
	}
	fmt.Fprintln(s.out, "synced")
	return nil
}

func (s *shell) syncQuietly(ctx context.Context) error {
	if _, err := s.c.Sync(ctx); err != nil && !errors.Is(err, client.ErrOffline) {
		return err
	}
	return nil
}

// user resolves an id or a username: first among the replica's
// connections (works offline), then by asking the server.
func (s *shell) user(ctx context.Context, arg string) (string, error) {
	if oid.Valid(arg) {
		return arg, nil
	}
	name := strings.TrimPrefix(arg, "@")
	cs, err := s.c.Connections(ctx, "")
	if err != nil {
		return "", err
	}
	for _, cn := range cs {
		if strings.EqualFold(cn.User.Username, name) {
			return cn.User.ID, nil
		}
	}
	users, err := s.c.SearchUsers(ctx, name)
	if err != nil {
		return "", fmt.Errorf("look up %q: %w", name, err)
	}
	for _, u := range users {
		if strings.EqualFold(u.Username, name) {
			return u.ID, nil
		}
	}
	return "", fmt.Errorf("no user %q", name)
}

// chat resolves a chat id or a chat name from the replica.
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
	return "", fmt.Errorf("no chat %q in the replica (sync first, or give its id)", arg)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// printStatus shows the sync status: connection, queue, progress, last
// sync and error, then the replica's bookkeeping.
func printStatus(w io.Writer, server string, st client.Status) {
	last := "never"
	if !st.LastSync.IsZero() {
		last = st.LastSync.Local().Format(time.DateTime)
	}
	state := "offline (the last sync could not reach the server)"
	switch {
	case st.Online:
		state = "online"
	case st.LastSync.IsZero() && st.LastError == "":
		state = "not synced yet"
	}
	fmt.Fprintf(w, "user:      %s\nserver:    %s\nstate:     %s\nclient id: %s\noutbox:    %d queued, %d awaiting the next pull\n",
		or(st.UserID, "(logged out)"), server, state, st.ClientID, st.Outbox, st.Awaiting)
	if st.Downloading {
		fmt.Fprintf(w, "download:  %d of %d changes\n", st.Received, st.Total)
	}
	fmt.Fprintf(w, "last sync: %s\n", last)
	if st.LastError != "" {
		fmt.Fprintf(w, "last error: %s\n", st.LastError)
	}
	if st.Rejections > 0 {
		fmt.Fprintf(w, "rejected:  %d changes the server refused (see: vibesync rejections)\n", st.Rejections)
	}
	fmt.Fprintf(w, "cursor:    %d\nbuckets:   %d (%d rows)\n", st.Cursor, len(st.Buckets), st.Rows)
	for _, b := range st.Buckets {
		fmt.Fprintf(w, "  %s\n", b)
	}
}

// printArrivals shows what a sync brought, one line each.
func printArrivals(w io.Writer, r client.SyncResult) {
	for _, a := range r.Arrived {
		if a.Deleted {
			fmt.Fprintf(w, "  - %s %s removed\n", a.Entity, a.ID)
			continue
		}
		fmt.Fprintf(w, "  + %s %s\n", a.Entity, or(a.Summary, a.ID))
	}
	if more := r.Pulled - len(r.Arrived); more > 0 {
		fmt.Fprintf(w, "  … and %d earlier changes\n", more)
	}
}
