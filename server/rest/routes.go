package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/social"
)

// Register mounts every REST route on mux. This is the whole route table.
func (a *API) Register(mux *http.ServeMux) {
	// Health.
	mux.Handle("GET /healthz", a.public(a.healthz))
	mux.Handle("GET /readyz", a.public(a.readyz))

	// Auth.
	mux.Handle("POST /auth/register", a.public(a.register))
	mux.Handle("POST /auth/login", a.public(a.login))
	mux.Handle("POST /auth/refresh", a.public(a.refresh))
	mux.Handle("POST /auth/logout", a.authed(a.logout))

	// Users.
	mux.Handle("GET /users", a.authed(a.listUsers))
	mux.Handle("GET /users/me", a.authed(a.getMe))
	mux.Handle("PATCH /users/me", a.authed(a.patchMe))
	mux.Handle("GET /users/{id}", a.authed(a.getUser))

	// Chats, messages, participants.
	mux.Handle("POST /chats", a.authed(a.createChat))
	mux.Handle("GET /chats", a.authed(a.listChats))
	mux.Handle("GET /chats/explore/communities", a.authed(a.exploreCommunities))
	mux.Handle("GET /chats/{id}", a.authed(a.getChat))
	mux.Handle("PUT /chats/{id}", a.authed(a.updateChat))
	mux.Handle("DELETE /chats/{id}", a.authed(a.deleteChat))
	mux.Handle("GET /chats/{id}/files", a.authed(a.chatFiles))
	mux.Handle("POST /chats/{id}/read", a.authed(a.readChat))
	mux.Handle("POST /chats/{id}/messages", a.authed(a.sendMessage))
	mux.Handle("GET /chats/{id}/messages", a.authed(a.listMessages))
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
		mux.Handle("GET /media/", a.media)
	}
}
