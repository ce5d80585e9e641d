// Package client is the offline-first Go client of vibesync: a local
// SQLite replica of everything the user may read, kept current by the sync
// protocol (vibesync.sync.v1.SyncService), with mutations applied
// optimistically and queued in an outbox until the server has them.
//
// Reads (Me, Connections, Chats, Messages, …) come from the replica and
// work offline. Writes (SendMessage, UpdateProfile, …) change the replica
// and queue the mutation in one local transaction; Sync pushes the outbox
// and pulls the feed; Run keeps doing so, woken by the server's Subscribe
// stream, backing off while the server is unreachable. A mutation the
// server rejects is reported (Options.OnRejected, Rejections) and its
// optimistic effects disappear.
//
// Several processes may share one data folder (a CLI command while
// `vibesync watch` runs): the replica is one SQLite file, token refreshes
// are serialized through it, and a mutation pushed twice is applied once.
package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// ProtocolVersion is the sync protocol version this client speaks.
const ProtocolVersion = 1

// Errors callers can test with errors.Is.
var (
	// ErrNotLoggedIn: no session in the data folder; Register or Login.
	ErrNotLoggedIn = errors.New("client: not logged in")
	// ErrSessionEnded: the server refused the refresh token (expired,
	// revoked, reused); log in again. Queued mutations are kept.
	ErrSessionEnded = errors.New("client: session ended; log in again")
	// ErrOffline: the server could not be reached; queued work is kept.
	ErrOffline = errors.New("client: server unreachable")
	// ErrIncompatible: the server does not speak this client's protocol.
	ErrIncompatible = errors.New("client: the server speaks another sync protocol version")
	// ErrMutationIDReused: the server refused this replica's mutation ids
	// as already used even after the replica took a new client id.
	ErrMutationIDReused = errors.New("client: mutation ids refused as reused")
)

// DefaultPageSize is the pull page size unless Options says otherwise:
// the most the server answers in one page. Pages are staged and applied
// in one local transaction at the checkpoint, so fewer, larger pages cost
// the server fewer queries and the replica nothing more.
const DefaultPageSize = 5000

// Options configures Open.
type Options struct {
	// Server is the server's base URL, e.g. "http://127.0.0.1:8080".
	// Empty: the server the data folder was last logged in to, else
	// DefaultServer. A data folder logged in to one server never sends its
	// tokens to another: authenticated calls answer *OtherServerError
	// (reads from the replica and queued writes still work).
	Server string
	// Dir is the data folder: it holds replica.db (the replica, the outbox,
	// the session tokens). Created if missing.
	Dir string
	// HTTPClient makes the requests (default: a client with a 30s timeout
	// for unary calls; Subscribe streams are not bounded).
	HTTPClient *http.Client
	// OnRejected is told about each mutation the server rejected, once,
	// after its optimistic effects were removed. Called from Sync.
	OnRejected func(Rejection)
	// OnRekeyed is told when the server had already seen this replica's
	// mutation ids with other content (the data folder was restored from
	// a backup or copied to another device) and the replica took a new
	// client id; the queued mutations are pushed again, nothing is lost.
	// Called from Sync.
	OnRekeyed func()
	// Label names this device in the user's session list ("Pixel 8 /
	// vibesync 1.4"); sent at login and registration, at most 100
	// characters.
	Label string
	// OnSync is told after every successful Sync.
	OnSync func(SyncResult)
	// OnStatus is told the sync status each time it changes: a Sync
	// starts or ends, a push or a pull page completes, a change is
	// queued. Called synchronously; it must not call Sync.
	OnStatus func(Status)
	// PageSize is the pull page size (default DefaultPageSize).
	PageSize int
	// Window is how many of each chat's newest messages a pull that reads
	// the chat from the beginning brings (the first sync, a chat joined, a
	// reset); 0 means DefaultWindow, WindowAll (any negative) every
	// message. Older messages come with History; everything that arrives
	// later is kept until Evict.
	Window int
	// Now is the clock for display timestamps (default time.Now).
	Now func() time.Time
	// Log receives diagnostics (default: discarded).
	Log *slog.Logger
}

