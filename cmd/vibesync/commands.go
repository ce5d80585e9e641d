package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vibesync/vibesync/client"
)

// command is one vibesync command.
type command struct {
	name    string
	args    string // the arguments, as usage shows them
	summary string // one line for help
	doc     string // more for help COMMAND (optional)
	min     int    // fewest arguments
	max     int    // most arguments (-1: any)
	run     func(ctx context.Context, s *shell, args []string) error
	// offline: the command works without the server (it reads the
	// replica, or queues its write); the others need it.
	offline bool
}

// commands in the order help lists them.
var commands = []command{
	{name: "register", args: "USERNAME [NAME]", summary: "create an account and log in (password: prompt, stdin or $VIBESYNC_PASSWORD)", min: 1, max: -1, run: register,
		doc: "NAME defaults to USERNAME. --server names the server; the data folder remembers it for every later command."},
	{name: "login", args: "USERNAME", summary: "log in (password: prompt, stdin or $VIBESYNC_PASSWORD)", min: 1, max: 1, run: login,
		doc: "Logging in as another user than the data folder's last one starts from an empty replica."},
	{name: "logout", offline: true, args: "", summary: "end the session on the server and forget its tokens", max: 0, run: logout,
		doc: "The replica and queued writes stay for the next login of the same user."},
	{name: "sync", args: "[--verify]", summary: "push queued changes, pull the server's", max: 1, run: syncCmd,
		doc: "--verify compares every bucket's checksum with the server's and re-reads those that differ."},
	{name: "status", offline: true, args: "", summary: "the session, outbox size, last sync, cursors", max: 0, run: status},
	{name: "watch", args: "", summary: "keep syncing and print what arrives (Ctrl-C stops)", max: 0, run: watch},
	{name: "me", offline: true, args: "", summary: "your profile", max: 0, run: me},
	{name: "profile", offline: true, args: "[--name NAME] [--username USERNAME] [--bio BIO] [--photo URL]", summary: "show your profile, or edit it", max: -1, run: profile,
		doc: "--photo takes the URL of a photo already hosted; an empty URL removes it."},
	{name: "connections", offline: true, args: "[pending|accepted]", summary: "your connections and requests", max: 1, run: connections},
	{name: "connect", offline: true, args: "USER [MESSAGE]", summary: "send a connection request", min: 1, max: -1, run: connect},
	{name: "accept", offline: true, args: "USER", summary: "accept USER's connection request", min: 1, max: 1, run: accept},
	{name: "decline", offline: true, args: "USER", summary: "decline USER's connection request", min: 1, max: 1, run: decline},
	{name: "disconnect", offline: true, args: "USER", summary: "remove a connection, or cancel or decline a request, with USER", min: 1, max: 1, run: disconnect},
	{name: "follow", offline: true, args: "USER", summary: "follow USER", min: 1, max: 1, run: follow},
	{name: "unfollow", offline: true, args: "USER", summary: "stop following USER", min: 1, max: 1, run: unfollow},
	{name: "block", offline: true, args: "USER", summary: "block USER", min: 1, max: 1, run: block},
	{name: "unblock", offline: true, args: "USER", summary: "lift a block", min: 1, max: 1, run: unblock},
	{name: "meetme", offline: true, args: "TEXT [MINUTES]|off", summary: "set your meet-me status (default 60 minutes), or clear it", min: 1, max: -1, run: meetme,
		doc: "MINUTES is 1 to 1440. The last argument is taken as MINUTES when it is a number."},
	{name: "chat", offline: true, args: "USER", summary: "start a one-to-one chat with USER", min: 1, max: 1, run: chat},
	{name: "group", offline: true, args: "create [--category CATEGORY] NAME [USER...]", summary: "create a group chat with the users you name", min: 2, max: -1, run: group,
		doc: "CATEGORY defaults to Friends. The group shows at once, under the id this device gives it; messages and changes to it may follow offline."},
	{name: "chats", offline: true, args: "[SEARCH]", summary: "your chats, with unread counts", max: -1, run: chats},
	{name: "messages", offline: true, args: "CHAT", summary: "a chat's messages, with their ids", min: 1, max: 1, run: messages,
		doc: "Shows the messages the replica holds: a chat's newest ones arrive with sync, older ones with vibesync history."},
	{name: "history", args: "CHAT [N]", summary: "fetch up to N (default 100) of a chat's messages older than the replica holds", min: 1, max: 2, run: history,
		doc: "What it fetches stays in the replica, readable offline, until vibesync evict."},
	{name: "evict", offline: true, args: "CHAT KEEP", summary: "drop a chat's messages from the replica but the newest KEEP", min: 2, max: 2, run: evict,
		doc: "The server keeps them: vibesync history fetches them again. Unread counts stay exact."},
	{name: "send", offline: true, args: "CHAT TEXT", summary: "send a message", min: 2, max: -1, run: send},
	{name: "read", offline: true, args: "CHAT", summary: "mark a chat read", min: 1, max: 1, run: read},
	{name: "delete", offline: true, args: "CHAT MESSAGE", summary: "delete a message (yours, or any in a group you administer)", min: 2, max: 2, run: deleteMessage,
		doc: "MESSAGE is a message id (vibesync messages CHAT shows them) or \"last\" for your latest message in CHAT."},
	{name: "rename", offline: true, args: "CHAT NAME", summary: "rename a group (admins)", min: 2, max: -1, run: rename},
	{name: "add", offline: true, args: "CHAT USER...", summary: "add users to a group", min: 2, max: -1, run: add},
	{name: "remove", offline: true, args: "CHAT USER", summary: "remove a user from a group (admins)", min: 2, max: 2, run: remove},
	{name: "admin", offline: true, args: "CHAT USER on|off", summary: "grant or revoke a participant's admin rights", min: 3, max: 3, run: admin},
	{name: "leave", offline: true, args: "CHAT", summary: "leave a chat", min: 1, max: 1, run: leave},
	{name: "join", offline: true, args: "CHAT_ID", summary: "join an open group", min: 1, max: 1, run: join},
	{name: "request", offline: true, args: "CHAT_ID", summary: "ask to join a restricted group", min: 1, max: 1, run: requestJoin},
	{name: "requests", offline: true, args: "[approve|reject REQUEST_ID]", summary: "join requests: yours and those to groups you administer; answer one", max: 2, run: requests},
	{name: "notifications", offline: true, args: "[read ID|all]", summary: "your notifications; mark one or all read", max: 2, run: notifications},
	{name: "rejections", offline: true, args: "", summary: "changes the server refused, or whose outcome is unknown, kept with what you wrote", max: 0, run: rejectionsCmd},
	{name: "retry", offline: true, args: "N", summary: "queue rejected change #N again", min: 1, max: 1, run: retry},
	{name: "dismiss", offline: true, args: "N", summary: "give rejected change #N up", min: 1, max: 1, run: dismiss},
	{name: "help", args: "[COMMAND]", summary: "every command, or one command in detail", max: 1},
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// help lists every command, one line each, or describes one.
func help(w io.Writer, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(w, "usage: vibesync [--server URL] [--data DIR] COMMAND [ARGS]")
		fmt.Fprintln(w)
		for _, c := range commands {
			fmt.Fprintf(w, "  %-60s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "USER: a user id or username. CHAT: a chat id, a chat name, or the other user's username.")
		fmt.Fprintln(w, "Writes work offline: they show at once and the next sync delivers them.")
		return nil
	}
	c, ok := lookup(args[0])
	if !ok {
		return fmt.Errorf("unknown command %q (vibesync help lists them)", args[0])
	}
	fmt.Fprintf(w, "usage: vibesync %s\n\n%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	if c.doc != "" {
		fmt.Fprintf(w, "\n%s\n", c.doc)
	}
	switch {
	case c.name == "help":
	case c.offline:
		fmt.Fprintln(w, "\nWorks offline.")
	default:
		fmt.Fprintln(w, "\nNeeds the server.")
	}
	return nil
}

// shell is what a command works with.
type shell struct {
	env
	c        *client.Client
	rejected []client.Rejection
	onSync   func(client.SyncResult)
}

// deliver tries to sync a write at once; offline, it stays queued.
func (s *shell) deliver(ctx context.Context) error {
	_, err := s.c.Sync(ctx)
	if errors.Is(err, client.ErrOffline) {
		fmt.Fprintln(s.stdout, "queued (server unreachable); the next sync delivers it")
		return nil
	}
	if err != nil {
		// The write is in the outbox whatever went wrong; say so.
		fmt.Fprintln(s.stdout, "queued, not delivered yet")
		return err
	}
	fmt.Fprintln(s.stdout, "synced")
	return nil
}

func (s *shell) syncQuietly(ctx context.Context) error {
	if _, err := s.c.Sync(ctx); err != nil && !errors.Is(err, client.ErrOffline) {
		return err
	}
	return nil
}

func register(ctx context.Context, s *shell, args []string) error {
	name := args[0]
	if len(args) > 1 {
		name = strings.Join(args[1:], " ")
	}
	pw, err := s.password("password for the new account " + args[0])
	if err != nil {
		return err
	}
	u, err := s.c.Register(ctx, name, args[0], pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "registered %s (%s) on %s\n", u.Username, u.ID, s.c.Server())
	return s.syncQuietly(ctx)
}

func login(ctx context.Context, s *shell, args []string) error {
	pw, err := s.password("password for " + args[0])
	if err != nil {
		return err
	}
	u, err := s.c.Login(ctx, args[0], pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "logged in as %s (%s) on %s\n", u.Username, u.ID, s.c.Server())
	return s.syncQuietly(ctx)
}

func logout(ctx context.Context, s *shell, _ []string) error {
	err := s.c.Logout(ctx)
	if errors.Is(err, client.ErrOffline) {
		fmt.Fprintf(s.stdout, "logged out here; %s is unreachable, so the session there lasts until it expires (vibesync sessions end ID from another device ends it sooner)\n", s.c.Server())
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "logged out of %s\n", s.c.Server())
	return nil
}

func syncCmd(ctx context.Context, s *shell, args []string) error {
	sync := s.c.Sync
	if len(args) > 0 {
		if args[0] != "--verify" {
			return errors.New("usage: vibesync sync [--verify]")
		}
		sync = s.c.Verify
	}
	res, err := sync(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "pushed %d, rejected %d, pulled %d changes; cursor %d", res.Pushed, len(res.Rejected), res.Pulled, res.Cursor)
	if res.Pending > 0 {
		fmt.Fprintf(s.stdout, "; %d still queued", res.Pending)
	}
	if len(res.Drifted) > 0 {
		fmt.Fprintf(s.stdout, "; repaired %s", strings.Join(res.Drifted, ", "))
	}
	if res.Rekeyed {
		fmt.Fprint(s.stdout, "; another copy of this data folder had used its mutation ids: took a new client id and pushed again")
	}
	fmt.Fprintln(s.stdout)
	return nil
}

func status(ctx context.Context, s *shell, _ []string) error {
	st, err := s.c.Status(ctx)
	if err != nil {
		return err
	}
	printStatus(s.stdout, s.c.Server(), st)
	return nil
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

func watch(ctx context.Context, s *shell, _ []string) error {
	fmt.Fprintln(s.stdout, "watching; Ctrl-C stops")
	s.onSync = func(r client.SyncResult) {
		for _, rj := range s.rejected {
			fmt.Fprintf(s.stdout, "%s %s\n", time.Now().Format(time.TimeOnly), describeRejection(rj))
		}
		s.rejected = nil
		if r.Pushed+r.Pulled > 0 || r.Reset {
			fmt.Fprintf(s.stdout, "%s synced: pushed %d, pulled %d changes, cursor %d\n", time.Now().Format(time.TimeOnly), r.Pushed, r.Pulled, r.Cursor)
		}
		printArrivals(s.stdout, r)
	}
	err := s.c.Run(ctx)
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func me(ctx context.Context, s *shell, _ []string) error {
	u, err := s.c.Me(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "%s (@%s) %s\n", u.Name, u.Username, u.ID)
	if u.Bio != "" {
		fmt.Fprintln(s.stdout, u.Bio)
	}
	if u.Photo != "" {
		fmt.Fprintln(s.stdout, "photo:", u.Photo)
	}
	if u.Status != nil {
		fmt.Fprintf(s.stdout, "meet me: %s (until %s)\n", u.Status.Text, u.Status.ExpiresAt.Local().Format(time.DateTime))
	}
	return nil
}

func profile(ctx context.Context, s *shell, args []string) error {
	fs := flag.NewFlagSet("profile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var upd client.ProfileUpdate
	fs.Func("name", "display name", func(v string) error { upd.Name = &v; return nil })
	fs.Func("username", "username", func(v string) error { upd.Username = &v; return nil })
	fs.Func("bio", "bio", func(v string) error { upd.Bio = &v; return nil })
	fs.Func("photo", "photo URL", func(v string) error { upd.Photo = &v; return nil })
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errors.New("usage: vibesync profile [--name NAME] [--username USERNAME] [--bio BIO] [--photo URL]")
	}
	if upd == (client.ProfileUpdate{}) {
		return me(ctx, s, nil)
	}
	if _, err := s.c.UpdateProfile(ctx, upd); err != nil {
		return err
	}
	if err := me(ctx, s, nil); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func connections(ctx context.Context, s *shell, args []string) error {
	status := ""
	if len(args) > 0 {
		status = args[0]
	}
	cs, err := s.c.Connections(ctx, status)
	if err != nil {
		return err
	}
	for _, cn := range cs {
		fmt.Fprintf(s.stdout, "%-9s @%s (%s)\n", cn.Status, or(cn.User.Username, "?"), cn.User.ID)
	}
	return nil
}

func connect(ctx context.Context, s *shell, args []string) error {
	id, err := s.user(ctx, args[0])
	if err != nil {
		return err
	}
	if _, err := s.c.Connect(ctx, id, strings.Join(args[1:], " ")); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func accept(ctx context.Context, s *shell, args []string) error {
	return s.onUser(ctx, args[0], s.c.Accept)
}

func decline(ctx context.Context, s *shell, args []string) error {
	return s.onUser(ctx, args[0], s.c.Decline)
}

func disconnect(ctx context.Context, s *shell, args []string) error {
	return s.onUser(ctx, args[0], s.c.Disconnect)
}

func (s *shell) onUser(ctx context.Context, arg string, write func(context.Context, string) error) error {
	id, err := s.user(ctx, arg)
	if err != nil {
		return err
	}
	if err := write(ctx, id); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func chat(ctx context.Context, s *shell, args []string) error {
	id, err := s.user(ctx, args[0])
	if err != nil {
		return err
	}
	ch, err := s.c.CreateChat(ctx, client.NewChat{Users: []string{id}})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "chat %s with @%s\n", ch.ID, strings.TrimPrefix(args[0], "@"))
	return s.deliver(ctx)
}

func group(ctx context.Context, s *shell, args []string) error {
	if args[0] != "create" {
		return errors.New("usage: vibesync group create [--category CATEGORY] NAME [USER...]")
	}
	fs := flag.NewFlagSet("group create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	category := fs.String("category", "Friends", "")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() == 0 {
		return errors.New("usage: vibesync group create [--category CATEGORY] NAME [USER...]")
	}
	ids, err := s.users(ctx, fs.Args()[1:])
	if err != nil {
		return err
	}
	ch, err := s.c.CreateChat(ctx, client.NewChat{Group: true, Name: fs.Arg(0), Category: *category, Users: ids})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "group %q is %s, %d participants\n", ch.Name, ch.ID, len(ch.Participants))
	return s.deliver(ctx)
}

func chats(ctx context.Context, s *shell, args []string) error {
	chats, err := s.c.Chats(ctx, strings.Join(args, " "))
	if err != nil {
		return err
	}
	for _, ch := range chats {
		last := ""
		if ch.LastMessage != nil {
			last = "  " + ch.LastMessage.User.Username + ": " + ch.LastMessage.Text
		}
		fmt.Fprintf(s.stdout, "%s  %-24s %3d unread%s\n", ch.ID, ch.Name, ch.Unread, last)
	}
	return nil
}

func messages(ctx context.Context, s *shell, args []string) error {
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	ms, err := s.c.Messages(ctx, id)
	if err != nil {
		return err
	}
	for _, m := range ms {
		mark := ""
		if m.Pending {
			mark = " (queued)"
		}
		fmt.Fprintf(s.stdout, "%s  %s  @%s: %s%s\n", m.At.Local().Format(time.DateTime), m.ID, m.User.Username, m.Text, mark)
	}
	if older, err := s.c.OlderMessages(ctx, id); err == nil && older > 0 {
		fmt.Fprintf(s.stdout, "(%d older messages on the server: vibesync history %s)\n", older, args[0])
	}
	return nil
}

func history(ctx context.Context, s *shell, args []string) error {
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	n := client.DefaultHistoryPage
	if len(args) > 1 {
		if n, err = strconv.Atoi(args[1]); err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("N: %q is not a number from 1 to 1000", args[1])
		}
	}
	res, err := s.c.History(ctx, id, n)
	if err != nil {
		return err
	}
	if res.Complete {
		fmt.Fprintf(s.stdout, "fetched %d older messages; the replica holds every message of this chat\n", res.Fetched)
		return nil
	}
	fmt.Fprintf(s.stdout, "fetched %d older messages; %d older still on the server\n", res.Fetched, res.Older)
	return nil
}

func evict(ctx context.Context, s *shell, args []string) error {
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	keep, err := strconv.Atoi(args[1])
	if err != nil || keep < 0 {
		return fmt.Errorf("KEEP: %q is not a number of messages (0 or more)", args[1])
	}
	n, err := s.c.Evict(ctx, id, keep)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "dropped %d messages from the replica (vibesync history %s fetches them again)\n", n, args[0])
	return nil
}

func send(ctx context.Context, s *shell, args []string) error {
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	if _, err := s.c.SendMessage(ctx, id, strings.Join(args[1:], " ")); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func read(ctx context.Context, s *shell, args []string) error {
	return s.onChat(ctx, args[0], s.c.MarkRead)
}

func deleteMessage(ctx context.Context, s *shell, args []string) error {
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	msg, err := s.message(ctx, id, args[1])
	if err != nil {
		return err
	}
	if err := s.c.DeleteMessage(ctx, id, msg); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func rename(ctx context.Context, s *shell, args []string) error {
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	name := strings.Join(args[1:], " ")
	if err := s.c.UpdateChat(ctx, id, client.ChatUpdate{Name: &name}); err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "renamed %s to %q\n", id, name)
	return s.deliver(ctx)
}

func add(ctx context.Context, s *shell, args []string) error {
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	users, err := s.users(ctx, args[1:])
	if err != nil {
		return err
	}
	if err := s.c.AddParticipants(ctx, id, users...); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func remove(ctx context.Context, s *shell, args []string) error {
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	user, err := s.user(ctx, args[1])
	if err != nil {
		return err
	}
	if err := s.c.RemoveParticipant(ctx, id, user); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func admin(ctx context.Context, s *shell, args []string) error {
	on := args[2] == "on"
	if !on && args[2] != "off" {
		return errors.New("usage: vibesync admin CHAT USER on|off")
	}
	id, err := s.chat(ctx, args[0])
	if err != nil {
		return err
	}
	user, err := s.user(ctx, args[1])
	if err != nil {
		return err
	}
	if err := s.c.SetAdmin(ctx, id, user, on); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func leave(ctx context.Context, s *shell, args []string) error {
	return s.onChat(ctx, args[0], s.c.LeaveChat)
}

func (s *shell) onChat(ctx context.Context, arg string, write func(context.Context, string) error) error {
	id, err := s.chat(ctx, arg)
	if err != nil {
		return err
	}
	if err := write(ctx, id); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func join(ctx context.Context, s *shell, args []string) error {
	if err := s.c.JoinChat(ctx, args[0]); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func requestJoin(ctx context.Context, s *shell, args []string) error {
	r, err := s.c.RequestToJoin(ctx, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(s.stdout, "request %s\n", r.ID)
	return s.deliver(ctx)
}

func requests(ctx context.Context, s *shell, args []string) error {
	if len(args) == 0 {
		rs, err := s.c.Requests(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			fmt.Fprintf(s.stdout, "%s  %-8s @%s  chat %s\n", r.ID, r.Status, or(r.User.Username, r.User.ID), r.Chat)
		}
		return nil
	}
	if len(args) != 2 || (args[0] != "approve" && args[0] != "reject") {
		return errors.New("usage: vibesync requests [approve|reject REQUEST_ID]")
	}
	if err := s.c.AnswerJoinRequest(ctx, args[1], args[0] == "approve"); err != nil {
		return err
	}
	return s.deliver(ctx)
}

func notifications(ctx context.Context, s *shell, args []string) error {
	if len(args) == 0 {
		ns, err := s.c.Notifications(ctx)
		if err != nil {
			return err
		}
		for _, n := range ns {
			mark := "   "
			if !n.Read {
				mark = "new"
			}
			fmt.Fprintf(s.stdout, "%s  %s  %s  %s  %s\n", n.ID, mark, n.CreatedAt.Local().Format(time.DateTime), n.Type, n.Message)
		}
		return nil
	}
	if len(args) != 2 || args[0] != "read" {
		return errors.New("usage: vibesync notifications [read ID|all]")
	}
	var err error
	if args[1] == "all" {
		err = s.c.ReadAllNotifications(ctx)
	} else {
		err = s.c.ReadNotification(ctx, args[1])
	}
	if err != nil {
		return err
	}
	return s.deliver(ctx)
}

func follow(ctx context.Context, s *shell, args []string) error {
	return s.onUser(ctx, args[0], s.c.Follow)
}

func unfollow(ctx context.Context, s *shell, args []string) error {
	return s.onUser(ctx, args[0], s.c.Unfollow)
}

func block(ctx context.Context, s *shell, args []string) error {
	return s.onUser(ctx, args[0], s.c.Block)
}

func unblock(ctx context.Context, s *shell, args []string) error {
	return s.onUser(ctx, args[0], s.c.Unblock)
}

func meetme(ctx context.Context, s *shell, args []string) error {
	text, minutes := strings.Join(args, " "), 60
	if len(args) > 1 {
		if n, err := strconv.Atoi(args[len(args)-1]); err == nil {
			text, minutes = strings.Join(args[:len(args)-1], " "), n
		}
	}
	if text == "off" {
		text = ""
	} else if minutes < 1 || minutes > 24*60 {
		return errors.New("usage: vibesync meetme TEXT [MINUTES]|off (MINUTES from 1 to 1440)")
	}
	if err := s.c.SetStatus(ctx, text, time.Duration(minutes)*time.Minute); err != nil {
		return err
	}
	return s.deliver(ctx)
}
