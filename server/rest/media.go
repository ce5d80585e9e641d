package rest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/media"
)

// MediaFiles opens stored uploads by key (media.Dir, media.Bucket).
type MediaFiles interface {
	Open(ctx context.Context, key string) (*media.Object, error)
}

// mediaFiles serves uploaded files at /media/<key>, streamed from the
// store whichever it is (the instance's folder or a bucket shared by every
// instance), so the URL is the same wherever the file is kept. A missing
// file gets the JSON 404 every other endpoint answers; a store that cannot
// be reached, 503.
func (a *API) mediaFiles() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, media.Prefix)
		obj, err := a.media.Open(r.Context(), key)
		if errors.Is(err, media.ErrNotFound) {
			a.writeError(w, r, apperr.NotFoundf("media_not_found", "No such file"))
			return
		}
		if err != nil {
			a.log.WarnContext(r.Context(), "media store", "err", err, "key", key, "request_id", requestID(r.Context()))
			a.writeError(w, r, apperr.RetryLater(apperr.Unavailable, "media_unavailable", 5*time.Second, "Stored files cannot be read right now; try again"))
			return
		}
		defer obj.Close()
		media.Serve(w, r, obj)
	})
}
