package rest_test

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
)

// participantIDs lists the user ids of a chat's participants, read from
// the database.
func participantIDs(t *testing.T, env *servertest.Env, chatID string) []string {
	t.Helper()
	rows, err := rawDB(t, env).Query(`SELECT user_id FROM chat_participants WHERE chat_id = ? ORDER BY user_id`, chatID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// wantBucketIsParticipants fails unless the chat's bucket members are
// exactly its participants, and returns them.
func wantBucketIsParticipants(t *testing.T, env *servertest.Env, chatID string) []string {
	t.Helper()
	parts := participantIDs(t, env, chatID)
	var members []string
	for id := range bucketMembers(t, env, "chat:"+chatID) {
		members = append(members, id)
	}
	sort.Strings(members)
	if strings.Join(parts, ",") != strings.Join(members, ",") {
		t.Fatalf("chat %s: participants %v, bucket members %v", chatID, parts, members)
	}
	return parts
}

func TestBucketMembersFollowParticipants(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, ben, cat, dan, eve := env.Register("Amy"), env.Register("Ben"), env.Register("Cat"), env.Register("Dan"), env.Register("Eve")

	open := group(t, env, amy, "Open", nil, ben)
	if got := wantBucketIsParticipants(t, env, open.ID); len(got) != 2 {
		t.Fatalf("create: %v", got)
	}
	env.Do("POST", "/chats/"+open.ID+"/participants", cat.Token, nil).Want(http.StatusCreated)
	if got := wantBucketIsParticipants(t, env, open.ID); len(got) != 3 {
		t.Fatalf("join: %v", got)
	}
	follow(t, env, amy, dan)
	follow(t, env, amy, eve)
	env.Do("POST", "/chats/"+open.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{dan.ID, eve.ID, ben.ID}}).
		Want(http.StatusCreated)
	if got := wantBucketIsParticipants(t, env, open.ID); len(got) != 5 {
		t.Fatalf("add multiple: %v", got)
	}
	env.Do("DELETE", "/chats/"+open.ID+"/participants/"+dan.ID, amy.Token, nil).Want(http.StatusNoContent)
	env.Do("DELETE", "/chats/"+open.ID+"/participants/"+eve.ID, eve.Token, nil).Want(http.StatusNoContent)
	if got := wantBucketIsParticipants(t, env, open.ID); len(got) != 3 {
		t.Fatalf("remove and leave: %v", got)
	}
	// A refused removal changes neither.
	env.Do("DELETE", "/chats/"+open.ID+"/participants/"+amy.ID, amy.Token, nil).WantError(http.StatusConflict, "last_admin")
	wantBucketIsParticipants(t, env, open.ID)

	closed := group(t, env, amy, "Closed", map[string]any{"restricted": true})
	req := env.Do("POST", "/requests", dan.Token, map[string]any{"chat": closed.ID}).Want(http.StatusCreated).
		JSON()["request"].(map[string]any)["_id"].(string)
	wantBucketIsParticipants(t, env, closed.ID)
	env.Do("PATCH", "/requests/"+req, amy.Token, map[string]any{"status": "accepted"}).Want(http.StatusOK)
	if got := wantBucketIsParticipants(t, env, closed.ID); len(got) != 2 {
		t.Fatalf("join by request: %v", got)
	}

	direct := decodeChat(t, env.Do("POST", "/chats", ben.Token, map[string]any{"user": cat.ID}).Want(http.StatusCreated))
	if got := wantBucketIsParticipants(t, env, direct.ID); len(got) != 2 {
		t.Fatalf("one-to-one: %v", got)
	}

	for _, c := range []string{open.ID, closed.ID} {
		env.Do("DELETE", "/chats/"+c, amy.Token, nil).Want(http.StatusNoContent)
		if got := wantBucketIsParticipants(t, env, c); len(got) != 0 {
			t.Fatalf("deleted chat keeps participants %v", got)
		}
	}
}

// parallel runs each fn at once and waits for all.
func parallel(fns ...func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn()
		}()
	}
	close(start)
	wg.Wait()
}

