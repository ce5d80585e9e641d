package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/rest"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

// roles is one chat or join-request route's row of the authorization
// matrix by the caller's relation to the group: its owner (an admin), a
// member, a stranger, a user the owner blocked, and a participant who was
// removed from it.
type roles struct {
	owner, member, stranger, blocked, removed int
}

// roleMatrix has a row for every chat and join-request route of the route
// table: a route added there without its row fails
// TestAuthorizationMatrixByRole. The statuses follow the rules of
// spec/3-chats.txt and spec/2-join-requests.txt ("user must belong to that
// chat", "user must be the chat admin": 403) and docs/DECISIONS.md (a block
// with an admin refuses joining and join requests, 403 blocked; a request
// is visible to its sender and the group's admins, else 404). A 409 for the
// owner is a call that passed authorization and met the fixture's state.
var roleMatrix = map[string]roles{
	"POST /chats":                                           {201, 201, 201, 201, 201},
	"GET /chats":                                            {200, 200, 200, 200, 200},
	"GET /chats/explore/communities":                        {200, 200, 200, 200, 200},
	"GET /chats/{id}":                                       {200, 200, 403, 403, 403},
	"PUT /chats/{id}":                                       {200, 403, 403, 403, 403},
	"DELETE /chats/{id}":                                    {204, 403, 403, 403, 403},
	"GET /chats/{id}/files":                                 {200, 200, 403, 403, 403},
	"POST /chats/{id}/read":                                 {200, 200, 403, 403, 403},
	"POST /chats/{id}/messages":                             {201, 201, 403, 403, 403},
	"GET /chats/{id}/messages":                              {200, 200, 403, 403, 403},
	"DELETE /chats/{id}/messages/{messageId}":               {204, 403, 403, 403, 403},
	"POST /chats/{id}/participants":                         {409, 409, 201, 403, 201},
	"POST /chats/{id}/participants/multiple":                {201, 403, 403, 403, 403},
	"DELETE /chats/{id}/participants/{participantId}":       {204, 403, 403, 403, 403},
	"POST /chats/{id}/participants/{participantId}/admin":   {200, 403, 403, 403, 403},
	"DELETE /chats/{id}/participants/{participantId}/admin": {409, 403, 403, 403, 403},
	"POST /chats/{id}/participants/{participantId}/status":  {409, 403, 403, 403, 403},
	"GET /requests":                                         {200, 200, 200, 200, 200},
	"POST /requests":                                        {409, 409, 201, 403, 201},
	"GET /requests/{id}":                                    {200, 404, 404, 404, 404},
	"PATCH /requests/{id}":                                  {200, 403, 403, 403, 403},
}

// roleRoute reports whether pattern is a chat or join-request route.
func roleRoute(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return strings.HasPrefix(path, "/chats") || strings.HasPrefix(path, "/requests")
}

