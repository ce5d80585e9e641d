package social

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for photos
	_ "image/png"
	"net/http"
	"strings"

	_ "golang.org/x/image/webp"

	"github.com/vibesync/vibesync/server/apperr"
)

// Storage keeps uploaded media (chat photos) under keys such as
// "chats/<id>/<file>.png" and knows their public URLs.
type Storage interface {
	// Put stores data under key, replacing what was there.
	Put(ctx context.Context, key string, data []byte) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL is the absolute public URL of key.
	URL(key string) string
	// KeyOf returns the key of a URL this storage handed out.
	KeyOf(url string) (string, bool)
}

// MaxPhotoBytes bounds an uploaded photo (10 MiB).
const MaxPhotoBytes = 10 << 20

// MaxPhotoPixels bounds a photo's width × height (40 megapixels): a small
// file may claim a huge canvas, and every client that shows it decodes it.
const MaxPhotoPixels = 40_000_000

type photoFile struct {
	data   []byte
	ext    string
	format string // as image.Decode names it
}

// Photos are JPEG, PNG or WebP, checked by their content, never by what
// the client claims, in two steps: sniffPhoto reads the header (type,
// size, pixel count) before anything else, and verifyPhoto decodes the
// whole image once the caller is known to be allowed to upload it. GIF is
// refused (an animation's frames cannot be bounded before all are
// decoded), and so is AVIF (no decoder here to prove it a whole image).

// sniffPhoto checks a photo's size, type and header: at most
// MaxPhotoBytes (413 photo_too_large), a JPEG, PNG or WebP header (400
// invalid_photo), at most MaxPhotoPixels (413 photo_too_many_pixels).
func sniffPhoto(data []byte) (photoFile, error) {
	if len(data) > MaxPhotoBytes {
		return photoFile{}, apperr.New(apperr.TooLarge, "photo_too_large", "The photo must be at most %d bytes", MaxPhotoBytes)
	}
	if len(data) == 0 {
		return photoFile{}, apperr.InvalidField("photo", "photo is empty")
	}
	var p photoFile
	switch http.DetectContentType(data) {
	case "image/jpeg":
		p = photoFile{data: data, ext: ".jpg", format: "jpeg"}
	case "image/png":
		p = photoFile{data: data, ext: ".png", format: "png"}
	case "image/webp":
		p = photoFile{data: data, ext: ".webp", format: "webp"}
	default:
		return photoFile{}, apperr.InvalidField("photo", "photo must be a JPEG, PNG or WebP image")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != p.format {
		return photoFile{}, apperr.InvalidField("photo", "photo is not a readable %s image", strings.ToUpper(p.format))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return photoFile{}, apperr.InvalidField("photo", "photo has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPhotoPixels {
		return photoFile{}, &apperr.Error{Code: apperr.TooLarge, Reason: "photo_too_many_pixels", Field: "photo",
			Message: fmt.Sprintf("The photo must be at most %d pixels (it is %d×%d)", MaxPhotoPixels, cfg.Width, cfg.Height)}
	}
	return p, nil
}

// verifyPhoto decodes p whole and refuses it (400 invalid_photo) unless
// it decodes without error and nothing follows the image's end (a PNG
// followed by HTML, say). Decoding holds up to 4 bytes a pixel, so one
// runs at a time per instance; a caller waits for its turn (or leaves).
func (s *Service) verifyPhoto(ctx context.Context, p photoFile) error {
	select {
	case s.photoSlot <- struct{}{}:
		defer func() { <-s.photoSlot }()
	case <-ctx.Done():
		return ctx.Err()
	}
	r := bytes.NewReader(p.data)
	if _, _, err := image.Decode(r); err != nil {
		return apperr.InvalidField("photo", "photo is not a whole %s image", strings.ToUpper(p.format))
	}
	if !endsCleanly(p) {
		return apperr.InvalidField("photo", "photo has data after the end of the image")
	}
	return nil
}

// endsCleanly reports whether nothing follows the end of p's image: the
// PNG IEND chunk, the JPEG end-of-image marker, the WebP RIFF size.
func endsCleanly(p photoFile) bool {
	d := p.data
	switch p.format {
	case "png":
		return pngEnd(d) == len(d)
	case "jpeg":
		return jpegEnd(d) == len(d)
	case "webp": // a RIFF file: its size field counts everything after the first 8 bytes
		return len(d) >= 12 && int64(binary.LittleEndian.Uint32(d[4:8]))+8 == int64(len(d))
	}
	return false
}

// jpegEnd is the offset just past the end-of-image marker, walking the
// segments and the entropy-coded data after each start of scan (or -1).
func jpegEnd(d []byte) int {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return -1
	}
	i := 2
	for i+1 < len(d) {
		if d[i] != 0xFF {
			return -1
		}
		m := d[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xD9:
			return i + 2
		case m >= 0xD0 && m <= 0xD7 || m == 0x01: // markers without a length
			i += 2
			continue
		}
		if i+4 > len(d) {
			return -1
		}
		i += 2 + (int(d[i+2])<<8 | int(d[i+3]))
		if m == 0xDA { // scan data runs to the next marker that is not a stuffed 0 or a restart
			for i+1 < len(d) && (d[i] != 0xFF || d[i+1] == 0x00 || d[i+1] >= 0xD0 && d[i+1] <= 0xD7) {
				i++
			}
		}
	}
	return -1
}

// pngEnd is the offset just past the IEND chunk, walking the chunks (or
// -1 when they do not chain up to one).
func pngEnd(d []byte) int {
	off := 8 // the signature
	for off+12 <= len(d) {
		n := int(binary.BigEndian.Uint32(d[off : off+4]))
		if n < 0 || off+12+n > len(d) {
			return -1
		}
		typ := string(d[off+4 : off+8])
		off += 12 + n
		if typ == "IEND" {
			return off
		}
	}
	return -1
}

// noStorage refuses uploads; the server always configures a real Storage.
type noStorage struct{}

func (noStorage) Put(context.Context, string, []byte) error {
	return apperr.New(apperr.Unavailable, "no_media_storage", "Uploads are not configured on this server")
}
func (noStorage) Delete(context.Context, string) error { return nil }
func (noStorage) URL(key string) string                { return "/media/" + key }
func (noStorage) KeyOf(string) (string, bool)          { return "", false }
