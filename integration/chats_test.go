package integration

import (
	"bytes"
	stdimage "image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/servertest"
)

// publicURL is the base URL the chats scenario's server hands out.
const publicURL = "http://vibesync.test"

// TestChatsFlow runs the documented chat and join-request flows against
// the server image: a restricted group chat, messages, a join request
// answered by the admin, a chat photo stored on the data volume and served
// under /media/, all still there after a restart; then the chat is deleted
// with its messages and photo.
func TestChatsFlow(t *testing.T) {
	needDocker(t)
	chatsFlow(t, startServer(t, serverOptions{volume: newVolume(t), env: []string{"VIBESYNC_PUBLIC_URL=" + publicURL}}))
}

// chatsFlow runs the flow against srv (a server on its own volume, or one of
// several instances on a libSQL server).
func chatsFlow(t *testing.T, srv *server) {
	amy := srv.register(t, "Amy Chat", "amy.chat")
	bob := srv.register(t, "Bob Chat", "bob.chat")
	cleo := srv.register(t, "Cleo Chat", "cleo.chat")

	type chat struct {
		ID                string `json:"_id"`
		Name              string `json:"name"`
		Photo             string `json:"photo"`
		Restricted        bool   `json:"restricted"`
		IsJoined          bool   `json:"isJoined"`
		ParticipantsCount int    `json:"participantsCount"`
	}
	var c chat
	t.Run("spec3_group_and_messages", func(t *testing.T) {
		srv.do(t, "POST", "/users/"+bob.ID+"/follow", amy.Token, nil).Want(http.StatusOK)
		var made struct{ Chat chat }
		srv.do(t, "POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Book Club", "category": "Study",
			"restricted": true, "participants": []string{bob.ID}}).Want(http.StatusCreated).Decode(&made)
		c = made.Chat
		if c.ID == "" || c.Name != "Book Club" || !c.Restricted {
			t.Fatalf("created chat %+v", c)
		}
		var list struct {
			Chats []chat
			Count int
		}
		srv.do(t, "GET", "/chats", bob.Token, nil).Want(http.StatusOK).Decode(&list)
		if list.Count != 1 || list.Chats[0].ID != c.ID {
			t.Fatalf("Bob's chats: %+v", list)
		}
		srv.do(t, "POST", "/chats/"+c.ID+"/messages", bob.Token, map[string]any{"text": "hello club"}).Want(http.StatusCreated)
		srv.do(t, "POST", "/chats/"+c.ID+"/messages", cleo.Token, map[string]any{"text": "let me in"}).Want(http.StatusForbidden)
		wantMessages(t, srv, amy.Token, c.ID, "hello club")
		srv.do(t, "POST", "/chats/"+c.ID+"/read", amy.Token, nil).Want(http.StatusOK)
	})

	t.Run("spec2_join_request", func(t *testing.T) {
		var req struct {
			Request struct {
				ID     string `json:"_id"`
				Status string `json:"status"`
			}
		}
		srv.do(t, "POST", "/requests", cleo.Token, map[string]any{"chat": c.ID}).Want(http.StatusCreated).Decode(&req)
		if req.Request.Status != "pending" {
			t.Fatalf("join request %+v", req.Request)
		}
		srv.do(t, "POST", "/requests", cleo.Token, map[string]any{"chat": c.ID}).WantError(http.StatusConflict, "request_exists")
		srv.do(t, "PATCH", "/requests/"+req.Request.ID, bob.Token, map[string]any{"status": "accepted"}).Want(http.StatusForbidden)
		srv.do(t, "PATCH", "/requests/"+req.Request.ID, amy.Token, map[string]any{"status": "accepted"}).Want(http.StatusOK)
		var got struct{ Chat chat }
		srv.do(t, "GET", "/chats/"+c.ID, cleo.Token, nil).Want(http.StatusOK).Decode(&got)
		if !got.Chat.IsJoined || got.Chat.ParticipantsCount != 3 {
			t.Fatalf("Cleo's view after acceptance: %+v", got.Chat)
		}
		srv.do(t, "POST", "/chats/"+c.ID+"/messages", cleo.Token, map[string]any{"text": "thanks"}).Want(http.StatusCreated)
	})

	var photoBuf bytes.Buffer
	if err := png.Encode(&photoBuf, stdimage.NewGray(stdimage.Rect(0, 0, 16, 16))); err != nil {
		t.Fatal(err)
	}
	photo := photoBuf.Bytes()
	var photoPath string
	t.Run("chat_photo_on_the_volume", func(t *testing.T) {
		var got struct{ Chat chat }
		putPhoto(t, srv, amy.Token, c.ID, photo).Want(http.StatusOK).Decode(&got)
		p, ok := strings.CutPrefix(got.Chat.Photo, publicURL+"/media/")
		if !ok {
			t.Fatalf("photo URL %q is not under %s/media/", got.Chat.Photo, publicURL)
		}
		photoPath = "/media/" + p
		wantFile(t, srv, photoPath, photo)
	})

	t.Run("restart_keeps_chats", func(t *testing.T) {
		srv.restart(t)
		wantMessages(t, srv, cleo.Token, c.ID, "hello club", "thanks")
		wantFile(t, srv, photoPath, photo)
		srv.do(t, "DELETE", "/chats/"+c.ID, bob.Token, nil).Want(http.StatusForbidden)
		srv.do(t, "DELETE", "/chats/"+c.ID, amy.Token, nil).Want(http.StatusNoContent)
		srv.do(t, "GET", "/chats/"+c.ID, bob.Token, nil).Want(http.StatusNotFound)
		srv.do(t, "GET", "/chats/"+c.ID+"/messages", amy.Token, nil).Want(http.StatusNotFound)
		wantGone(t, srv, photoPath) // the photo went with the chat
	})
}

