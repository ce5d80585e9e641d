package client_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// waitFor reads frames until every event in want has come, failing the
// test if the socket ends or stays silent first; other events are skipped.
func waitFor(t *testing.T, s *servertest.Socket, want ...string) map[string][]servertest.Frame {
	t.Helper()
	got := map[string][]servertest.Frame{}
	missing := map[string]bool{}
	for _, w := range want {
		missing[w] = true
	}
	for len(missing) > 0 {
		f, err := s.Read()
		if err != nil {
			t.Fatalf("socket ended (%v) still waiting for %v", err, missing)
		}
		got[f.Event] = append(got[f.Event], f)
		delete(missing, f.Event)
	}
	return got
}

// uploadChatPhoto sets a PNG as the photo of chatID and returns its
// media key.
func uploadChatPhoto(t *testing.T, env *servertest.Env, u servertest.User, chatID string) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("photo", "p.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(fw, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil { // a real image: uploads are decoded whole
		t.Fatal(err)
	}
	mw.Close()
	req, _ := http.NewRequest("PUT", env.URL+"/chats/"+chatID, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+u.Token)
	res, err := env.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Chat struct {
			Photo string `json:"photo"`
		} `json:"chat"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 {
		t.Fatalf("upload photo: %d %v", res.StatusCode, err)
	}
	key, ok := strings.CutPrefix(body.Chat.Photo, "http://vibesync.test/media/")
	if !ok {
		t.Fatalf("photo URL %q", body.Chat.Photo)
	}
	return key
}

// replicaRows returns the data of d's replica rows of entity whose id
// contains part, in any bucket.
func replicaRows(t *testing.T, d *device, entity, part string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "replica.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT data FROM rows WHERE entity = ? AND instr(id, ?) > 0`, entity, part)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

type chatBody struct {
	Chat struct {
		ID           string `json:"_id"`
		Name         string `json:"name"`
		Participants []struct {
			User    any  `json:"user"`
			IsAdmin bool `json:"isAdmin"`
		} `json:"participants"`
	} `json:"chat"`
}

func userOf(v any) (id, name string) {
	switch u := v.(type) {
	case string:
		return u, ""
	case map[string]any:
		id, _ = u["_id"].(string)
		name, _ = u["name"].(string)
	}
	return id, name
}

