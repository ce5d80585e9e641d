package rest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
)

// fuzzRoutes are the routes that read a JSON body (every decode in the
// handlers), each seeded with a real body. Path placeholders in braces are
// filled in from the fixture FuzzJSONBodies sets up.
var fuzzRoutes = []struct{ method, path, seed string }{
	{"POST", "/auth/register", `{"name":"John Doe","username":"john.doe","password":"correct horse battery"}`},
	{"POST", "/auth/login", `{"username":"john.doe","password":"correct horse battery"}`},
	{"POST", "/auth/refresh", `{"refreshToken":"abc"}`},
	{"POST", "/auth/password", `{"currentPassword":"wrong password","newPassword":"another horse battery"}`},
	{"DELETE", "/users/me", `{"password":"wrong password"}`},
	{"PATCH", "/users/me", `{"name":"Amy","bio":"hi"}`},
	{"PUT", "/users/me/status", `{"text":"Up for coffee","durationMinutes":60}`},
	{"POST", "/connections/{ben}", `{"message":"Hi Ben"}`},
	{"POST", "/v1/connections/{me}/request", `{"receiver_id":"0123456789abcdef01234567"}`},
	{"POST", "/chats", `{"isGroup":true,"name":"G","category":"Study","participants":[],"restricted":true}`},
	{"DELETE", "/chats/{spare}", `{"socket":"s1"}`},
	{"POST", "/chats/{chat}/messages", `{"text":"hello","socket":"s1"}`},
	{"DELETE", "/chats/{chat}/messages/{message}", `{"socket":"s1"}`},
	{"POST", "/chats/{open}/participants", `{"socket":"s1"}`},
	{"POST", "/chats/{chat}/participants/multiple", `{"participants":["0123456789abcdef01234567"],"socket":"s1"}`},
	{"DELETE", "/chats/{chat}/participants/{ben}", `{"socket":"s1"}`},
	{"POST", "/chats/{chat}/participants/{ben}/admin", `{"socket":"s1"}`},
	{"DELETE", "/chats/{chat}/participants/{ben}/admin", `{"socket":"s1"}`},
	{"POST", "/chats/{chat}/participants/{ben}/status", `{"status":"accepted","socket":"s1"}`},
	{"POST", "/requests", `{"chat":"0123456789abcdef01234567"}`},
	{"PATCH", "/requests/{request}", `{"status":"accepted","socket":"s1"}`},
	{"POST", "/reels", `{"chat":"0123456789abcdef01234567","video":"https://cdn.test/v.mp4","hashtags":["pool"]}`},
	{"POST", "/push/devices", `{"token":"device-token","platform":"android"}`},
}

// FuzzJSONBodies sends arbitrary bodies to the JSON routes of a real
// server: never a 5xx, always a JSON answer. make test runs it briefly.
func FuzzJSONBodies(f *testing.F) {
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), []byte(r.seed))
	}
	env := servertest.New(f)
	amy, ben, cat := env.Register("Amy"), env.Register("Ben"), env.Register("Cat")
	ids := map[string]string{"{me}": amy.ID, "{ben}": ben.ID}
	ids["{chat}"] = fuzzChat(f, env, amy, `{"isGroup":true,"name":"G","category":"Study","participants":[]}`)
	env.Do("POST", "/chats/"+ids["{chat}"]+"/participants", ben.Token, nil).Want(201)
	ids["{spare}"] = fuzzChat(f, env, amy, `{"isGroup":true,"name":"S","category":"Study","participants":[]}`)
	ids["{open}"] = fuzzChat(f, env, ben, `{"isGroup":true,"name":"O","category":"Study","participants":[]}`)
	restricted := fuzzChat(f, env, amy, `{"isGroup":true,"name":"R","category":"Study","participants":[],"restricted":true}`)
	var m struct {
		Message struct {
			ID string `json:"_id"`
		} `json:"message"`
	}
	var req struct {
		Request struct {
			ID string `json:"_id"`
		} `json:"request"`
	}
	env.Do("POST", "/chats/"+ids["{chat}"]+"/messages", amy.Token, map[string]any{"text": "hello"}).Want(201).Decode(&m)
	env.Do("POST", "/requests", cat.Token, map[string]any{"chat": restricted}).Want(201).Decode(&req)
	ids["{message}"], ids["{request}"] = m.Message.ID, req.Request.ID
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := r.path
		for k, v := range ids {
			path = strings.ReplaceAll(path, k, v)
		}
		status, got := fuzzExchange(t, env, r.method, path, amy.Token, "application/json", body)
		if status >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, path, body, status, got)
		}
		if status != http.StatusNoContent && !json.Valid(got) {
			t.Fatalf("%s %s with %q: a non-JSON answer %d %q", r.method, path, body, status, got)
		}
	})
}

