package social

import (
	"context"
	"net/http"

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

type photoFile struct {
	data []byte
	ext  string
}

// sniffPhoto checks a photo by its content, not by what the client claims:
// JPEG, PNG, WebP, GIF or AVIF, at most MaxPhotoBytes.
func sniffPhoto(data []byte) (photoFile, error) {
	if len(data) > MaxPhotoBytes {
		return photoFile{}, apperr.New(apperr.TooLarge, "photo_too_large", "The photo must be at most %d bytes", MaxPhotoBytes)
	}
	if len(data) == 0 {
		return photoFile{}, apperr.InvalidField("photo", "photo is empty")
	}
	if len(data) >= 12 && string(data[4:8]) == "ftyp" && (string(data[8:12]) == "avif" || string(data[8:12]) == "avis") {
		return photoFile{data: data, ext: ".avif"}, nil
	}
	switch http.DetectContentType(data) {
	case "image/jpeg":
		return photoFile{data: data, ext: ".jpg"}, nil
	case "image/png":
		return photoFile{data: data, ext: ".png"}, nil
	case "image/webp":
		return photoFile{data: data, ext: ".webp"}, nil
	case "image/gif":
		return photoFile{data: data, ext: ".gif"}, nil
	}
	return photoFile{}, apperr.InvalidField("photo", "photo must be a JPEG, PNG, WebP, GIF or AVIF image")
}

// noStorage refuses uploads; the server always configures a real Storage.
type noStorage struct{}

func (noStorage) Put(context.Context, string, []byte) error {
	return apperr.New(apperr.Unavailable, "no_media_storage", "Uploads are not configured on this server")
}
func (noStorage) Delete(context.Context, string) error { return nil }
func (noStorage) URL(key string) string                { return "/media/" + key }
func (noStorage) KeyOf(string) (string, bool)          { return "", false }
