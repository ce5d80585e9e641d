package rest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

var (
	pngBytes  = realPNG(8, 8)
	jpegBytes = realJPEG(8, 8)
)

// realPNG is a w×h grey PNG, encoded here: uploads are decoded whole.
func realPNG(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// realJPEG is a w×h grey JPEG.
func realJPEG(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// paddedPNG is a real PNG of exactly size bytes: a private ancillary chunk
// after the header fills it up (decoders skip such chunks).
func paddedPNG(size int) []byte {
	p := realPNG(8, 8)
	n := size - len(p) - 12
	chunk := make([]byte, 12+n)
	binary.BigEndian.PutUint32(chunk[0:4], uint32(n))
	copy(chunk[4:8], "vsPd")
	binary.BigEndian.PutUint32(chunk[8+n:], crc32.ChecksumIEEE(chunk[4:8+n]))
	const ihdrEnd = 8 + 25
	return append(append(append([]byte{}, p[:ihdrEnd]...), chunk...), p[ihdrEnd:]...)
}

// putChat sends PUT /chats/:id as multipart form data.
func putChat(t *testing.T, env *servertest.Env, u servertest.User, chatID string, fields map[string]string, photo []byte) *servertest.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if photo != nil {
		fw, err := mw.CreateFormFile("photo", "upload.txt") // the name and claimed type do not matter
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(photo)
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
	body, _ := io.ReadAll(res.Body)
	return &servertest.Response{T: t, Status: res.StatusCode, Header: res.Header, Body: body}
}

func mediaPath(t *testing.T, photoURL string) string {
	t.Helper()
	p, ok := strings.CutPrefix(photoURL, "http://vibesync.test/media/")
	if !ok {
		t.Fatalf("photo URL %q is not an absolute media URL", photoURL)
	}
	return p
}

func TestUpdateChat(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	setup := func(t *testing.T) (*servertest.Env, servertest.User, servertest.User, chatJSON) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		return env, amy, ben, group(t, env, amy, "G", nil, ben)
	}
	t.Run("updates_the_chat_details", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		got := decodeChat(t, putChat(t, env, amy, c.ID, map[string]string{"name": "New", "category": "Music", "restricted": "true",
			"allowPublicPost": "false", "socket": socketA}, nil).Want(200))
		if got.Name != "New" || got.Category != "Music" || !got.Restricted || got.AllowPublicPost {
			t.Fatalf("%+v", got)
		}
		if !hasEvent(t, env, social.EventChatUpdated, "chat:"+c.ID) {
			t.Fatal("no chat-updated")
		}
		if seen := decodeChat(t, env.Do("GET", "/chats/"+c.ID, ben.Token, nil).Want(200)); seen.Name != "New" {
			t.Fatal("not stored")
		}
	})
	t.Run("courses_category_is_never_restricted", func(t *testing.T) {
		env, amy, _, c := setup(t)
		got := decodeChat(t, putChat(t, env, amy, c.ID, map[string]string{"category": "Courses", "restricted": "true"}, nil).Want(200))
		if got.Restricted {
			t.Fatal("restricted Courses chat")
		}
		got = decodeChat(t, putChat(t, env, amy, c.ID, map[string]string{"restricted": "true"}, nil).Want(200))
		if got.Restricted {
			t.Fatal("restricted Courses chat")
		}
	})
	t.Run("photo_is_checked_by_content_stored_and_served", func(t *testing.T) {
		env, amy, _, c := setup(t)
		got := decodeChat(t, putChat(t, env, amy, c.ID, nil, pngBytes).Want(200))
		key := mediaPath(t, got.Photo)
		if !strings.HasSuffix(key, ".png") || !strings.HasPrefix(key, "chats/"+c.ID+"/") {
			t.Fatalf("key %q", key)
		}
		res, err := http.Get(env.URL + "/media/" + key)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(body, pngBytes) {
			t.Fatalf("served %d, %d bytes", res.StatusCode, len(body))
		}
		again := decodeChat(t, putChat(t, env, amy, c.ID, nil, jpegBytes).Want(200))
		if !strings.HasSuffix(again.Photo, ".jpg") {
			t.Fatalf("jpeg photo %q", again.Photo)
		}
		settleMediaDeletions(t, env)
		if _, err := os.Stat(filepath.Join(env.Dir, "media", filepath.FromSlash(key))); !os.IsNotExist(err) {
			t.Fatalf("old photo kept: %v", err)
		}
		env.Do("GET", "/media/chats/", "", nil).WantError(404, "media_not_found")
		env.Do("GET", "/media/"+key, "", nil).WantError(404, "media_not_found")
		env.Do("GET", "/media/../vibesync.db", "", nil).Want(404)
	})
	t.Run("photo_must_be_an_image", func(t *testing.T) {
		env, amy, _, c := setup(t)
		putChat(t, env, amy, c.ID, nil, []byte("<html>not a photo</html>")).WantError(400, "invalid_photo")
		putChat(t, env, amy, c.ID, nil, []byte{}).WantError(400, "invalid_photo")
	})
	t.Run("only_whole_images_within_40_megapixels", func(t *testing.T) {
		env, amy, _, c := setup(t)
		putChat(t, env, amy, c.ID, nil, append([]byte("\x89PNG\r\n\x1a\n"), "<html><script>alert(1)</script></html>"...)).WantError(400, "invalid_photo")
		putChat(t, env, amy, c.ID, nil, append(realPNG(8, 8), "<html></html>"...)).WantError(400, "invalid_photo")
		huge := realPNG(8, 8)
		binary.BigEndian.PutUint32(huge[16:20], 100_000)
		binary.BigEndian.PutUint32(huge[20:24], 100_000)
		binary.BigEndian.PutUint32(huge[29:33], crc32.ChecksumIEEE(huge[12:29]))
		putChat(t, env, amy, c.ID, nil, huge).WantError(413, "photo_too_many_pixels")
		gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
		putChat(t, env, amy, c.ID, nil, gif).WantError(400, "invalid_photo")
		if files, _ := os.ReadDir(filepath.Join(env.Dir, "media", "chats", c.ID)); len(files) != 0 {
			t.Fatalf("refused photos were stored: %v", files)
		}
	})
	t.Run("photo_is_at_most_10_MiB", func(t *testing.T) {
		env, amy, _, c := setup(t)
		putChat(t, env, amy, c.ID, nil, paddedPNG(10<<20+1)).WantError(413, "")
		putChat(t, env, amy, c.ID, nil, paddedPNG(10<<20)).Want(200)
	})
	t.Run("chat_must_be_a_group_and_user_its_admin", func(t *testing.T) {
		env, amy, ben, c := setup(t)
		putChat(t, env, ben, c.ID, map[string]string{"name": "x"}, pngBytes).WantError(403, "not_admin")
		putChat(t, env, env.Register("Cy"), c.ID, map[string]string{"name": "x"}, nil).WantError(403, "not_participant")
		d := decodeChat(t, env.Do("POST", "/chats", amy.Token, map[string]any{"user": ben.ID}).Want(201))
		putChat(t, env, amy, d.ID, map[string]string{"name": "x"}, nil).WantError(409, "not_group_chat")
		putChat(t, env, amy, "0123456789abcdef01234567", map[string]string{"name": "x"}, nil).WantError(404, "chat_not_found")
		entries, _ := os.ReadDir(filepath.Join(env.Dir, "media", "chats", c.ID))
		if len(entries) != 0 {
			t.Fatal("a refused upload left a file")
		}
	})
	t.Run("bad_form", func(t *testing.T) {
		env, amy, _, c := setup(t)
		env.Do("PUT", "/chats/"+c.ID, amy.Token, map[string]any{"name": "x"}).WantError(400, "multipart_required")
		putChat(t, env, amy, c.ID, map[string]string{"restricted": "yes"}, nil).WantError(400, "invalid_restricted")
		putChat(t, env, amy, c.ID, map[string]string{"name": " "}, nil).WantError(400, "invalid_name")
		putChat(t, env, amy, c.ID, map[string]string{"category": "Event"}, nil).WantError(400, "invalid_category")
	})
	t.Run("deleting_the_chat_deletes_its_photo", func(t *testing.T) {
		env, amy, _, c := setup(t)
		got := decodeChat(t, putChat(t, env, amy, c.ID, nil, pngBytes).Want(200))
		file := filepath.Join(env.Dir, "media", filepath.FromSlash(mediaPath(t, got.Photo)))
		if _, err := os.Stat(file); err != nil {
			t.Fatal(err)
		}
		env.Do("DELETE", "/chats/"+c.ID, amy.Token, nil).Want(204)
		settleMediaDeletions(t, env)
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Fatalf("photo kept: %v", err)
		}
	})
}

// settleMediaDeletions runs the media-deletion pass the server runs
// periodically: files queued for deletion by a committed write are gone
// when it returns (the deletion started at commit may still be running).
func settleMediaDeletions(t *testing.T, env *servertest.Env) {
	t.Helper()
	if _, err := env.Server.DeleteQueuedMedia(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A form cut off before its closing boundary is refused whole: none of the
// fields that did arrive are applied.
func TestUpdateChatRefusesATruncatedForm(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy := env.Register("Amy")
	c := group(t, env, amy, "G", nil)
	whole := multipartBody(map[string]string{"name": "New"}, nil)
	for _, body := range [][]byte{whole[:len(whole)-len("--\r\n")-len(fuzzBoundary)-2], []byte("0"), {}} {
		status, got := putRawChat(t, env, amy, c.ID, body)
		if status != http.StatusBadRequest || !strings.Contains(string(got), `"malformed_form"`) {
			t.Fatalf("%q: %d %s, want 400 malformed_form", body, status, got)
		}
	}
	if got := decodeChat(t, env.Do("GET", "/chats/"+c.ID, amy.Token, nil).Want(200)); got.Name != "G" {
		t.Fatalf("name %q after truncated forms, want G", got.Name)
	}
}