// fuzzChat creates a chat from a JSON body and returns its id.
func fuzzChat(f *testing.F, env *servertest.Env, owner servertest.User, body string) string {
	f.Helper()
	var c struct {
		Chat struct {
			ID string `json:"_id"`
		} `json:"chat"`
	}
	env.Do("POST", "/chats", owner.Token, json.RawMessage(body)).Want(201).Decode(&c)
	return c.Chat.ID
}

// fuzzBoundary is the multipart boundary of every FuzzChatPhoto body.
const fuzzBoundary = "vibesyncFuzzBoundary"

// multipartBody is a PUT /chats/{id} form with fields and, unless photo is
// nil, a photo file part.
func multipartBody(fields map[string]string, photo []byte) []byte {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(fuzzBoundary); err != nil {
		panic(err)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if photo != nil {
		fw, _ := mw.CreateFormFile("photo", "photo.png")
		fw.Write(photo)
	}
	mw.Close()
	return buf.Bytes()
}

// FuzzChatPhoto sends arbitrary multipart bodies to the chat photo route,
// PUT /chats/{id}, of a real server: never a 5xx, always a JSON answer. With
// whole set the input is the entire body; otherwise it is the photo file,
// wrapped in a well-formed form, so the image checks get fuzzed directly.
func FuzzChatPhoto(f *testing.F) {
	f.Add(true, multipartBody(map[string]string{"name": "New", "category": "Music"}, pngBytes))
	f.Add(true, multipartBody(map[string]string{"restricted": "true", "socket": "s1"}, jpegBytes))
	f.Add(true, multipartBody(map[string]string{"allowPublicPost": "false"}, nil))
	f.Add(false, pngBytes)
	f.Add(false, jpegBytes)
	f.Add(false, append([]byte("\x89PNG\r\n\x1a\n"), "<html>"...))
	env := servertest.New(f)
	amy := env.Register("Amy")
	chat := fuzzChat(f, env, amy, `{"isGroup":true,"name":"G","category":"Study","participants":[]}`)
	// The seeds are real: a well-formed form with a real PNG is taken.
	if status, got := putRawChat(f, env, amy, chat, multipartBody(map[string]string{"name": "G"}, pngBytes)); status != http.StatusOK || !bytes.Contains(got, []byte(`"photo":"http`)) {
		f.Fatalf("a real PNG photo: %d %s", status, got)
	}
	f.Fuzz(func(t *testing.T, whole bool, data []byte) {
		body := data
		if !whole {
			body = multipartBody(map[string]string{"name": "G"}, data)
		}
		status, got := putRawChat(t, env, amy, chat, body)
		if status >= 500 {
			t.Fatalf("PUT /chats/%s with %q: %d %s", chat, body, status, got)
		}
		if !json.Valid(got) {
			t.Fatalf("PUT /chats/%s with %q: a non-JSON answer %d %q", chat, body, status, got)
		}
	})
}

// putRawChat sends body to PUT /chats/{id} as multipart form data with
// fuzzBoundary and returns the answer's status and body.
func putRawChat(t testing.TB, env *servertest.Env, u servertest.User, chat string, body []byte) (int, []byte) {
	t.Helper()
	return fuzzExchange(t, env, "PUT", "/chats/"+chat, u.Token, "multipart/form-data; boundary="+fuzzBoundary, body)
}

// fuzzExchange sends one request and returns the answer's status and body.
// The exchange is checked against the OpenAPI document like every test
// client's, but violations fail t, the current input, rather than the fuzz
// target (which may not fail from inside its function).
func fuzzExchange(t testing.TB, env *servertest.Env, method, path, token, contentType string, body []byte) (int, []byte) {
	t.Helper()
	contract, err := servertest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: contract.CheckedTransport(fuzzTransport, func(err error) { t.Errorf("%v", err) })}
	req, err := http.NewRequest(method, env.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, got
}

// fuzzTransport is shared by the fuzz exchanges so connections are reused.
var fuzzTransport = &http.Transport{}
