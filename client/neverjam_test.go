package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// realGroup creates, through the REST API, a group of owner with members
// (owner follows them first, so they may be added).
func realGroup(t *testing.T, env *servertest.Env, owner servertest.User, name string, members ...servertest.User) string {
	t.Helper()
	ids := []string{}
	for _, m := range members {
		env.Do("POST", "/users/"+m.ID+"/follow", owner.Token, nil).Want(200)
		ids = append(ids, m.ID)
	}
	var out struct {
		Chat struct {
			ID string `json:"_id"`
		} `json:"chat"`
	}
	env.Do("POST", "/chats", owner.Token, map[string]any{"isGroup": true, "name": name, "category": "Study", "participants": ids}).Want(201).Decode(&out)
	return out.Chat.ID
}

// recordingNet counts pushes and remembers the HTTP status of each answer;
// with failPush set it answers every push itself with a server error.
type recordingNet struct {
	mu       sync.Mutex
	down     bool
	failPush bool
	losePush bool  // lose the answer of the next push, after the server ran it
	statuses []int // of push answers, in order
}

func (n *recordingNet) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	down, fail := n.down, n.failPush
	n.mu.Unlock()
	if down {
		return nil, errors.New("network is down")
	}
	if fail && r.URL.Path == pushPath {
		io.Copy(io.Discard, r.Body)
		return &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"code":"internal","message":"the database is on fire"}`)), Request: r}, nil
	}
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.URL.Path == pushPath {
		n.mu.Lock()
		n.statuses = append(n.statuses, res.StatusCode)
		lose := n.losePush
		n.losePush = false
		n.mu.Unlock()
		if lose {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return nil, errors.New("connection reset after the server answered")
		}
	}
	return res, err
}

func (n *recordingNet) set(fn func(n *recordingNet)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fn(n)
}

func (n *recordingNet) pushes() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]int(nil), n.statuses...)
}

func openRecorded(t *testing.T, env *servertest.Env, u servertest.User, rejected *[]Rejection) (*Client, *recordingNet) {
	t.Helper()
	net := &recordingNet{}
	c, err := Open(context.Background(), Options{Server: env.URL, Dir: t.TempDir(), HTTPClient: &http.Client{Transport: net},
		Now: env.Clock.Now, OnRejected: func(r Rejection) { *rejected = append(*rejected, r) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Login(context.Background(), u.Username, u.Password); err != nil {
		t.Fatal(err)
	}
	return c, net
}

// queueRaw puts a send_message straight into the outbox, as a client
// without the local checks (an older version, another implementation)
// would have queued it.
func queueRaw(t *testing.T, c *Client, chat, text string) int64 {
	t.Helper()
	var id int64
	err := c.db.QueryRow(`INSERT INTO outbox (kind, body, created_at) VALUES ('send_message', x'', 0) RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	body, err := proto.Marshal(&syncv1.Mutation{Id: id, Kind: &syncv1.Mutation_SendMessage{SendMessage: &syncv1.SendMessage{
		MessageId: oid.New(), ChatId: chat, Text: text}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Exec(`UPDATE outbox SET body = ? WHERE id = ?`, body, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func serverTexts(t *testing.T, env *servertest.Env, u servertest.User, chat string) []string {
	t.Helper()
	var out struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	var login struct {
		AccessToken string `json:"accessToken"`
	}
	env.Do("POST", "/auth/login", "", map[string]string{"username": u.Username, "password": u.Password}).Want(200).Decode(&login)
	env.Do("GET", "/chats/"+chat+"/messages?limit=100", login.AccessToken, nil).Want(200).Decode(&out)
	var texts []string
	for _, m := range out.Messages {
		texts = append(texts, m.Text)
	}
	return texts
}

func outboxLen(t *testing.T, c *Client) int {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Outbox
}

// F1: a change the server would refuse for its size is refused on the
// device at once (nothing queued), and what was queued around it is
// delivered.
func TestOversizedChangeIsRefusedLocallyAndNeverQueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	var rejected []Rejection
	c, net := openRecorded(t, env, amy, &rejected)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	net.set(func(n *recordingNet) { n.down = true })
	if _, err := c.SendMessage(ctx, chat, "before"); err != nil {
		t.Fatal(err)
	}
	_, err := c.SendMessage(ctx, chat, strings.Repeat("x", 9_000_000))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "at most 4000") {
		t.Fatalf("9,000,000 characters: err %v, want ErrRefused naming the limit", err)
	}
	if _, err := c.SendMessage(ctx, chat, strings.Repeat("é", 4001)); !errors.Is(err, ErrRefused) {
		t.Fatalf("4,001 characters: err %v, want ErrRefused", err)
	}
	if _, err := c.SendMessage(ctx, chat, "   "); !errors.Is(err, ErrRefused) {
		t.Fatalf("blank message: err %v, want ErrRefused", err)
	}
	if _, err := c.Mutate(ctx, &syncv1.Mutation{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("mutation without a kind: err %v, want ErrRefused", err)
	}
	long := strings.Repeat("n", 101)
	if _, err := c.UpdateProfile(ctx, ProfileUpdate{Name: &long}); !errors.Is(err, ErrRefused) {
		t.Fatalf("101-character name: err %v, want ErrRefused", err)
	}
	if _, err := c.SendMessage(ctx, chat, strings.Repeat("é", 4000)); err != nil {
		t.Fatalf("4,000 characters refused: %v", err)
	}
	if n := outboxLen(t, c); n != 2 {
		t.Fatalf("outbox holds %d mutations, want the 2 valid ones", n)
	}
	ms, err := c.Messages(ctx, chat)
	if err != nil || len(ms) != 2 {
		t.Fatalf("replica shows %d messages (%v), want the 2 queued", len(ms), err)
	}
	net.set(func(n *recordingNet) { n.down = false })
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed != 2 || len(res.Rejected) != 0 || len(rejected) != 0 {
		t.Fatalf("pushed %d, rejected %v", res.Pushed, res.Rejected)
	}
	if got := serverTexts(t, env, bob, chat); len(got) != 2 {
		t.Fatalf("server holds %d messages, want 2", len(got))
	}
}

// F1: a push the server refuses as a whole (one mutation in it is larger
// than a request may be) is split until that mutation is alone; it alone
// is recorded rejected and reported, everything else goes through, and
// the same Sync still pulls.
func TestOneOversizedQueuedChangeNeverJamsTheOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	var rejected []Rejection
	c, net := openRecorded(t, env, amy, &rejected)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	queueRaw(t, c, chat, "first")
	culprit := queueRaw(t, c, chat, strings.Repeat("x", 9_000_000))
	for range 12 {
		queueRaw(t, c, chat, "after")
	}
	// Bob writes meanwhile: the same Sync must bring it.
	env.Do("POST", "/chats/"+chat+"/messages", bob.Token, map[string]any{"text": "from bob"}).Want(201)

	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if res.Pushed != 13 {
		t.Fatalf("pushed %d, want the 13 valid messages", res.Pushed)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].MutationID != culprit || res.Rejected[0].Reason != "mutation_too_large" ||
		res.Rejected[0].Kind != "send_message" || res.Rejected[0].Code != "too_large" {
		t.Fatalf("rejected %+v, want mutation %d alone as mutation_too_large", res.Rejected, culprit)
	}
	if len(rejected) != 1 || rejected[0].MutationID != culprit {
		t.Fatalf("reported %+v", rejected)
	}
	if got := serverTexts(t, env, bob, chat); len(got) != 14 {
		t.Fatalf("server holds %d messages, want 13 pushed + 1 of bob's", len(got))
	}
	ms, err := c.Messages(ctx, chat)
	if err != nil {
		t.Fatal(err)
	}
	var fromBob bool
	for _, m := range ms {
		fromBob = fromBob || m.Text == "from bob"
	}
	if !fromBob {
		t.Fatal("the Sync that pushed did not pull bob's message")
	}
	if n := outboxLen(t, c); n != 0 {
		t.Fatalf("outbox still holds %d", n)
	}
	before := len(net.pushes())
	if res, err := c.Sync(ctx); err != nil || res.Pushed != 0 || len(res.Rejected) != 0 {
		t.Fatalf("second sync: %+v %v", res, err)
	}
	if after := len(net.pushes()); after != before {
		t.Fatalf("second sync pushed %d more times", after-before)
	}
}

// F1: pushes are bounded by bytes as well as count, so ninety 100 KB
// messages queued together never make a push the server refuses whole;
// the server rejects each one (too long) and nothing jams.
func TestPushBatchesStayUnderTheServersRequestLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	var rejected []Rejection
	c, net := openRecorded(t, env, amy, &rejected)
	for range 90 {
		queueRaw(t, c, chat, strings.Repeat("y", 100_000))
	}
	queueRaw(t, c, chat, "fine")
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range net.pushes() {
		if st != http.StatusOK {
			t.Errorf("push %d answered HTTP %d: a batch exceeded the server's limit", i+1, st)
		}
	}
	if n := len(net.pushes()); n < 3 {
		t.Errorf("%d pushes carried 9 MB; the server reads at most 8 MiB per request", n)
	}
	if res.Pushed != 1 || len(res.Rejected) != 90 || len(rejected) != 90 {
		t.Fatalf("pushed %d, rejected %d (reported %d), want 1 and 90", res.Pushed, len(res.Rejected), len(rejected))
	}
	for _, r := range res.Rejected {
		if r.Code != "invalid" || r.Field != "text" {
			t.Fatalf("rejection %+v, want the server's invalid text", r)
		}
	}
	if got := serverTexts(t, env, bob, chat); len(got) != 1 || got[0] != "fine" {
		t.Fatalf("server holds %q", got)
	}
}

// F1: a push that fails for any other reason (here a server error) keeps
// its mutations queued, and the Sync still pulls.
func TestFailingPushNeverSkipsThePull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	chat := realGroup(t, env, amy, "Hikers", bob)
	var rejected []Rejection
	c, net := openRecorded(t, env, amy, &rejected)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(ctx, chat, "mine"); err != nil {
		t.Fatal(err)
	}
	env.Do("POST", "/chats/"+chat+"/messages", bob.Token, map[string]any{"text": "from bob"}).Want(201)
	net.set(func(n *recordingNet) { n.failPush = true })
	if _, err := c.Sync(ctx); err == nil || !strings.Contains(err.Error(), "on fire") {
		t.Fatalf("sync: err %v, want the push's failure", err)
	}
	ms, err := c.Messages(ctx, chat)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range ms {
		texts = append(texts, m.Text)
	}
	if len(ms) != 2 || !strings.Contains(strings.Join(texts, ","), "from bob") {
		t.Fatalf("replica shows %q, want bob's message pulled and mine queued", texts)
	}
	if n := outboxLen(t, c); n != 1 || len(rejected) != 0 {
		t.Fatalf("outbox %d, rejected %v: a failed push must keep its mutation queued", n, rejected)
	}
	net.set(func(n *recordingNet) { n.failPush = false })
	if res, err := c.Sync(ctx); err != nil || res.Pushed != 1 {
		t.Fatalf("sync after the server recovered: %+v %v", res, err)
	}
}
