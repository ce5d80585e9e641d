package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"reflect"
	"strconv"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/ratelimit"
	"github.com/vibesync/vibesync/server/social"
)

// MaxBodyBytes bounds every JSON request body (413 above).
const MaxBodyBytes = 1 << 20

// errorBody is the JSON error every endpoint answers with.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
	Field   string `json:"field,omitempty"`
}

// StatusClientClosedRequest is recorded for a request whose caller
// disconnected before it was answered.
const StatusClientClosedRequest = 499

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:          http.StatusBadRequest,
	apperr.Unauthenticated:  http.StatusUnauthorized,
	apperr.Forbidden:        http.StatusForbidden,
	apperr.NotFound:         http.StatusNotFound,
	apperr.Conflict:         http.StatusConflict,
	apperr.TooLarge:         http.StatusRequestEntityTooLarge,
	apperr.RateLimited:      http.StatusTooManyRequests,
	apperr.Unavailable:      http.StatusServiceUnavailable,
	apperr.TimedOut:         http.StatusRequestTimeout,
	apperr.UnsupportedMedia: http.StatusUnsupportedMediaType,
	apperr.HeadersTooLarge:  http.StatusRequestHeaderFieldsTooLarge,
	apperr.Internal:         http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for err.
func StatusOf(err error) int {
	if s, ok := statusOf[apperr.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// writeError answers err as JSON. Errors that are not *apperr.Error are
// logged here, once, with the request id, and shown only as "internal".
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	a.writeErrorTitled(w, r, err, http.StatusText)
}

// writeErrorTitled is writeError with the "error" title of each status
// chosen by title (the v1 API words some differently).
func (a *API) writeErrorTitled(w http.ResponseWriter, r *http.Request, err error, title func(int) string) {
	status := StatusOf(err)
	if status >= 500 && r.Context().Err() != nil {
		// The caller went away before its answer, and the failure follows
		// from that (the driver reports a cancelled query as context.Canceled
		// or as an interrupted statement): nobody reads this answer and the
		// server did not fail. 499, as nginx names it, keeps it out of the
		// 5xx figures and the error log.
		a.log.DebugContext(r.Context(), "caller went away", "err", err, "request_id", requestID(r.Context()))
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	pub := apperr.Public(apperr.RenameFields(err, fieldNames))
	if status >= 500 {
		a.log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", requestID(r.Context()),
			"method", r.Method, "path", r.URL.Path)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vibesync"`)
	}
	if pub.RetryAfter > 0 {
		w.Header().Set("Retry-After", ratelimit.RetryAfterSeconds(pub.RetryAfter))
	}
	writeJSON(w, status, errorBody{Error: title(status), Message: pub.Message, Code: pub.Reason, Field: pub.Field})
}

// fieldNames are the spec's names of the rules' neutral field names that
// every route names alike (routes whose input names one otherwise rename it
// themselves first, as sendMessage does).
var fieldNames = map[string]string{
	social.FieldParticipant: "participantId",
	social.FieldMessageID:   "messageId",
	// The thing a route's {id} path parameter names.
	social.FieldChatID:         "id",
	social.FieldUserID:         "id",
	social.FieldRequestID:      "id",
	social.FieldReelID:         "id",
	social.FieldNotificationID: "id",
	social.FieldSessionID:      "id",
	// No REST route names a connection record by id; kept as the
	// connection shapes name the field.
	social.FieldConnectionID: "connectionId",
}

// writeJSON encodes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}

// requireJSON answers 415 unsupported_media_type unless r says its body is
// JSON (application/json, any parameters). Refusing other types
// also keeps browsers' cross-site form posts (which cannot send a JSON
// type without a CORS preflight) from reaching a handler.
func requireJSON(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "application/json" {
		return nil
	}
	return apperr.New(apperr.UnsupportedMedia, "unsupported_media_type", "The request body must be JSON (Content-Type: application/json)")
}

// decode reads a JSON object body into v. An empty body is an error unless
// optional is set. Malformed JSON, a wrong type (naming the field), trailing
// data and bodies over MaxBodyBytes come back as *apperr.Error.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if r.ContentLength != 0 {
		if err := requireJSON(r); err != nil {
			return err
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(exactKeys(data, reflect.TypeOf(v))))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			if optional {
				return nil
			}
			return apperr.Invalidf("empty_body", "The request body must be a JSON object")
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return apperr.Invalidf("malformed_json", "The request body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return apperr.New(apperr.TooLarge, "body_too_large", "The request body must be at most %d bytes", mbe.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyTimeout
	case errors.As(err, &ute):
		if ute.Field == "" {
			return apperr.Invalidf("malformed_json", "The request body must be a JSON %s", kindName(ute.Type))
		}
		return apperr.InvalidField(ute.Field, "%s must be %s", ute.Field, withArticle(kindName(ute.Type)))
	case errors.As(err, &se):
		return apperr.Invalidf("malformed_json", "Malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalidf("malformed_json", "Malformed JSON: the body ends too soon")
	}
	var fe interface{ Field() string }
	if errors.As(err, &fe) {
		return apperr.InvalidField(fe.Field(), "%s: %v", fe.Field(), err)
	}
	return apperr.Invalidf("malformed_json", "Malformed JSON: %v", err)
}

// errBodyTimeout answers a body that did not arrive within the route's
// bound (Timeouts): 408, and the connection is closed after the answer.
var errBodyTimeout = apperr.New(apperr.TimedOut, "body_timeout", "The request body did not arrive in time")

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Pointer:
		return kindName(t.Elem())
	}
	return "object"
}

