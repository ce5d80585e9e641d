package social

import (
	"encoding/json"
	"testing"

	"github.com/vibesync/vibesync/server/apperr"
)

func TestSniffPhoto(t *testing.T) {
	ok := map[string][]byte{
		".jpg":  []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
		".png":  []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
		".gif":  []byte("GIF89a\x01\x00\x01\x00"),
		".webp": []byte("RIFF\x24\x00\x00\x00WEBPVP8 "),
		".avif": []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00"),
	}
	for ext, data := range ok {
		p, err := sniffPhoto(data)
		if err != nil || p.ext != ext {
			t.Errorf("%s: got %q, %v", ext, p.ext, err)
		}
	}
	for name, data := range map[string][]byte{
		"html": []byte("<html><body>hi</body></html>"),
		"svg":  []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`),
		"pdf":  []byte("%PDF-1.7\n"),
		"mp4":  []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"),
	} {
		if _, err := sniffPhoto(data); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s accepted: %v", name, err)
		}
	}
	big := make([]byte, MaxPhotoBytes+1)
	copy(big, ok[".png"])
	if _, err := sniffPhoto(big); !apperr.Is(err, apperr.TooLarge) {
		t.Errorf("oversized photo: %v", err)
	}
}

func TestFileTypeOf(t *testing.T) {
	cases := []struct {
		url, meta, want string
	}{
		{"https://x.test/a.mp4", "", "video"},
		{"https://x.test/a.MOV?sig=1#t", "", "video"},
		{"https://x.test/a.m4a", "", "audio"},
		{"https://x.test/a.jpeg", "", "image"},
		{"https://x.test/a.docx", "", "document"},
		{"https://x.test/a", "", "other"},
		{"https://x.test/a.mp4", `{"mediaType":"image"}`, "image"},
		{"https://x.test/a.mp4", `{"mediaType":"hologram"}`, "video"},
		{"https://x.test/a.mp4", `[1,2]`, "video"},
	}
	for _, c := range cases {
		var meta json.RawMessage
		if c.meta != "" {
			meta = json.RawMessage(c.meta)
		}
		if got := fileTypeOf(c.url, meta); got != c.want {
			t.Errorf("fileTypeOf(%s, %s) = %s, want %s", c.url, c.meta, got, c.want)
		}
	}
}
