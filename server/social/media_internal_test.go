package social

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/vibesync/vibesync/server/apperr"
)

// photo fixtures: real images, encoded here.
func pngOf(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func jpegOf(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// webp1x1 is a 1×1 lossless WebP.
var webp1x1, _ = base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")

// withIHDR returns a PNG whose header claims w×h (CRC fixed), its pixel
// data unchanged.
func withIHDR(p []byte, w, h uint32) []byte {
	out := append([]byte{}, p...)
	binary.BigEndian.PutUint32(out[16:20], w)
	binary.BigEndian.PutUint32(out[20:24], h)
	binary.BigEndian.PutUint32(out[29:33], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func TestPhotos(t *testing.T) {
	svc := &Service{photoSlot: make(chan struct{}, 1)}
	check := func(data []byte) error {
		p, err := sniffPhoto(data)
		if err != nil {
			return err
		}
		return svc.verifyPhoto(context.Background(), p)
	}
	for ext, data := range map[string][]byte{".png": pngOf(16, 9), ".jpg": jpegOf(16, 9), ".webp": webp1x1} {
		p, err := sniffPhoto(data)
		if err != nil || p.ext != ext {
			t.Errorf("%s: got %q, %v", ext, p.ext, err)
		}
		if err := svc.verifyPhoto(context.Background(), p); err != nil {
			t.Errorf("%s: whole image refused: %v", ext, err)
		}
	}
	png := pngOf(16, 9)
	jpg := jpegOf(16, 9)
	for name, data := range map[string][]byte{
		"html":                      []byte("<html><body>hi</body></html>"),
		"svg":                       []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`),
		"pdf":                       []byte("%PDF-1.7\n"),
		"mp4":                       []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"),
		"gif":                       []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"),
		"avif":                      []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00"),
		"png signature then html":   append([]byte("\x89PNG\r\n\x1a\n"), "<html><script>alert(1)</script></html>"...),
		"png followed by html":      append(append([]byte{}, png...), "<html><script>alert(1)</script></html>"...),
		"truncated png":             png[:len(png)-20],
		"jpeg followed by html":     append(append([]byte{}, jpg...), "<html></html>\xff\xd9"...),
		"truncated jpeg":            jpg[:len(jpg)/2],
		"webp with trailing data":   append(append([]byte{}, webp1x1...), "<html>"...),
		"png claiming a wrong size": withIHDR(png, 17, 9),
	} {
		if err := check(data); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: %v, want 400 invalid_photo", name, err)
		}
	}
	// A header at the format's own limit is refused by the decoder itself.
	if err := check(withIHDR(png, 1<<31-1, 1<<31-1)); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("2^31 × 2^31 header: %v, want refused", err)
	}
	for name, data := range map[string][]byte{
		"100,000 × 100,000 header": withIHDR(png, 100_000, 100_000),
		"40,000,001 pixels":        withIHDR(png, 40_000_001, 1),
	} {
		err := check(data)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.TooLarge || e.Reason != "photo_too_many_pixels" {
			t.Errorf("%s: %v, want 413 photo_too_many_pixels", name, err)
		}
	}
	if _, err := sniffPhoto(withIHDR(png, 8000, 5000)); err != nil {
		t.Errorf("exactly 40 megapixels refused by the header check: %v", err)
	}
	big := make([]byte, 10<<20+1) // the documented limit: 10 MiB
	copy(big, png)
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
