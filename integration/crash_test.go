package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
)

// Crash-load shape: bounded in writers and in time.
const (
	crashRounds     = 20
	crashEditors    = 4                      // each registers one user, then edits its bio in a loop
	crashRegistrars = 2                      // each registers new users in a loop
	crashMinKill    = 100 * time.Millisecond // after the round's first acknowledged write
	crashMaxKill    = 1200 * time.Millisecond
)

// TestCrashSafety kills the server with SIGKILL while concurrent writers
// register users and edit profiles (the kill comes 0.1–1.2 s after the
// round's first acknowledged write, so writes are always in flight), then
// checks the database the dead server left on its volume and the server
// restarted on it:
//   - every write that got a success answer is there (registrations, the
//     last acknowledged bio edit, the sessions behind issued tokens);
//   - a write whose answer was lost is either wholly there or wholly absent;
//   - every user row has exactly its change-feed row, with the same data;
//   - feed positions continue without gaps: the feed's sequence equals the
//     number of committed feed writes, its newest position is a live row,
//     and it never goes back across crashes.
//
// It repeats crashRounds times on the same volume (3 with -short).
func TestCrashSafety(t *testing.T) {
	needDocker(t)
	rounds := crashRounds
	if testing.Short() {
		rounds = 3
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	srv := startServer(t, serverOptions{volume: newVolume(t)})
	led := &ledger{users: map[string]*tracked{}}
	var head int64

	// The observer is a user whose bio one writer edits in every round and
	// whose client (the client package, through a front door that follows
	// the server's port) syncs after every restart.
	oa := srv.register(t, "Crash Observer", "crash.observer")
	observer := &tracked{id: oa.ID, username: oa.Username, password: oa.Password, token: oa.Token, editor: true, known: true}
	led.add(observer)
	obs := openClient(t, newFrontDoor(t, srv).URL)
	if _, err := obs.Login(t.Context(), oa.Username, oa.Password); err != nil {
		t.Fatalf("observer login: %v", err)
	}
	var cursor int64
	syncObserver(t, obs, observer, &cursor)

	for round := 1; round <= rounds; round++ {
		killAfter := crashMinKill + time.Duration(rng.Int64N(int64(crashMaxKill-crashMinKill)))
		ok := t.Run(fmt.Sprintf("round_%02d", round), func(t *testing.T) {
			l := startLoad(srv.URL(), round, led, observer)
			select {
			case <-l.firstAck:
			case <-time.After(30 * time.Second):
			}
			time.Sleep(killAfter)
			srv.kill(t)
			l.wait()
			for _, f := range l.failures {
				t.Errorf("during load: %s", f)
			}
			if l.acked == 0 {
				t.Fatal("no write was acknowledged before the kill")
			}
			var lostCommitted int
			head, lostCommitted = checkDisk(t, srv.copyData(t), led, head)
			srv.start(t)
			checkServed(t, srv, led, round)
			syncObserver(t, obs, observer, &cursor)
			t.Logf("killed after %s: %d writes acknowledged, %d answers lost (%d of those committed); feed head %d, %d users",
				killAfter, l.acked, l.lost, lostCommitted, head, len(led.users))
		})
		if !ok {
			break
		}
	}
}

// tracked is what the writers know about one user.
type tracked struct {
	round    int
	id       string
	username string
	password string
	token    string
	editor   bool
	acked    int  // highest bio edit acknowledged (0: none)
	sent     int  // highest bio edit sent
	known    bool // registration acknowledged, or found on disk after a lost answer
}

// ledger is every write the load generators made, across rounds.
type ledger struct {
	mu    sync.Mutex
	users map[string]*tracked // by username
}

func (l *ledger) add(u *tracked) {
	l.mu.Lock()
	l.users[u.username] = u
	l.mu.Unlock()
}

func (l *ledger) update(fn func()) {
	l.mu.Lock()
	fn()
	l.mu.Unlock()
}

// load is one round of concurrent writers against a base URL.
type load struct {
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	firstAck chan struct{} // closed at the first acknowledged write
	client   *http.Client
	mu       sync.Mutex
	acked    int
	lost     int
	failures []string
}

// startLoad starts the writers; they stop at their first transport error
// (the server died) or after 20s, whichever comes first.
func startLoad(base string, round int, led *ledger, observer *tracked) *load {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: crashEditors + crashRegistrars}}
	l := &load{cancel: cancel, firstAck: make(chan struct{}), client: client}
	post := func(method, path, token string, body any) (int, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var out authBody
		if res.StatusCode == http.StatusCreated {
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
				return 0, err
			}
			if out.User.ID == "" || out.AccessToken == "" {
				return 0, fmt.Errorf("incomplete registration answer")
			}
			led.update(func() {
				u := led.users[out.User.Username]
				u.id, u.token, u.known = out.User.ID, out.AccessToken, true
			})
		}
		return res.StatusCode, nil
	}
	// result records one answer; it reports whether the writer goes on.
	result := func(what string, status, want int, err error) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case err != nil:
			l.lost++
			return false
		case status != want:
			l.failures = append(l.failures, fmt.Sprintf("%s: status %d, want %d", what, status, want))
			return false
		}
		if l.acked++; l.acked == 1 {
			close(l.firstAck)
		}
		return true
	}
	register := func(u *tracked) bool {
		led.add(u)
		status, err := post("POST", "/auth/register", "", map[string]string{"name": "Crash " + u.username, "username": u.username, "password": u.password})
		return result("register "+u.username, status, http.StatusCreated, err)
	}
	// edit edits u's bio in sequence, after the last edit u has durably.
	edit := func(u *tracked) {
		var n int
		led.update(func() { n = u.acked })
		for n++; ctx.Err() == nil; n++ {
			led.update(func() { u.sent = n })
			status, err := post("PATCH", "/users/me", u.token, map[string]string{"bio": "edit " + strconv.Itoa(n)})
			if !result("edit "+u.username, status, http.StatusOK, err) {
				return
			}
			led.update(func() { u.acked = n })
		}
	}
	for i := range crashEditors {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			u := &tracked{round: round, username: fmt.Sprintf("crash.r%02d.e%d", round, i), password: "crash password", editor: true}
			if register(u) {
				edit(u)
			}
		}()
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		edit(observer)
	}()
	for i := range crashRegistrars {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for k := 1; ctx.Err() == nil; k++ {
				u := &tracked{round: round, username: fmt.Sprintf("crash.r%02d.g%d.%d", round, i, k), password: "crash password"}
				if !register(u) {
					return
				}
			}
		}()
	}
	return l
}