// Client is an open replica. Safe for concurrent use.
type Client struct {
	opts   Options
	db     *sql.DB
	http   *http.Client
	stream *http.Client
	rpc    syncv1connect.SyncServiceClient
	live   syncv1connect.SyncServiceClient
	syncMu sync.Mutex    // one Sync at a time per process
	kick   chan struct{} // a local write or a poke wakes Run
	prog   progress      // this process's sync in progress
}

// Open opens (or creates) the replica in opts.Dir.
func Open(ctx context.Context, opts Options) (*Client, error) {
	if opts.Dir == "" {
		return nil, errors.New("client: Dir is required")
	}
	opts.Server = strings.TrimRight(opts.Server, "/")
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("client: data folder: %w", err)
	}
	db, err := openReplica(ctx, filepath.Join(opts.Dir, "replica.db"))
	if err != nil {
		return nil, err
	}
	c := &Client{opts: opts, db: db, kick: make(chan struct{}, 1)}
	if err := c.tx(ctx, func(tx *sql.Tx) error {
		if c.opts.Server == "" {
			var s session
			if err := getMetaJSON(ctx, tx, "session", &s); err != nil {
				return err
			}
			c.opts.Server = cmp.Or(s.Server, DefaultServer)
		}
		id, err := getMeta(ctx, tx, "client_id")
		if err != nil || id != "" {
			return err
		}
		return setMeta(ctx, tx, "client_id", newClientID())
	}); err != nil {
		db.Close()
		return nil, err
	}
	c.http = opts.HTTPClient
	c.stream = opts.HTTPClient
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
		c.stream = &http.Client{}
	}
	c.rpc = syncv1connect.NewSyncServiceClient(c.http, c.opts.Server, connect.WithInterceptors(c.bearer()))
	c.live = syncv1connect.NewSyncServiceClient(c.stream, c.opts.Server)
	return c, nil
}

// DefaultServer is the server of a data folder never logged in, when
// Options.Server is empty: the server's default address.
const DefaultServer = "http://127.0.0.1:8080"

// Server is the server this client talks to.
func (c *Client) Server() string { return c.opts.Server }

// Account says who the data folder is logged in as, and where.
type Account struct {
	Server   string // the server of the last login ("" if never)
	UserID   string
	LoggedIn bool // false after Logout or a refused refresh
}

// Account reads the data folder's login.
func (c *Client) Account(ctx context.Context) (Account, error) {
	var s session
	if err := getMetaJSON(ctx, c.db, "session", &s); err != nil {
		return Account{}, err
	}
	return Account{Server: s.Server, UserID: s.UserID, LoggedIn: s.RefreshToken != ""}, nil
}

// OtherServerError answers an authenticated call made through a client
// whose server is not the one the data folder is logged in to.
type OtherServerError struct {
	Server   string // this client's server
	LoggedIn string // the login's server
}

func (e *OtherServerError) Error() string {
	return fmt.Sprintf("client: this data folder is logged in to %s, not %s; its tokens are not sent elsewhere", e.LoggedIn, e.Server)
}

// Close closes the replica.
func (c *Client) Close() error { return c.db.Close() }

