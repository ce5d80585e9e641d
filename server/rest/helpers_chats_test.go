package rest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// chatJSON is the part of a chat the tests look at.
type chatJSON struct {
	ID              string          `json:"_id"`
	Creator         json.RawMessage `json:"creator"`
	IsGroup         bool            `json:"isGroup"`
	Category        string          `json:"category"`
	Name            string          `json:"name"`
	Photo           string          `json:"photo"`
	Restricted      bool            `json:"restricted"`
	AllowPublicPost bool            `json:"allowPublicPost"`
	MeetMe          string          `json:"meetMe"`
	Tags            []struct {
		Tag   string `json:"tag"`
		Label string `json:"label"`
	} `json:"tags"`
	Event *struct {
		ID       string `json:"_id"`
		StartsAt string `json:"startsAt"`
		EndsAt   string `json:"endsAt"`
		Location string `json:"location"`
		IsActive bool   `json:"isActive"`
	} `json:"event"`
	Participants []struct {
		ID         string          `json:"_id"`
		User       json.RawMessage `json:"user"`
		IsAdmin    bool            `json:"isAdmin"`
		Status     string          `json:"status"`
		LastReadAt string          `json:"lastReadAt"`
	} `json:"participants"`
	User *struct {
		ID       string `json:"_id"`
		Name     string `json:"name"`
		IsOnline bool   `json:"isOnline"`
	} `json:"user"`
	LastMessage       *messageJSON `json:"lastMessage"`
	Unread            int          `json:"unread"`
	IsJoined          bool         `json:"isJoined"`
	AreYouAdmin       bool         `json:"areYouAdmin"`
	ParticipantsCount int          `json:"participantsCount"`
	Reels             []reelJSON   `json:"reels"`
	ReelsCount        *int         `json:"reelsCount"`
	Request           *struct {
		ID     string `json:"_id"`
		Status string `json:"status"`
	} `json:"request"`
}

type messageJSON struct {
	ID   string `json:"_id"`
	User struct {
		ID   string `json:"_id"`
		Name string `json:"name"`
	} `json:"user"`
	Chat  string `json:"chat"`
	Text  string `json:"text"`
	Files []struct {
		ID    string          `json:"_id"`
		URL   string          `json:"url"`
		Cover string          `json:"cover"`
		Meta  json.RawMessage `json:"meta"`
	} `json:"files"`
	At string `json:"at"`
}

type reelJSON struct {
	ID           string `json:"_id"`
	Likes        int    `json:"likes"`
	SuperLikes   int    `json:"superLikes"`
	Favorites    int    `json:"favorites"`
	IsLiked      bool   `json:"isLiked"`
	IsSuperLiked bool   `json:"isSuperLiked"`
	IsFavorite   bool   `json:"isFavorite"`
	User         *struct {
		ID         string `json:"_id"`
		IsFollowed bool   `json:"isFollowed"`
	} `json:"user"`
}

// userID reads a user reference that is either an id or an object.
func userID(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"_id"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("user ref %s: %v", raw, err)
	}
	return o.ID
}

func decodeChat(t *testing.T, r *servertest.Response) chatJSON {
	t.Helper()
	var body struct {
		Chat chatJSON `json:"chat"`
	}
	r.Decode(&body)
	return body.Chat
}

func listChats(t *testing.T, env *servertest.Env, u servertest.User, query string) ([]chatJSON, int) {
	t.Helper()
	var body struct {
		Chats []chatJSON `json:"chats"`
		Count int        `json:"count"`
	}
	env.Do("GET", "/chats"+query, u.Token, nil).Want(200).Decode(&body)
	return body.Chats, body.Count
}

// group creates a group chat owned by owner with the given participants
// (owner must follow them; the fixture makes sure).
func group(t *testing.T, env *servertest.Env, owner servertest.User, name string, extra map[string]any, members ...servertest.User) chatJSON {
	t.Helper()
	ids := []string{}
	for _, m := range members {
		follow(t, env, owner, m)
		ids = append(ids, m.ID)
	}
	body := map[string]any{"isGroup": true, "name": name, "category": "Study", "participants": ids}
	for k, v := range extra {
		body[k] = v
	}
	return decodeChat(t, env.Do("POST", "/chats", owner.Token, body).Want(201))
}

func sendText(t *testing.T, env *servertest.Env, u servertest.User, chatID, text string) messageJSON {
	t.Helper()
	var body struct {
		Message messageJSON `json:"message"`
	}
	env.Do("POST", "/chats/"+chatID+"/messages", u.Token, map[string]any{"text": text}).Want(201).Decode(&body)
	return body.Message
}

// liveEvents returns every live event recorded so far.
func liveEvents(t *testing.T, env *servertest.Env) []store.Event {
	t.Helper()
	var out []store.Event
	err := env.Server.DB().Read(context.Background(), func(tx *store.Tx) (err error) {
		out, err = tx.Events(ctx0, 0, 100000)
		return err
	})
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	return out
}

var ctx0 = context.Background()

// hasEvent reports whether event name was addressed to target.
func hasEvent(t *testing.T, env *servertest.Env, name, target string) bool {
	t.Helper()
	for _, e := range liveEvents(t, env) {
		if e.Name == name && e.Target == target {
			return true
		}
	}
	return false
}

// eventSocket returns the origin ("<user id>:<socket id>") excluded from
// the first event name to target.
func eventSocket(t *testing.T, env *servertest.Env, name, target string) string {
	t.Helper()
	for _, e := range liveEvents(t, env) {
		if e.Name == name && e.Target == target {
			return e.Socket
		}
	}
	t.Fatalf("no %s event to %s", name, target)
	return ""
}

func bucketMembers(t *testing.T, env *servertest.Env, bucket string) map[string]bool {
	t.Helper()
	var ids []string
	err := env.Server.DB().Read(ctx0, func(tx *store.Tx) (err error) {
		ids, err = tx.BucketMembers(ctx0, bucket)
		return err
	})
	if err != nil {
		t.Fatalf("bucket members: %v", err)
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}

func pushes(t *testing.T, env *servertest.Env, u servertest.User) []store.Push {
	t.Helper()
	var out []store.Push
	err := env.Server.DB().Read(ctx0, func(tx *store.Tx) (err error) {
		out, err = tx.PushesOf(ctx0, u.ID)
		return err
	})
	if err != nil {
		t.Fatalf("pushes: %v", err)
	}
	return out
}

func hasPush(t *testing.T, env *servertest.Env, u servertest.User, event string) bool {
	t.Helper()
	for _, p := range pushes(t, env, u) {
		if p.Event == event {
			return true
		}
	}
	return false
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