func (l *load) wait() {
	l.wg.Wait()
	l.cancel()
	l.client.CloseIdleConnections()
}

// checkDisk opens the database the killed server left behind (a copy of
// its volume) with the store package and checks it against the ledger. It
// returns the feed head and how many writes whose answer was lost had
// committed.
func checkDisk(t *testing.T, dir string, led *ledger, prevHead int64) (int64, int) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.ToSlash(filepath.Join(dir, "vibesync.db"))})
	if err != nil {
		t.Fatalf("open the crashed database: %v", err)
	}
	defer db.Close()
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("crashed database: %v", err)
	}
	var users []store.User
	var changes []store.Change
	var head int64
	err = db.Read(ctx, func(tx *store.Tx) (err error) {
		if users, _, err = tx.FindUsers(ctx, store.UserFilter{Limit: 1 << 20}); err != nil {
			return err
		}
		buckets := make([]string, len(users))
		for i, u := range users {
			buckets[i] = social.UserBucket(u.ID)
		}
		if changes, err = tx.Changes(ctx, store.ChangeFilter{Buckets: buckets, Limit: 1 << 20}); err != nil {
			return err
		}
		head, err = tx.FeedHead(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("read the crashed database: %v", err)
	}

	led.mu.Lock()
	defer led.mu.Unlock()
	lostCommitted := 0
	onDisk := make(map[string]store.User, len(users))
	for _, u := range users {
		onDisk[u.Username] = u
	}
	// Every acknowledged registration is there; every user there was written
	// by the load (a lost answer may still have committed).
	for _, tr := range led.users {
		u, ok := onDisk[tr.username]
		switch {
		case tr.known && !ok:
			t.Errorf("acknowledged registration of %s (%s) is missing", tr.username, tr.id)
		case ok && tr.id != "" && u.ID != tr.id:
			t.Errorf("%s has id %s on disk, %s was acknowledged", tr.username, u.ID, tr.id)
		case ok && !tr.known:
			tr.id, tr.known = u.ID, true // committed, answer lost: a whole write
			lostCommitted++
		}
	}
	var committed int64
	for _, u := range users {
		tr, ok := led.users[u.Username]
		if !ok {
			t.Errorf("user %s on disk was never registered by the load", u.Username)
			continue
		}
		edits := 0
		if u.Bio != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(u.Bio, "edit "))
			if err != nil || !tr.editor {
				t.Errorf("%s has bio %q, which no writer sent", u.Username, u.Bio)
			}
			edits = n
		}
		// Edits are sequential: the one on disk is at least the last
		// acknowledged and at most the last sent.
		if edits < tr.acked || edits > tr.sent {
			t.Errorf("%s has edit %d on disk; %d was acknowledged, %d sent", u.Username, edits, tr.acked, tr.sent)
		}
		if edits > tr.acked {
			lostCommitted++
		}
		tr.acked, tr.sent = edits, edits // what is durable now; later rounds must keep it
		committed += 1 + int64(edits)
	}

	// Each user has exactly its feed row, carrying what the users table holds.
	rows := make(map[string][]store.Change)
	var maxSeq int64
	for _, c := range changes {
		rows[c.Bucket] = append(rows[c.Bucket], c)
		maxSeq = max(maxSeq, c.Seq)
	}
	for _, u := range users {
		rs := rows[social.UserBucket(u.ID)]
		if len(rs) != 1 || rs[0].Entity != social.EntityUser || rs[0].EntityID != u.ID || rs[0].Op != store.OpUpsert {
			t.Errorf("%s: feed rows %+v, want one upsert of its user", u.Username, rs)
			continue
		}
		var got social.User
		if err := json.Unmarshal(rs[0].Data, &got); err != nil {
			t.Errorf("%s: feed data %s: %v", u.Username, rs[0].Data, err)
			continue
		}
		if want := (social.User{ID: u.ID, Name: u.Name, Username: u.Username, Bio: u.Bio, Photo: u.Photo}); got != want {
			t.Errorf("%s: feed row %+v, users row %+v", u.Username, got, want)
		}
	}
	// Each committed registration and edit drew exactly one feed position
	// (a registration writes the user's row; an edit re-writes it, and these
	// users have no connections whose rows embed the profile), so the
	// sequence equals their count: no position lost, none reused. A change
	// that makes these writes touch more feed rows must update this count.
	if head != committed {
		t.Errorf("feed head %d, but %d feed writes committed", head, committed)
	}
	if maxSeq != head {
		t.Errorf("newest feed row has seq %d, feed head is %d", maxSeq, head)
	}
	if head < prevHead {
		t.Errorf("feed head went back from %d to %d across the crash", prevHead, head)
	}
	return head, lostCommitted
}

