package rest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/media"
	"github.com/vibesync/vibesync/server/rest"
	"github.com/vibesync/vibesync/server/servertest"
)

// access is one route's row of the authorization matrix: the status an
// anonymous caller and a caller with a malformed or forged token get.
type access struct {
	anonymous, badToken int
}

// matrix has a row for every route of the route table (rest.API.Routes):
// a route added without its row fails TestAuthorizationMatrix. 🔒 routes
// answer 401 before anything else; public ones answer as themselves (an
// empty sign-in body is a 400, /ws authenticates itself).
var matrix = map[string]access{
	"GET /healthz":                                        {anonymous: 200, badToken: 200},
	"GET /readyz":                                         {anonymous: 200, badToken: 200},
	"GET /openapi.yaml":                                   {anonymous: 200, badToken: 200},
	"GET /openapi.json":                                   {anonymous: 200, badToken: 200},
	"POST /auth/register":                                 {anonymous: 400, badToken: 400},
	"POST /auth/login":                                    {anonymous: 400, badToken: 400},
	"POST /auth/refresh":                                  {anonymous: 400, badToken: 400},
	"POST /auth/logout":                                   {anonymous: 401, badToken: 401},
	"POST /auth/password":                                 {anonymous: 401, badToken: 401},
	"GET /auth/sessions":                                  {anonymous: 401, badToken: 401},
	"DELETE /auth/sessions":                               {anonymous: 401, badToken: 401},
	"DELETE /auth/sessions/{id}":                          {anonymous: 401, badToken: 401},
	"GET /users":                                          {anonymous: 401, badToken: 401},
	"GET /users/me":                                       {anonymous: 401, badToken: 401},
	"PATCH /users/me":                                     {anonymous: 401, badToken: 401},
	"DELETE /users/me":                                    {anonymous: 401, badToken: 401},
	"GET /users/me/export":                                {anonymous: 401, badToken: 401},
	"GET /users/{id}":                                     {anonymous: 401, badToken: 401},
	"POST /users/{id}/follow":                             {anonymous: 401, badToken: 401},
	"DELETE /users/{id}/follow":                           {anonymous: 401, badToken: 401},
	"POST /users/{id}/block":                              {anonymous: 401, badToken: 401},
	"DELETE /users/{id}/block":                            {anonymous: 401, badToken: 401},
	"GET /users/me/following":                             {anonymous: 401, badToken: 401},
	"GET /users/me/followers":                             {anonymous: 401, badToken: 401},
	"GET /users/me/blocked":                               {anonymous: 401, badToken: 401},
	"PUT /users/me/status":                                {anonymous: 401, badToken: 401},
	"DELETE /users/me/status":                             {anonymous: 401, badToken: 401},
	"GET /connections":                                    {anonymous: 401, badToken: 401},
	"POST /connections/{userId}":                          {anonymous: 401, badToken: 401},
	"POST /connections/{userId}/accept":                   {anonymous: 401, badToken: 401},
	"DELETE /connections/{userId}":                        {anonymous: 401, badToken: 401},
	"GET /connections/{userId}/status":                    {anonymous: 401, badToken: 401},
	"GET /connections/established":                        {anonymous: 401, badToken: 401},
	"GET /connections/pending":                            {anonymous: 401, badToken: 401},
	"POST /v1/connections/{user_id}/request":              {anonymous: 401, badToken: 401},
	"POST /v1/connections/{user_id}/accept/{request_id}":  {anonymous: 401, badToken: 401},
	"POST /v1/connections/{user_id}/decline/{request_id}": {anonymous: 401, badToken: 401},
	"GET /v1/connections/{user_id}/sent":                  {anonymous: 401, badToken: 401},
	"GET /v1/connections/{user_id}/received":              {anonymous: 401, badToken: 401},
	"GET /v1/connections/{user_id}/active":                {anonymous: 401, badToken: 401},
	"GET /v1/connections/{user_id}/notifications":         {anonymous: 401, badToken: 401},
	"POST /v1/connections/{user_id}/notifications/{notification_id}/read": {anonymous: 401, badToken: 401},
	"DELETE /v1/connections/{user_id}/{connection_id}":                    {anonymous: 401, badToken: 401},
	"GET /notifications":                                    {anonymous: 401, badToken: 401},
	"POST /notifications/read-all":                          {anonymous: 401, badToken: 401},
	"POST /notifications/{id}/read":                         {anonymous: 401, badToken: 401},
	"GET /users/{id}/score":                                 {anonymous: 401, badToken: 401},
	"POST /chats":                                           {anonymous: 401, badToken: 401},
	"GET /chats":                                            {anonymous: 401, badToken: 401},
	"GET /chats/explore/communities":                        {anonymous: 401, badToken: 401},
	"GET /chats/{id}":                                       {anonymous: 401, badToken: 401},
	"PUT /chats/{id}":                                       {anonymous: 401, badToken: 401},
	"DELETE /chats/{id}":                                    {anonymous: 401, badToken: 401},
	"GET /chats/{id}/files":                                 {anonymous: 401, badToken: 401},
	"POST /chats/{id}/read":                                 {anonymous: 401, badToken: 401},
	"POST /chats/{id}/messages":                             {anonymous: 401, badToken: 401},
	"GET /chats/{id}/messages":                              {anonymous: 401, badToken: 401},
	"DELETE /chats/{id}/messages/{messageId}":               {anonymous: 401, badToken: 401},
	"POST /chats/{id}/participants":                         {anonymous: 401, badToken: 401},
	"POST /chats/{id}/participants/multiple":                {anonymous: 401, badToken: 401},
	"DELETE /chats/{id}/participants/{participantId}":       {anonymous: 401, badToken: 401},
	"POST /chats/{id}/participants/{participantId}/admin":   {anonymous: 401, badToken: 401},
	"DELETE /chats/{id}/participants/{participantId}/admin": {anonymous: 401, badToken: 401},
	"POST /chats/{id}/participants/{participantId}/status":  {anonymous: 401, badToken: 401},
	"GET /requests":                                         {anonymous: 401, badToken: 401},
	"POST /requests":                                        {anonymous: 401, badToken: 401},
	"GET /requests/{id}":                                    {anonymous: 401, badToken: 401},
	"PATCH /requests/{id}":                                  {anonymous: 401, badToken: 401},
	"POST /reels":                                           {anonymous: 401, badToken: 401},
	"POST /reels/{id}/like":                                 {anonymous: 401, badToken: 401},
	"POST /reels/{id}/superlike":                            {anonymous: 401, badToken: 401},
	"POST /reels/{id}/favorite":                             {anonymous: 401, badToken: 401},
	"POST /push/devices":                                    {anonymous: 401, badToken: 401},
	"DELETE /push/devices/{token}":                          {anonymous: 401, badToken: 401},
	"GET /media/":                                           {anonymous: 404, badToken: 404},
	"GET /ws":                                               {anonymous: 401, badToken: 401},
}