// session is what the data folder keeps of a login.
type session struct {
	Server       string    `json:"server"`
	UserID       string    `json:"userId"`
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

func (c *Client) session(ctx context.Context, q querier) (session, error) {
	var s session
	if err := getMetaJSON(ctx, q, "session", &s); err != nil {
		return session{}, err
	}
	if s.RefreshToken == "" {
		return session{}, ErrNotLoggedIn
	}
	if s.Server != c.opts.Server {
		return session{}, &OtherServerError{Server: c.opts.Server, LoggedIn: s.Server}
	}
	return s, nil
}

// UserID is the logged-in user's id ("" when logged out).
func (c *Client) UserID(ctx context.Context) string {
	var s session
	if err := getMetaJSON(ctx, c.db, "session", &s); err != nil || s.RefreshToken == "" {
		return ""
	}
	return s.UserID
}

type authAnswer struct {
	User         User   `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// APIError is an error answer of the REST API.
type APIError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfter is the server's Retry-After (429 rate limited, 503
	// busy): how long to wait before trying again; zero when not given.
	RetryAfter time.Duration `json:"-"`
}

func (e *APIError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%s (%d %s; retry after %s)", e.Message, e.Status, e.Code, e.RetryAfter)
	}
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code)
}

// MaxRetryWait is the longest Retry-After the client waits out by itself
// (up to twice per call) before answering; a longer one comes back as the
// error (an *APIError with RetryAfter, or an RPC error RetryAfterOf reads)
// and Run waits it out before syncing again.
const MaxRetryWait = 10 * time.Second

// RetryAfterOf is the wait the server asked for with err (Retry-After on
// a 429 or 503, REST or RPC), or zero.
func RetryAfterOf(err error) time.Duration {
	var api *APIError
	if errors.As(err, &api) {
		return api.RetryAfter
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return parseRetryAfter(ce.Meta().Get("Retry-After"))
	}
	return 0
}

// parseRetryAfter reads a Retry-After in seconds (the server's form) or
// as an HTTP date; zero when absent or unreadable.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// honourRetryAfter runs attempt, and while it fails with a Retry-After
// of at most MaxRetryWait, waits that long (or until ctx ends) and runs
// it again, twice at most.
func honourRetryAfter(ctx context.Context, attempt func() error) error {
	for tries := 0; ; tries++ {
		err := attempt()
		wait := RetryAfterOf(err)
		if err == nil || wait <= 0 || wait > MaxRetryWait || tries == 2 {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// rest calls a JSON endpoint of the REST API, waiting out a short
// Retry-After.
func (c *Client) rest(ctx context.Context, method, path, token string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
	}
	return honourRetryAfter(ctx, func() error { return c.restOnce(ctx, method, path, token, body, in != nil, out) })
}

func (c *Client) restOnce(ctx context.Context, method, path, token string, body []byte, hasBody bool, out any) error {
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.opts.Server+path, rd)
	if err != nil {
		return err
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOffline, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOffline, err)
	}
	if res.StatusCode >= 300 {
		e := &APIError{Status: res.StatusCode, RetryAfter: parseRetryAfter(res.Header.Get("Retry-After"))}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = http.StatusText(res.StatusCode)
		}
		return e
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Register creates an account and logs this replica in as it.
func (c *Client) Register(ctx context.Context, name, username, password string) (User, error) {
	var a authAnswer
	if err := c.rest(ctx, "POST", "/auth/register", "", map[string]string{"name": name, "username": username, "password": password, "client": c.opts.Label}, &a); err != nil {
		return User{}, err
	}
	return a.User, c.saveLogin(ctx, a)
}

// Login logs this replica in. Logging in as another user than the
// replica's previous one starts from an empty replica and outbox.
func (c *Client) Login(ctx context.Context, username, password string) (User, error) {
	var a authAnswer
	if err := c.rest(ctx, "POST", "/auth/login", "", map[string]string{"username": username, "password": password, "client": c.opts.Label}, &a); err != nil {
		return User{}, err
	}
	return a.User, c.saveLogin(ctx, a)
}

func (c *Client) saveLogin(ctx context.Context, a authAnswer) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		var prev session
		if err := getMetaJSON(ctx, tx, "session", &prev); err != nil {
			return err
		}
		if prev.UserID != a.User.ID || prev.Server != c.opts.Server {
			if err := wipe(ctx, tx, true); err != nil {
				return err
			}
		}
		if err := setMeta(ctx, tx, "refresh_lease", "0"); err != nil {
			return err
		}
		return setMetaJSON(ctx, tx, "session", session{Server: c.opts.Server, UserID: a.User.ID,
			AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, ExpiresAt: c.opts.Now().Add(14 * time.Minute)})
	})
}

// wipe empties the replica (and, for another user, the outbox and the
// client id too: mutations belong to the user who made them).
func wipe(ctx context.Context, tx *sql.Tx, everything bool) error {
	stmts := []string{`DELETE FROM rows`, `DELETE FROM windows`, `DELETE FROM meta WHERE key IN ('cursor', 'buckets', 'pull')`, `DELETE FROM staged`}
	if everything {
		stmts = append(stmts, `DELETE FROM overlay`, `DELETE FROM outbox`, `DELETE FROM rejections`, `DELETE FROM meta WHERE key = 'last_sync'`)
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("client: wipe: %w", err)
		}
	}
	if everything {
		return setMeta(ctx, tx, "client_id", newClientID())
	}
	return nil
}

// newClientID is a random client id (128 bits, hex). crypto/rand.Read
// never fails (it crashes the program instead).
func newClientID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Logout ends the session on the server and forgets its tokens (the
// replica and outbox stay for the next login of the same user). The
// tokens are forgotten whatever happens; when the server could not be
// told, the error wraps ErrOffline (or says why) and the session there
// lasts until it expires or is ended from another device.
func (c *Client) Logout(ctx context.Context) error {
	s, err := c.session(ctx, c.db)
	if err != nil {
		return err
	}
	tok, told := c.accessToken(ctx, "")
	if told == nil {
		told = c.rest(ctx, "POST", "/auth/logout", tok, nil, nil)
	}
	if err := c.tx(ctx, func(tx *sql.Tx) error {
		var now session
		if err := getMetaJSON(ctx, tx, "session", &now); err != nil {
			return err
		}
		if now.UserID == s.UserID {
			now.AccessToken, now.RefreshToken = "", ""
		}
		return setMetaJSON(ctx, tx, "session", now)
	}); err != nil {
		return err
	}
	if errors.Is(told, ErrSessionEnded) {
		return nil // the server had ended it already
	}
	return told
}

// refreshLease is how long a process may take to refresh the session
// before another one sharing the data folder may try: longer than the
// default request timeout.
const refreshLease = 45 * time.Second

// accessToken returns a usable access token, refreshing it first when it
// has expired (or force is set because the server refused it). Processes
// sharing the data folder never both spend one refresh token (which the
// server would treat as theft and end the session): a refresh first takes
// a lease in the replica, and the network call runs outside any replica
// transaction, so reads and queued writes never wait for it, however slow
// or unreachable the server is.
func (c *Client) accessToken(ctx context.Context, force string) (string, error) {
	s, err := c.session(ctx, c.db)
	if err != nil {
		return "", err
	}
	if force == "" && s.AccessToken != "" && c.opts.Now().Before(s.ExpiresAt) {
		return s.AccessToken, nil
	}
	for {
		var token string
		var claim session
		claimed := false
		err := c.tx(ctx, func(tx *sql.Tx) error {
			s, err := c.session(ctx, tx)
			if err != nil {
				return err
			}
			if s.AccessToken != force && s.AccessToken != "" && c.opts.Now().Before(s.ExpiresAt) {
				token = s.AccessToken // another process refreshed meanwhile
				return nil
			}
			lease, err := getMetaInt(ctx, tx, "refresh_lease")
			if err != nil {
				return err
			}
			if now := time.Now(); now.UnixMilli() >= lease {
				claim, claimed = s, true
				return setMeta(ctx, tx, "refresh_lease", strconv.FormatInt(now.Add(refreshLease).UnixMilli(), 10))
			}
			return nil
		})
		switch {
		case err != nil:
			return "", err
		case token != "":
			return token, nil
		case claimed:
			return c.refresh(ctx, claim)
		}
		// Another process is refreshing: wait for its tokens.
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
	}
}

// refresh spends the claimed session's refresh token, stores what it got
// (unless the session changed meanwhile: a new login wins) and releases
// the lease.
func (c *Client) refresh(ctx context.Context, claim session) (string, error) {
	var a authAnswer
	callErr := c.rest(ctx, "POST", "/auth/refresh", "", map[string]string{"refreshToken": claim.RefreshToken}, &a)
	var api *APIError
	refused := errors.As(callErr, &api) && (api.Status == http.StatusUnauthorized || api.Status == http.StatusBadRequest)
	var token string
	changed := false
	// Released and stored even when ctx has ended: tokens the server
	// rotated must not be lost.
	wctx := context.WithoutCancel(ctx)
	txErr := c.tx(wctx, func(tx *sql.Tx) error {
		if err := setMeta(wctx, tx, "refresh_lease", "0"); err != nil {
			return err
		}
		var s session
		if err := getMetaJSON(wctx, tx, "session", &s); err != nil {
			return err
		}
		if s.RefreshToken != claim.RefreshToken || s.UserID != claim.UserID {
			token, changed = s.AccessToken, true // logged out or in again meanwhile
			return nil
		}
		switch {
		case refused:
			s.AccessToken, s.RefreshToken = "", ""
		case callErr == nil:
			s.AccessToken, s.RefreshToken, s.ExpiresAt = a.AccessToken, a.RefreshToken, c.opts.Now().Add(14*time.Minute)
			token = s.AccessToken
		default:
			return nil
		}
		return setMetaJSON(wctx, tx, "session", s)
	})
	switch {
	case txErr != nil:
		return "", txErr
	case changed && token == "":
		return "", ErrNotLoggedIn
	case changed:
		return token, nil
	case refused && api.Code == syncv1.ReasonAccountDeleted:
		if err := c.forgetAccount(ctx); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: %w", ErrAccountDeleted, ErrSessionEnded)
	case refused:
		return "", fmt.Errorf("%w: %s", ErrSessionEnded, api.Message)
	case callErr != nil:
		return "", callErr
	}
	return token, nil
}

type tokenKey struct{}

// bearer sets the access token on unary calls.
func (c *Client) bearer() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if tok, _ := ctx.Value(tokenKey{}).(string); tok != "" {
				req.Header().Set("Authorization", "Bearer "+tok)
			}
			return next(ctx, req)
		}
	}
}

// call runs an RPC with a valid access token; a 401 triggers exactly one
// refresh and one retry, never a loop.
// heldToken is an access token held between calls, with its expiry.
type heldToken struct {
	token   string
	expires time.Time
}

// callWith is call with the access token kept in *tok between calls (read
// when empty, refreshed once after a 401), for a caller that must not wait
// on the replica for each request.
func callWith[T any](ctx context.Context, c *Client, tok *heldToken, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if tok.token == "" || !c.opts.Now().Before(tok.expires) {
		t, err := c.accessToken(ctx, "")
		if err != nil {
			return zero, err
		}
		s, err := c.session(ctx, c.db)
		if err != nil {
			return zero, err
		}
		tok.token, tok.expires = t, s.ExpiresAt
	}
	var out T
	attempt := func() (err error) {
		out, err = fn(context.WithValue(ctx, tokenKey{}, tok.token))
		return err
	}
	err := honourRetryAfter(ctx, attempt)
	if connect.CodeOf(err) == connect.CodeUnauthenticated {
		t, err := c.accessToken(ctx, tok.token)
		if err != nil {
			return zero, err
		}
		tok.token, tok.expires = t, c.opts.Now().Add(time.Minute)
		err = honourRetryAfter(ctx, attempt)
		return out, rpcError(err)
	}
	return out, rpcError(err)
}

func call[T any](ctx context.Context, c *Client, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return zero, err
	}
	var out T
	attempt := func() (err error) {
		out, err = fn(context.WithValue(ctx, tokenKey{}, tok))
		return err
	}
	err = honourRetryAfter(ctx, attempt)
	if connect.CodeOf(err) == connect.CodeUnauthenticated {
		if tok, err = c.accessToken(ctx, tok); err != nil {
			return zero, err
		}
		err = honourRetryAfter(ctx, attempt)
	}
	return out, rpcError(err)
}

// rpcError classifies transport failures.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded:
		return fmt.Errorf("%w: %w", ErrOffline, err)
	case connect.CodeUnauthenticated:
		return fmt.Errorf("%w: %v", ErrSessionEnded, err)
	case connect.CodeFailedPrecondition:
		var ce *connect.Error
		if errors.As(err, &ce) && reason(err) == syncv1.ReasonProtocolVersionUnsupported {
			return fmt.Errorf("%w: %s", ErrIncompatible, ce.Message())
		}
	}
	return err
}

// reason is the machine-readable reason of an RPC error ("" if none).
func reason(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Meta().Get(syncv1.ReasonKey)
	}
	return ""
}

// SearchUsers asks the server (online only) for users whose name or
// username contains query.
func (c *Client) SearchUsers(ctx context.Context, query string) ([]User, error) {
	var out struct {
		Users []User `json:"users"`
	}
	get := func(tok string) error {
		return c.rest(ctx, "GET", "/users?limit=100&search="+url.QueryEscape(query), tok, nil, &out)
	}
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return nil, err
	}
	err = get(tok)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusUnauthorized {
		if tok, err = c.accessToken(ctx, tok); err != nil {
			return nil, err
		}
		err = get(tok)
	}
	return out.Users, err
}