// checkServed checks what the restarted server answers: tokens issued
// before the kill still work (their sessions were committed), profiles read
// back as on disk, every user can be found, and a user registered this
// round logs in with the password.
func checkServed(t *testing.T, srv *server, led *ledger, round int) {
	t.Helper()
	led.mu.Lock()
	var mine []*tracked
	var viewer string // any token issued by the server
	total := 0
	for _, tr := range led.users {
		if !tr.known {
			continue
		}
		total++
		if tr.token != "" {
			viewer = tr.token
		}
		if tr.round == round {
			mine = append(mine, tr)
		}
	}
	led.mu.Unlock()
	if len(mine) == 0 {
		return
	}
	for _, tr := range mine {
		if tr.token == "" {
			continue // committed, but its answer (the token) was lost
		}
		me := srv.me(t, tr.token)
		if want := bioOf(tr); me.ID != tr.id || me.Bio != want {
			t.Errorf("%s after restart: %+v, want id %s bio %q", tr.username, me, tr.id, want)
		}
	}
	var list struct{ Count int }
	srv.do(t, "GET", "/users?search=crash.&limit=1", viewer, nil).Want(http.StatusOK).Decode(&list)
	if list.Count != total-1 {
		t.Errorf("search finds %d other users, want %d", list.Count, total-1)
	}
	a := account{ID: mine[0].id, Username: mine[0].username, Password: mine[0].password}
	srv.login(t, &a)
}

func bioOf(tr *tracked) string {
	if tr.acked == 0 {
		return ""
	}
	return "edit " + strconv.Itoa(tr.acked)
}

// syncObserver syncs the observer's client and checks it against what the
// server holds durably: the replica shows the observer's last durable bio,
// and the feed position it reached never goes back across crashes.
func syncObserver(t *testing.T, obs *client.Client, observer *tracked, cursor *int64) {
	t.Helper()
	res, err := obs.Sync(t.Context())
	if err != nil {
		t.Fatalf("observer sync: %v", err)
	}
	if res.Reset {
		t.Errorf("observer's replica was reset after the restart")
	}
	if res.Cursor < *cursor {
		t.Errorf("observer's feed position went back from %d to %d", *cursor, res.Cursor)
	}
	*cursor = res.Cursor
	me, err := obs.Me(t.Context())
	if err != nil {
		t.Fatalf("observer replica: %v", err)
	}
	if want := bioOf(observer); me.Bio != want {
		t.Errorf("observer's replica has bio %q, the server %q", me.Bio, want)
	}
}
