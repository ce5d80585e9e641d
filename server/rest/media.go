package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/apperr"
)

// mediaFiles serves uploaded files at /media/; a missing file gets the
// JSON 404 every other endpoint answers.
func (a *API) mediaFiles() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nf := &notFoundWriter{ResponseWriter: w, notFound: func() {
			a.writeError(w, r, apperr.NotFoundf("media_not_found", "No such file"))
		}}
		a.media.ServeHTTP(nf, r)
	})
}

// notFoundWriter replaces a wrapped handler's plain-text 404 with notFound.
type notFoundWriter struct {
	http.ResponseWriter
	notFound func()
	hit      bool
}

func (n *notFoundWriter) WriteHeader(code int) {
	if code == http.StatusNotFound && !n.hit {
		n.hit = true
		n.Header().Del("X-Content-Type-Options")
		n.notFound()
		return
	}
	n.ResponseWriter.WriteHeader(code)
}

func (n *notFoundWriter) Write(b []byte) (int, error) {
	if n.hit {
		return len(b), nil
	}
	return n.ResponseWriter.Write(b)
}