func TestAuthorizationMatrixByRole(t *testing.T) {
	t.Parallel()
	api := rest.New(rest.Config{Media: noMedia{}, Live: noLive{}})
	api.Register(http.NewServeMux())
	var routes []string
	for _, pattern := range api.Routes() {
		if roleRoute(pattern) {
			routes = append(routes, pattern)
			if _, ok := roleMatrix[pattern]; !ok {
				t.Errorf("route %q has no row in the role matrix", pattern)
			}
		}
	}
	for pattern := range roleMatrix {
		if !contains(routes, pattern) {
			t.Errorf("role matrix row %q names no chat or join-request route", pattern)
		}
	}
	env := servertest.New(t)
	owner, member, stranger, blocked, removed := env.Register("Owner"), env.Register("Member"), env.Register("Stranger"), env.Register("Blocked"), env.Register("Removed")
	target, asker := env.Register("Target"), env.Register("Asker")
	block(t, env, owner, blocked)
	follow(t, env, owner, target)
	follow(t, env, member, target)
	follow(t, env, stranger, target)
	follow(t, env, blocked, target)
	follow(t, env, removed, target)
	follow(t, env, owner, member) // member can be put in owner's groups
	// Each route's calls run at once with the others': every call has
	// fixtures of its own.
	for _, pattern := range routes {
		t.Run(strings.ReplaceAll(pattern, " ", "_"), func(t *testing.T) {
			t.Parallel()
			env := env.For(t)
			row := roleMatrix[pattern]
			method, path, _ := strings.Cut(pattern, " ")
			for _, c := range []struct {
				who  string
				u    servertest.User
				want int
			}{{"owner", owner, row.owner}, {"member", member, row.member}, {"stranger", stranger, row.stranger}, {"blocked", blocked, row.blocked}, {"removed", removed, row.removed}} {
				// A fresh group for every call, since calls change it: the
				// owner with member, target and (removed again) removed; a
				// message of target's; asker's request to a restricted group
				// of the owner's that member belongs to. Made through the
				// service (the calls, not the fixtures, are what is checked
				// here, each fixture's route has tests of its own).
				g, msg, closed, req := roleFixtures(t, env, owner, member, target, removed, asker)
				p := strings.NewReplacer("{id}", g.ID, "{messageId}", msg.ID, "{participantId}", target.ID).Replace(path)
				var body any
				switch pattern {
				case "GET /chats/explore/communities":
					p += "?search=Study"
				case "POST /chats":
					body = map[string]any{"isGroup": true, "name": "New", "category": "Study", "participants": []string{target.ID}}
				case "POST /chats/{id}/messages":
					body = map[string]any{"text": "hi"}
				case "POST /chats/{id}/participants/multiple":
					body = map[string]any{"participants": []string{target.ID}}
				case "POST /chats/{id}/participants/{participantId}/status":
					body = map[string]any{"status": "accepted"}
				case "POST /requests":
					body = map[string]any{"chat": closed.ID}
				case "GET /requests/{id}", "PATCH /requests/{id}":
					p = "/requests/" + req.ID
					if method == "PATCH" {
						body = map[string]any{"status": "accepted"}
					}
				}
				var status int
				var got []byte
				if pattern == "PUT /chats/{id}" {
					r := putChat(t, env, c.u, g.ID, map[string]string{"name": "New"}, nil)
					status, got = r.Status, r.Body
				} else {
					r := env.Do(method, p, c.u.Token, body)
					status, got = r.Status, r.Body
				}
				if status != c.want {
					t.Errorf("%s as %s: %d, want %d; body %s", pattern, c.who, status, c.want, got)
				}
			}
		})
	}
}

// roleFixtures makes one call's fixtures for TestAuthorizationMatrixByRole
// through the service: g, owner's group with member, target and (removed
// again) removed; msg, target's message in it; closed, owner's restricted
// group with member; req, asker's request to join closed.
func roleFixtures(t *testing.T, env *servertest.Env, owner, member, target, removed, asker servertest.User) (g chatJSON, msg messageJSON, closed chatJSON, req requestJSON) {
	t.Helper()
	ctx, svc := t.Context(), env.Server.Social()
	as := func(u servertest.User) social.Caller { return social.Caller{UserID: u.ID} }
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	restricted := true
	gc, _, err := svc.CreateChat(ctx, as(owner), social.NewChat{IsGroup: true, Name: "G", Category: "Study", Participants: &[]string{}})
	check(err)
	for _, u := range []servertest.User{member, target, removed} {
		_, err := svc.Join(ctx, as(u), gc.ID)
		check(err)
	}
	check(svc.RemoveParticipant(ctx, as(owner), gc.ID, removed.ID))
	sent, err := svc.SendMessage(ctx, as(target), gc.ID, social.NewMessage{Text: "hello"})
	check(err)
	cc, _, err := svc.CreateChat(ctx, as(owner), social.NewChat{IsGroup: true, Name: "R", Category: "Study",
		Participants: &[]string{member.ID}, Restricted: &restricted})
	check(err)
	jr, err := svc.CreateRequest(ctx, as(asker), cc.ID)
	check(err)
	return chatJSON{ID: gc.ID}, messageJSON{ID: sent.Message.ID}, chatJSON{ID: cc.ID}, requestJSON{ID: jr.ID}
}