func adminCount(t *testing.T, env *servertest.Env, chatID string) int {
	t.Helper()
	var n int
	if err := rawDB(t, env).QueryRow(`SELECT count(*) FROM chat_participants WHERE chat_id = ? AND is_admin = 1`, chatID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConcurrentChatWrites(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	const rounds = 5
	// twoAdmins is a group of amy and ben, both admins.
	twoAdmins := func(t *testing.T, env *servertest.Env, amy, ben servertest.User) string {
		c := group(t, env, amy, "G", nil, ben)
		env.Do("POST", "/chats/"+c.ID+"/participants/"+ben.ID+"/admin", amy.Token, nil).Want(http.StatusOK)
		return c.ID
	}
	statuses := func(rs ...*servertest.Response) string {
		var s []string
		for _, r := range rs {
			s = append(s, http.StatusText(r.Status))
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	t.Run("two_admins_removing_each_other_at_once_leave_an_admin", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		for range rounds {
			c := twoAdmins(t, env, amy, ben)
			var a, b *servertest.Response
			parallel(
				func() { a = env.Do("DELETE", "/chats/"+c+"/participants/"+ben.ID, amy.Token, nil) },
				func() { b = env.Do("DELETE", "/chats/"+c+"/participants/"+amy.ID, ben.Token, nil) },
			)
			if got := statuses(a, b); got != "Forbidden,No Content" {
				t.Fatalf("answers %s; want one removal and one refusal (%s / %s)", got, a.Body, b.Body)
			}
			if adminCount(t, env, c) != 1 || len(wantBucketIsParticipants(t, env, c)) != 1 {
				t.Fatalf("after the race: %d admins", adminCount(t, env, c))
			}
		}
	})
	t.Run("two_admins_revoking_each_other_at_once_leave_an_admin", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		for range rounds {
			c := twoAdmins(t, env, amy, ben)
			var a, b *servertest.Response
			parallel(
				func() { a = env.Do("DELETE", "/chats/"+c+"/participants/"+ben.ID+"/admin", amy.Token, nil) },
				func() { b = env.Do("DELETE", "/chats/"+c+"/participants/"+amy.ID+"/admin", ben.Token, nil) },
			)
			if got := statuses(a, b); got != "Forbidden,OK" {
				t.Fatalf("answers %s; want one revocation and one refusal (%s / %s)", got, a.Body, b.Body)
			}
			if n := adminCount(t, env, c); n != 1 {
				t.Fatalf("after the race: %d admins", n)
			}
		}
	})
	t.Run("two_admins_leaving_at_once_leave_an_admin", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		for range rounds {
			c := twoAdmins(t, env, amy, ben)
			var a, b *servertest.Response
			parallel(
				func() { a = env.Do("DELETE", "/chats/"+c+"/participants/"+amy.ID, amy.Token, nil) },
				func() { b = env.Do("DELETE", "/chats/"+c+"/participants/"+ben.ID, ben.Token, nil) },
			)
			if got := statuses(a, b); got != "Conflict,No Content" {
				t.Fatalf("answers %s; want one departure and one last_admin (%s / %s)", got, a.Body, b.Body)
			}
			if adminCount(t, env, c) != 1 || len(wantBucketIsParticipants(t, env, c)) != 1 {
				t.Fatalf("after the race: %d admins", adminCount(t, env, c))
			}
		}
	})
	t.Run("double_join_adds_once", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		for range rounds {
			c := group(t, env, amy, "G", nil)
			var a, b *servertest.Response
			parallel(
				func() { a = env.Do("POST", "/chats/"+c.ID+"/participants", ben.Token, nil) },
				func() { b = env.Do("POST", "/chats/"+c.ID+"/participants", ben.Token, nil) },
			)
			if got := statuses(a, b); got != "Conflict,Created" {
				t.Fatalf("answers %s; want one join and one conflict (%s / %s)", got, a.Body, b.Body)
			}
			if got := wantBucketIsParticipants(t, env, c.ID); len(got) != 2 {
				t.Fatalf("participants after a double join: %v", got)
			}
		}
	})
	t.Run("reposting_the_same_message_id_at_once_never_duplicates", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		const n = 6
		for range rounds {
			id := oid.New()
			body := map[string]any{"_id": id, "text": "hi", "files": []map[string]any{{"url": "https://cdn.test/a.mp4"}}}
			rs := make([]*servertest.Response, n)
			fns := make([]func(), n)
			for i := range fns {
				fns[i] = func() { rs[i] = env.Do("POST", "/chats/"+c.ID+"/messages", amy.Token, body) }
			}
			parallel(fns...)
			created := 0
			for _, r := range rs {
				switch r.Status {
				case http.StatusCreated:
					created++
				case http.StatusOK:
				default:
					t.Fatalf("re-post answered %d: %s", r.Status, r.Body)
				}
				var got struct {
					Message messageJSON `json:"message"`
				}
				r.Decode(&got)
				if got.Message.ID != id || len(got.Message.Files) != 1 {
					t.Fatalf("re-post answered %s", r.Body)
				}
			}
			if created != 1 {
				t.Fatalf("%d of %d posts created the message", created, n)
			}
			var msgs, files int
			db := rawDB(t, env)
			if err := db.QueryRow(`SELECT count(*) FROM messages WHERE id = ?`, id).Scan(&msgs); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`SELECT count(*) FROM chat_files WHERE message_id = ?`, id).Scan(&files); err != nil {
				t.Fatal(err)
			}
			if msgs != 1 || files != 1 {
				t.Fatalf("stored %d messages and %d files for one id", msgs, files)
			}
		}
	})
}