// wantMessages checks that the chat holds exactly texts, in any order.
func wantMessages(t *testing.T, srv *server, token, chatID string, texts ...string) {
	t.Helper()
	var body struct {
		Messages []struct{ Text string }
		Count    int
	}
	srv.do(t, "GET", "/chats/"+chatID+"/messages", token, nil).Want(http.StatusOK).Decode(&body)
	got := map[string]bool{}
	for _, m := range body.Messages {
		got[m.Text] = true
	}
	for _, want := range texts {
		if !got[want] {
			t.Fatalf("messages %+v lack %q", body.Messages, want)
		}
	}
	if body.Count != len(texts) {
		t.Fatalf("%d messages, want %d: %+v", body.Count, len(texts), body.Messages)
	}
}

// putPhoto sends PUT /chats/:id as multipart form data with a photo.
func putPhoto(t *testing.T, srv *server, token, chatID string, photo []byte) *servertest.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("photo", "photo.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(photo)
	mw.Close()
	req, err := http.NewRequestWithContext(t.Context(), "PUT", srv.URL()+"/chats/"+chatID, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := srv.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return servertest.NewResponse(t, "PUT /chats/"+chatID, res.StatusCode, res.Header, body)
}

// wantFile checks that GET path serves exactly data.
// wantGone waits (up to 10 s) until GET path answers 404 media_not_found:
// a deleted chat's files are deleted right after the commit, in the
// background.
func wantGone(t *testing.T, srv *server, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := srv.do(t, "GET", path, "", nil)
		if r.Status == http.StatusNotFound {
			r.WantError(http.StatusNotFound, "media_not_found")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s still answers %d 10 s after the deletion", path, r.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func wantFile(t *testing.T, srv *server, path string, data []byte) {
	t.Helper()
	r := srv.do(t, "GET", path, "", nil).Want(http.StatusOK)
	if !bytes.Equal(r.Body, data) {
		t.Fatalf("GET %s: %d bytes, want the %d uploaded", path, len(r.Body), len(data))
	}
}
