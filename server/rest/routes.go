package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/social"
)

// Register mounts every REST route on target. This is the whole route
// table; Routes lists it afterwards.
func (a *API) Register(target *http.ServeMux) {
	mux := &recordingMux{ServeMux: target, routes: &a.routes}
	// Health.
	mux.Handle("GET /healthz", a.public(a.healthz))
	mux.Handle("GET /readyz", a.public(a.readyz))

	// This API's contract, docs/openapi.yaml.
	mux.Handle("GET /openapi.yaml", a.public(a.openapiYAML))
	mux.Handle("GET /openapi.json", a.public(a.openapiJSON))

	// Auth.
	mux.Handle("POST /auth/register", a.public(a.limitAddr("register", a.register)))
	mux.Handle("POST /auth/login", a.public(a.limitAddr("login", a.login)))
	mux.Handle("POST /auth/refresh", a.public(a.limitAddr("refresh", a.refresh)))
	mux.Handle("POST /auth/logout", a.authed(a.logout))
	mux.Handle("POST /auth/password", a.authed(a.changePassword))
	mux.Handle("GET /auth/sessions", a.authed(a.listSessions))
	mux.Handle("DELETE /auth/sessions", a.authed(a.endOtherSessions))
	mux.Handle("DELETE /auth/sessions/{id}", a.authed(a.endSession))

	// Users.
	mux.Handle("GET /users", a.authed(a.listUsers))
	mux.Handle("GET /users/me", a.authed(a.getMe))
	mux.Handle("PATCH /users/me", a.authed(a.patchMe))
	mux.Handle("DELETE /users/me", a.authed(a.deleteMe))
	mux.Handle("GET /users/me/export", a.authed(a.exportMe))
	mux.Handle("GET /users/{id}", a.authed(a.getUser))

	// Social graph, meet-me status, connections, notifications, score.
	mux.Handle("POST /users/{id}/follow", a.authed(a.follow))
	mux.Handle("DELETE /users/{id}/follow", a.authed(a.unfollow))
	mux.Handle("POST /users/{id}/block", a.authed(a.block))
	mux.Handle("DELETE /users/{id}/block", a.authed(a.unblock))
	mux.Handle("GET /users/me/following", a.authed(a.following))
	mux.Handle("GET /users/me/followers", a.authed(a.followers))
	mux.Handle("GET /users/me/blocked", a.authed(a.blocked))
	mux.Handle("PUT /users/me/status", a.authed(a.putStatus))
	mux.Handle("DELETE /users/me/status", a.authed(a.deleteStatus))

	// Connections, spec/1.
	mux.Handle("GET /connections", a.authed(a.listConnections))
	mux.Handle("POST /connections/{userId}", a.authed(a.createConnection))
	mux.Handle("POST /connections/{userId}/accept", a.authed(a.acceptConnection))
	mux.Handle("DELETE /connections/{userId}", a.authed(a.deleteConnection))

	// Connection shapes, spec/4.
	mux.Handle("GET /connections/{userId}/status", a.authed(a.connectionStatus))
	mux.Handle("GET /connections/established", a.authed(a.establishedConnections))
	mux.Handle("GET /connections/pending", a.authed(a.pendingConnections))

	// Connections, v1 (spec/5).
	mux.Handle("POST /v1/connections/{user_id}/request", a.authedV1(a.v1Request))
	mux.Handle("POST /v1/connections/{user_id}/accept/{request_id}", a.authedV1(a.v1Accept))
	mux.Handle("POST /v1/connections/{user_id}/decline/{request_id}", a.authedV1(a.v1Decline))
	mux.Handle("GET /v1/connections/{user_id}/sent", a.authedV1(a.v1Sent))
	mux.Handle("GET /v1/connections/{user_id}/received", a.authedV1(a.v1Received))
	mux.Handle("GET /v1/connections/{user_id}/active", a.authedV1(a.v1Active))
	mux.Handle("GET /v1/connections/{user_id}/notifications", a.authedV1(a.v1Notifications))
	mux.Handle("POST /v1/connections/{user_id}/notifications/{notification_id}/read", a.authedV1(a.v1ReadNotification))
	mux.Handle("DELETE /v1/connections/{user_id}/{connection_id}", a.authedV1(a.v1Remove))

	// Notifications and vibe score.
	mux.Handle("GET /notifications", a.authed(a.listNotifications))
	mux.Handle("POST /notifications/read-all", a.authed(a.readAllNotifications))
	mux.Handle("POST /notifications/{id}/read", a.authed(a.readNotification))
	mux.Handle("GET /users/{id}/score", a.authed(a.userScore))

	// Chats, messages, participants.
	mux.Handle("POST /chats", a.authed(a.createChat))
	mux.Handle("GET /chats", a.authed(a.listChats))
	mux.Handle("GET /chats/explore/communities", a.authed(a.exploreCommunities))
	mux.Handle("GET /chats/{id}", a.authed(a.getChat))
	mux.Handle(a.upload("PUT /chats/{id}", a.authed(a.updateChat)))
	mux.Handle("DELETE /chats/{id}", a.authed(a.deleteChat))
	mux.Handle("GET /chats/{id}/files", a.authed(a.chatFiles))
	mux.Handle("POST /chats/{id}/read", a.authed(a.readChat))
	mux.Handle("POST /chats/{id}/messages", a.authed(a.sendMessage))
	mux.Handle("GET /chats/{id}/messages", a.authed(a.listMessages))
	mux.Handle("DELETE /chats/{id}/messages/{messageId}", a.authed(a.deleteMessage))
	mux.Handle("POST /chats/{id}/participants", a.authed(a.joinChat))
	mux.Handle("POST /chats/{id}/participants/multiple", a.authed(a.addParticipants))
	mux.Handle("DELETE /chats/{id}/participants/{participantId}", a.authed(a.removeParticipant))
	mux.Handle("POST /chats/{id}/participants/{participantId}/admin", a.authed(a.setAdmin(true)))
	mux.Handle("DELETE /chats/{id}/participants/{participantId}/admin", a.authed(a.setAdmin(false)))
	mux.Handle("POST /chats/{id}/participants/{participantId}/status", a.authed(a.participantStatus))

	// Join requests.
	mux.Handle("GET /requests", a.authed(a.listRequests))
	mux.Handle("POST /requests", a.authed(a.createRequest))
	mux.Handle("GET /requests/{id}", a.authed(a.getRequest))
	mux.Handle("PATCH /requests/{id}", a.authed(a.answerRequest))

	// Reels.
	mux.Handle("POST /reels", a.authed(a.createReel))
	mux.Handle("POST /reels/{id}/like", a.authed(a.reactToReel(social.ReactionLike)))
	mux.Handle("POST /reels/{id}/superlike", a.authed(a.reactToReel(social.ReactionSuperLike)))
	mux.Handle("POST /reels/{id}/favorite", a.authed(a.reactToReel(social.ReactionFavorite)))

	// Push device tokens.
	mux.Handle("POST /push/devices", a.authed(a.addPushDevice))
	mux.Handle("DELETE /push/devices/{token}", a.authed(a.removePushDevice))

	// Uploaded media.
	if a.media != nil {
		mux.Handle("GET /media/", a.mediaFiles())
	}

	// Live channel: WebSocket upgrade, authenticated before it (Bearer or ?token=).
	if a.live != nil {
		mux.Handle("GET /ws", a.public(a.socket))
	}
}