type noLive struct{}

func (noLive) ServeSocket(http.ResponseWriter, *http.Request, string) error { return nil }

type noMedia struct{}

func (noMedia) Open(context.Context, string) (*media.Object, error) { return nil, media.ErrNotFound }

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	api := rest.New(rest.Config{Media: noMedia{}, Live: noLive{}})
	api.Register(http.NewServeMux())
	routes := api.Routes()
	for _, pattern := range routes {
		if _, ok := matrix[pattern]; !ok {
			t.Errorf("route %q has no row in the authorization matrix", pattern)
		}
	}
	seen := map[string]bool{}
	for _, p := range routes {
		seen[p] = true
	}
	for pattern := range matrix {
		if !seen[pattern] {
			t.Errorf("matrix row %q names no route", pattern)
		}
	}
	env := servertest.Shared(t)
	forged := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1NjcifQ.c2lnbmF0dXJl"
	for _, pattern := range routes {
		row := matrix[pattern]
		method, path, _ := strings.Cut(pattern, " ")
		path = fillPath(path)
		for _, c := range []struct {
			who, token string
			want       int
		}{{"anonymous", "", row.anonymous}, {"malformed token", "not-a-token", row.badToken}, {"forged token", forged, row.badToken}} {
			var body any
			if method != "GET" && method != "DELETE" {
				body = map[string]any{}
			}
			r := env.Do(method, path, c.token, body)
			if r.Status != c.want {
				t.Errorf("%s as %s: %d, want %d; body %s", pattern, c.who, r.Status, c.want, r.Body)
				continue
			}
			if c.want == http.StatusUnauthorized && pattern != "GET /ws" {
				if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s as %s: 401 without a JSON body and WWW-Authenticate", pattern, c.who)
				}
			}
		}
	}
}

// fillPath puts well-formed values into a pattern's wildcards.
func fillPath(path string) string {
	for {
		i := strings.Index(path, "{")
		if i < 0 {
			return path
		}
		j := strings.Index(path[i:], "}") + i
		v := "0123456789abcdef01234567"
		switch path[i+1 : j] {
		case "request_id", "notification_id", "connection_id":
			v = "1"
		case "token":
			v = "device-token"
		}
		path = path[:i] + v + path[j+1:]
	}
}

type brokenMedia struct{}

func (brokenMedia) Open(context.Context, string) (*media.Object, error) {
	return nil, errors.New("dial tcp: connection refused")
}

// TestMediaStoreOutage: a media store that cannot be reached (an S3
// server down) answers a JSON 503 with Retry-After, not a 500 or a 404.
func TestMediaStoreOutage(t *testing.T) {
	t.Parallel()
	api := rest.New(rest.Config{Media: brokenMedia{}, Live: noLive{}})
	mux := http.NewServeMux()
	api.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/media/chats/0123456789abcdef01234567/p.png", nil))
	res := servertest.NewResponse(t, "GET /media/…", rec.Code, rec.Header(), rec.Body.Bytes())
	res.WantError(http.StatusServiceUnavailable, "media_unavailable")
	if rec.Header().Get("Retry-After") == "" || strings.Contains(rec.Body.String(), "refused") {
		t.Fatalf("answer: %v %s", rec.Header(), rec.Body)
	}
}