func withArticle(s string) string {
	switch s {
	case "array", "object":
		return "an " + s
	}
	return "a " + s
}

// Paging for the documented API: limit (default 10, 1–100) and page
// (default 1). Values out of range are a 400, not silently clamped.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// pageOf reads limit and page from the query.
func pageOf(r *http.Request) (social.Page, error) {
	return pageParams(r, "limit", DefaultLimit, MaxLimit)
}

// pageParams reads page and a page-size parameter named sizeName with the
// given default and maximum.
func pageParams(r *http.Request, sizeName string, def, max int) (social.Page, error) {
	q := r.URL.Query()
	limit, err := intParam(q.Get(sizeName), sizeName, def, 1, max)
	if err != nil {
		return social.Page{}, err
	}
	page, err := intParam(q.Get("page"), "page", 1, 1, 1_000_000)
	if err != nil {
		return social.Page{}, err
	}
	return social.Page{Offset: (page - 1) * limit, Limit: limit}, nil
}

func intParam(raw, name string, def, min, max int) (int, error) {
	if raw == "" {
		return def, nil
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < min || v > max {
		return 0, apperr.InvalidField(name, "%s must be a whole number from %d to %d", name, min, max)
	}
	return v, nil
}

// boolParam reads an optional "true"/"false" query parameter.
func boolParam(r *http.Request, name string) (*bool, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return nil, nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return nil, apperr.InvalidField(name, "%s must be true or false", name)
	}
	return &v, nil
}

// writeWrapped writes {"<key>": v} from data, v already encoded with
// json.Marshal, without encoding it again. json.Marshal escapes <, > and &
// where writeJSON does not, so an encoding holding such an escape (or no
// encoding at all) goes through writeJSON: the answer's bytes are the same
// either way.
func writeWrapped(w http.ResponseWriter, status int, key string, data []byte, v any) {
	if data == nil || bytes.Contains(data, []byte(`\u00`)) {
		writeJSON(w, status, map[string]any{key: v})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	buf := make([]byte, 0, len(key)+len(data)+8)
	buf = append(buf, `{"`...)
	buf = append(buf, key...)
	buf = append(buf, `":`...)
	buf = append(buf, data...)
	buf = append(buf, "}\n"...)
	_, _ = w.Write(buf) // the client went away; nothing left to tell it
}