// TestDeleteAccount deletes amy, who had a connection, a pending request,
// follows both ways, a block against her, a group she alone administered,
// a group where she was the only member left, a one-to-one chat and a
// pending join request, and checks every effect from the other users' side:
// over REST, in their synced replicas (this package), and on their live
// sockets.
func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.New(t)
	amy, bob, cat, dan := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan")
	do := env.Do

	// amy and bob are connected (through bob's meet-me status); cat asked amy.
	do("PUT", "/users/me/status", bob.Token, map[string]any{"text": "coffee?", "durationMinutes": 60}).Want(200)
	do("POST", "/connections/"+bob.ID, amy.Token, nil).Want(201)
	do("POST", "/connections/"+amy.ID+"/accept", bob.Token, nil).Want(200)
	do("PUT", "/users/me/status", amy.Token, map[string]any{"text": "around", "durationMinutes": 60}).Want(200)
	do("POST", "/connections/"+amy.ID, cat.Token, nil).Want(201)
	// Follows both ways, and dan blocks amy.
	do("POST", "/users/"+amy.ID+"/follow", bob.Token, nil).Want(200)
	do("POST", "/users/"+cat.ID+"/follow", amy.Token, nil).Want(200)
	do("POST", "/users/"+amy.ID+"/block", dan.Token, nil)
	// Group "Book club": amy its only admin, bob joined before cat.
	var club chatBody
	do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Book club", "category": "Study", "participants": []string{bob.ID}}).Want(201).Decode(&club)
	env.Clock.Advance(time.Second)
	do("POST", "/chats/"+club.Chat.ID+"/participants/multiple", amy.Token, map[string]any{"participants": []string{cat.ID}}).Want(201)
	do("POST", "/chats/"+club.Chat.ID+"/messages", amy.Token, map[string]any{"text": "welcome all"}).Want(201)
	do("POST", "/chats/"+club.Chat.ID+"/messages", amy.Token, map[string]any{"text": "see https://vibesync.test/media/x.png",
		"files": []map[string]any{{"url": "https://example.com/cover.png"}}}).Want(201)
	do("POST", "/chats/"+club.Chat.ID+"/messages", bob.Token, map[string]any{"text": "thanks"}).Want(201)
	// Group "Solo": amy is the only member.
	var solo chatBody
	do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Solo", "category": "Study", "participants": []string{}}).Want(201).Decode(&solo)
	soloPhoto := uploadChatPhoto(t, env, amy, solo.Chat.ID)
	if res, err := http.Get(env.URL + "/media/" + soloPhoto); err != nil || res.StatusCode != 200 {
		t.Fatalf("solo photo before: %v %v", res, err)
	}
	// One-to-one chat of amy and bob.
	var direct chatBody
	do("POST", "/chats", bob.Token, map[string]any{"user": amy.ID}).Want(201).Decode(&direct)
	do("POST", "/chats/"+direct.Chat.ID+"/messages", amy.Token, map[string]any{"text": "hi bob"}).Want(201)
	// cat's restricted group, which amy asked to join.
	var closed chatBody
	do("POST", "/chats", cat.Token, map[string]any{"isGroup": true, "name": "Closed", "category": "Study", "restricted": true, "participants": []string{}}).Want(201).Decode(&closed)
	do("POST", "/requests", amy.Token, map[string]any{"chat": closed.Chat.ID}).Want(201)
	do("POST", "/push/devices", amy.Token, map[string]any{"token": "amy-device-token-0123456789"})

	// bob's and cat's replicas, synced before the deletion.
	bobDev, catDev, danDev := openDevice(t, env, ""), openDevice(t, env, ""), openDevice(t, env, "")
	login(t, env, bobDev, bob)
	login(t, env, catDev, cat)
	login(t, env, danDev, dan)
	mustSync(t, bobDev)
	mustSync(t, catDev)
	mustSync(t, danDev)
	if len(replicaRows(t, bobDev, "follow", amy.ID)) != 1 || len(replicaRows(t, catDev, "follow", amy.ID)) != 1 ||
		len(replicaRows(t, danDev, "block", amy.ID)) != 1 || len(replicaRows(t, bobDev, "notification", "")) == 0 {
		t.Fatal("replicas before: want bob's and cat's follow rows, dan's block row, bob's notifications")
	}
	if cs, _ := catDev.Connections(ctx, "pending"); len(cs) != 1 {
		t.Fatalf("cat's replica before: %d pending connections, want 1", len(cs))
	}
	if rs, _ := catDev.Requests(ctx); len(rs) != 1 {
		t.Fatalf("cat's replica before: %d join requests, want 1", len(rs))
	}
	// Live sockets of bob, cat and amy herself.
	bobSock, catSock, amySock := env.Dial(bob.Token), env.Dial(cat.Token), env.Dial(amy.Token)

	t.Run("wrong_password_is_403_and_deletes_nothing", func(t *testing.T) {
		do("DELETE", "/users/me", amy.Token, map[string]string{"password": "not her password"}).WantError(http.StatusForbidden, "wrong_password")
		do("DELETE", "/users/me", amy.Token, map[string]string{}).WantError(http.StatusBadRequest, "invalid_password")
		do("GET", "/users/"+amy.ID, bob.Token, nil).Want(200)
	})
	do("DELETE", "/users/me", amy.Token, map[string]string{"password": amy.Password}).Want(http.StatusNoContent)

	t.Run("rest_tokens_and_login_fail_at_once", func(t *testing.T) {
		do("GET", "/users/me", amy.Token, nil).WantError(401, "account_deleted")
		do("POST", "/auth/refresh", "", map[string]string{"refreshToken": amy.RefreshToken}).WantError(401, "account_deleted")
		do("POST", "/auth/login", "", map[string]string{"username": amy.Username, "password": amy.Password}).WantError(401, "invalid_credentials")
		do("DELETE", "/users/me", amy.Token, map[string]string{"password": amy.Password}).WantError(401, "account_deleted")
	})
	t.Run("rest_profile_is_gone_and_not_searchable", func(t *testing.T) {
		do("GET", "/users/"+amy.ID, bob.Token, nil).WantError(404, "user_not_found")
		if r := do("GET", "/users?search=amy", bob.Token, nil).Want(200); r.JSON()["count"] != float64(0) {
			t.Fatalf("search still finds amy: %s", r.Body)
		}
		do("POST", "/users/"+amy.ID+"/follow", bob.Token, nil).WantError(404, "user_not_found")
		do("POST", "/chats", dan.Token, map[string]any{"user": amy.ID}).WantError(404, "user_not_found")
	})
	t.Run("rest_connections_follows_blocks_requests_notifications_removed", func(t *testing.T) {
		for _, u := range []servertest.User{bob, cat} {
			if r := do("GET", "/connections", u.Token, nil).Want(200); r.JSON()["count"] != float64(0) {
				t.Fatalf("%s still has connections: %s", u.Name, r.Body)
			}
			if r := do("GET", "/notifications", u.Token, nil).Want(200); strings.Contains(string(r.Body), amy.ID) {
				t.Fatalf("%s still has notifications about amy: %s", u.Name, r.Body)
			}
		}
		if r := do("GET", "/users/me/following", bob.Token, nil).Want(200); r.JSON()["count"] != float64(0) {
			t.Fatalf("bob still follows: %s", r.Body)
		}
		if r := do("GET", "/users/me/followers", cat.Token, nil).Want(200); r.JSON()["count"] != float64(0) {
			t.Fatalf("cat still has followers: %s", r.Body)
		}
		if r := do("GET", "/users/me/blocked", dan.Token, nil).Want(200); r.JSON()["count"] != float64(0) {
			t.Fatalf("dan still blocks: %s", r.Body)
		}
		if r := do("GET", "/requests", cat.Token, nil).Want(200); r.JSON()["count"] != float64(0) {
			t.Fatalf("cat still sees amy's join request: %s", r.Body)
		}
	})
	t.Run("rest_group_keeps_messages_under_deleted_user_and_passes_admin_on", func(t *testing.T) {
		var got chatBody
		do("GET", "/chats/"+club.Chat.ID, bob.Token, nil).Want(200).Decode(&got)
		if len(got.Chat.Participants) != 2 {
			t.Fatalf("participants %+v, want bob and cat", got.Chat.Participants)
		}
		for _, p := range got.Chat.Participants {
			id, _ := userOf(p.User)
			if id == amy.ID {
				t.Fatalf("amy is still a participant")
			}
			if want := id == bob.ID; p.IsAdmin != want {
				t.Fatalf("participant %s admin = %v, want %v (the longest-standing member becomes admin)", id, p.IsAdmin, want)
			}
		}
		r := do("GET", "/chats/"+club.Chat.ID+"/messages", cat.Token, nil).Want(200)
		var msgs struct {
			Messages []struct {
				Text  string `json:"text"`
				User  any    `json:"user"`
				Files []any  `json:"files"`
			} `json:"messages"`
		}
		r.Decode(&msgs)
		if len(msgs.Messages) != 3 {
			t.Fatalf("messages %s, want 3 kept", r.Body)
		}
		amys := 0
		for _, m := range msgs.Messages {
			id, name := userOf(m.User)
			if id == amy.ID {
				amys++
				if name != "Deleted user" || len(m.Files) != 0 {
					t.Fatalf("amy's message shows sender %q with %d files, want \"Deleted user\" and none", name, len(m.Files))
				}
			}
		}
		if amys != 2 || strings.Contains(string(r.Body), "Amy") {
			t.Fatalf("amy's messages (%d) or her name left: %s", amys, r.Body)
		}
		if r := do("GET", "/chats/"+club.Chat.ID+"/files?type=image", bob.Token, nil); strings.Contains(string(r.Body), "cover.png") {
			t.Fatalf("amy's file still listed: %s", r.Body)
		}
		if r := do("GET", "/notifications", bob.Token, nil).Want(200); !strings.Contains(string(r.Body), "chat-admin-access-granted") {
			t.Fatalf("bob was not told he is admin now: %s", r.Body)
		}
	})
	t.Run("rest_chat_with_no_other_member_is_deleted", func(t *testing.T) {
		err := env.Server.DB().Read(ctx, func(tx *store.Tx) error {
			_, err := tx.Chat(ctx, solo.Chat.ID)
			return err
		})
		if !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("solo chat: %v, want not found", err)
		}
		// The photo's deletion is queued with the account's and runs after
		// the commit; one pass of the retry settles it.
		if _, err := env.Server.DeleteQueuedMedia(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := http.Get(env.URL + "/media/" + soloPhoto)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Fatalf("the photo amy uploaded answers %d after the deletion, want 404", res.StatusCode)
		}
	})
	t.Run("rest_one_to_one_chat_stays_for_the_other_person", func(t *testing.T) {
		var got chatBody
		do("GET", "/chats/"+direct.Chat.ID, bob.Token, nil).Want(200).Decode(&got)
		if got.Chat.Name != "Deleted user" {
			t.Fatalf("one-to-one chat named %q, want \"Deleted user\"", got.Chat.Name)
		}
		r := do("GET", "/chats/"+direct.Chat.ID+"/messages", bob.Token, nil).Want(200)
		if !strings.Contains(string(r.Body), "hi bob") {
			t.Fatalf("history lost: %s", r.Body)
		}
		do("POST", "/chats/"+direct.Chat.ID+"/messages", bob.Token, map[string]any{"text": "hello?"}).WantError(409, "user_deleted")
	})
	t.Run("rest_push_devices_dropped", func(t *testing.T) {
		err := env.Server.DB().Read(ctx, func(tx *store.Tx) error {
			tokens, err := tx.PushDevices(ctx, amy.ID)
			if err == nil && len(tokens) != 0 {
				t.Errorf("push tokens left: %v", tokens)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("replica_of_others_shows_the_documented_result", func(t *testing.T) {
		mustSync(t, bobDev)
		mustSync(t, catDev)
		mustSync(t, danDev)
		if f, c, b := replicaRows(t, bobDev, "follow", amy.ID), replicaRows(t, catDev, "follow", amy.ID), replicaRows(t, danDev, "block", amy.ID); len(f)+len(c)+len(b) != 0 {
			t.Fatalf("follow and block rows left: bob %v cat %v dan %v", f, c, b)
		}
		if len(replicaRows(t, bobDev, "user", amy.ID)) == 0 {
			t.Fatal("bob's replica has no profile row for amy: the chats they share should show the deleted identity")
		}
		for _, d := range []*device{bobDev, catDev, danDev} {
			for _, row := range replicaRows(t, d, "user", amy.ID) {
				if !strings.Contains(row, `"deleted":true`) || strings.Contains(row, "Amy") || strings.Contains(row, amy.Username) {
					t.Fatalf("a replica keeps amy's profile: %s", row)
				}
			}
			for _, row := range replicaRows(t, d, "message", "") {
				if strings.Contains(row, amy.Username) || strings.Contains(row, `"Amy"`) {
					t.Fatalf("a replica keeps amy's name in a message: %s", row)
				}
			}
		}
		for _, d := range []*device{bobDev, catDev} {
			if cs, err := d.Connections(ctx, ""); err != nil || len(cs) != 0 {
				t.Fatalf("replica connections %+v (%v), want none", cs, err)
			}
			ns, err := d.Notifications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range ns {
				if n.Type == "connection-request" || n.Type == "connection-accepted" {
					t.Fatalf("replica keeps notification %+v caused by amy", n)
				}
			}
		}
		if rs, _ := catDev.Requests(ctx); len(rs) != 0 {
			t.Fatalf("cat's replica keeps join requests %+v", rs)
		}
		ms, err := bobDev.Messages(ctx, club.Chat.ID)
		if err != nil {
			t.Fatal(err)
		}
		amys := 0
		for _, m := range ms {
			if m.User.ID == amy.ID {
				amys++
				if m.User.Name != "Deleted user" || !m.User.Deleted || m.User.Username != "" {
					t.Fatalf("replica message sender %+v, want the deleted identity", m.User)
				}
			}
		}
		if amys != 2 {
			t.Fatalf("replica keeps %d of amy's messages, want 2", amys)
		}
		chats, err := bobDev.Chats(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]client.Chat{}
		for _, c := range chats {
			seen[c.ID] = c
		}
		if _, ok := seen[solo.Chat.ID]; ok {
			t.Fatal("bob's replica has the deleted solo chat") // never his, but be sure
		}
		dc, ok := seen[direct.Chat.ID]
		if !ok || dc.Name != "Deleted user" {
			t.Fatalf("one-to-one chat in bob's replica: %+v (present %v)", dc, ok)
		}
		cc := seen[club.Chat.ID]
		if len(cc.Participants) != 2 {
			t.Fatalf("club participants in replica %+v", cc.Participants)
		}
		for _, p := range cc.Participants {
			if p.User.ID == amy.ID || p.IsAdmin != (p.User.ID == bob.ID) {
				t.Fatalf("club participant %+v in replica", p)
			}
		}
	})

	t.Run("live_sockets_of_others_hear_every_effect", func(t *testing.T) {
		got := waitFor(t, bobSock, "connection-removed", "user-deleted", "chat-participant-removed", "chat-admin-access-granted")
		if !strings.Contains(string(got["user-deleted"][0].Data), amy.ID) {
			t.Fatalf("user-deleted %s", got["user-deleted"][0].Data)
		}
		waitFor(t, catSock, "connection-removed", "user-deleted", "chat-participant-removed")
	})
	t.Run("live_socket_of_the_deleted_account_closes_at_the_next_heartbeat", func(t *testing.T) {
		if err := env.Server.Hub().Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		for {
			_, err := amySock.Read()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 1008 || ce.Text != "account deleted" {
				t.Fatalf("amy's socket ended with %v, want 1008 \"account deleted\"", err)
			}
			break
		}
	})
	// Last: it moves the clock by 30 days.
	t.Run("rest_username_is_free_after_30_days", func(t *testing.T) {
		body := map[string]string{"name": "New Amy", "username": strings.ToUpper(amy.Username), "password": "correct horse battery"}
		do("POST", "/auth/register", "", body).WantError(409, "username_taken")
		env.Clock.Advance(30*24*time.Hour - 2*time.Second)
		do("POST", "/auth/register", "", body).WantError(409, "username_taken")
		env.Clock.Advance(2 * time.Second)
		do("POST", "/auth/register", "", body).Want(201)
	})
}

// TestDeleteAccountWithAnOfflineDevice: amy's phone is offline with queued
// mutations while she deletes her account from another device. When the
// phone comes back its mutations are rejected with reason account_deleted,
// none is applied, and its replica is wiped.
func TestDeleteAccountWithAnOfflineDevice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servertest.Shared(t)
	amy, bob := env.Register("Amy"), env.Register("Bob")
	var club chatBody
	env.Do("POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(200)
	env.Do("POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Club", "category": "Study", "participants": []string{bob.ID}}).Want(201).Decode(&club)

	phone := openDevice(t, env, "")
	login(t, env, phone, amy)
	mustSync(t, phone)
	phone.net.down.Store(true)
	if _, err := phone.SendMessage(ctx, club.Chat.ID, "sent from the train"); err != nil {
		t.Fatal(err)
	}
	if _, err := phone.UpdateProfile(ctx, client.ProfileUpdate{Bio: str("offline bio")}); err != nil {
		t.Fatal(err)
	}

	laptop := openDevice(t, env, "")
	login(t, env, laptop, amy)
	if err := laptop.DeleteAccount(ctx, amy.Password); err != nil {
		t.Fatal(err)
	}
	if laptop.UserID(ctx) != "" {
		t.Fatal("the deleting device keeps its session")
	}

	phone.net.down.Store(false)
	_, err := phone.Sync(ctx)
	if !errors.Is(err, client.ErrAccountDeleted) || !errors.Is(err, client.ErrSessionEnded) {
		t.Fatalf("phone sync: %v, want ErrAccountDeleted", err)
	}
	phone.mu.Lock()
	rej := append([]client.Rejection(nil), phone.rej...)
	phone.mu.Unlock()
	if len(rej) != 2 {
		t.Fatalf("rejections %+v, want both queued mutations", rej)
	}
	for _, r := range rej {
		if r.Reason != "account_deleted" || r.Message != "This account has been deleted" {
			t.Fatalf("rejection %+v", r)
		}
	}
	if phone.UserID(ctx) != "" {
		t.Fatal("phone keeps the deleted account's session")
	}
	if st, err := phone.Status(ctx); err != nil || st.Outbox != 0 || st.Rows != 0 {
		t.Fatalf("phone status %+v (%v), want an empty outbox and replica", st, err)
	}
	// Nothing of the queued work reached the server.
	r := env.Do("GET", "/chats/"+club.Chat.ID+"/messages", bob.Token, nil).Want(200)
	if strings.Contains(string(r.Body), "sent from the train") {
		t.Fatalf("a queued message of the deleted account was applied: %s", r.Body)
	}
}
