package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/servertest"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// clientTypes is the client's struct for each feed entity.
var clientTypes = map[string]reflect.Type{
	"user":         reflect.TypeFor[client.User](),
	"connection":   reflect.TypeFor[client.Connection](),
	"notification": reflect.TypeFor[client.Notification](),
	"score":        reflect.TypeFor[client.Score](),
	"follow":       reflect.TypeFor[client.Follow](),
	"block":        reflect.TypeFor[client.Block](),
	"chat":         reflect.TypeFor[client.Chat](),
	"participant":  reflect.TypeFor[client.Participant](),
	"message":      reflect.TypeFor[client.Message](),
	"file":         reflect.TypeFor[client.ChatFile](),
	"request":      reflect.TypeFor[client.JoinRequest](),
	"membership":   reflect.TypeFor[client.Membership](),
	"reel":         reflect.TypeFor[client.Reel](),
}

// TestEveryEntityDecodesStrictly pulls a feed holding every entity kind and
// decodes each row strictly (a field the reader does not know is an error)
// into the client's struct and into its message of the proto Entity: the
// server, the client and the .proto cannot drift apart unnoticed.
func TestEveryEntityDecodesStrictly(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, bob, cat, dan := env.Register("Amy"), env.Register("Bob"), env.Register("Cat"), env.Register("Dan")

	env.Do("PATCH", "/users/me", amy.Token, map[string]any{"bio": "Likes long walks"}).Want(http.StatusOK)
	env.Do("PUT", "/users/me/status", amy.Token, map[string]any{"text": "Coffee?", "durationMinutes": 60}).Want(http.StatusOK)
	env.Do("POST", "/connections/"+amy.ID, bob.Token, map[string]any{"message": "Hi Amy"}).Want(http.StatusCreated)
	env.Do("POST", "/connections/"+bob.ID+"/accept", amy.Token, nil).Want(http.StatusOK)
	env.Do("POST", "/users/"+cat.ID+"/follow", amy.Token, nil).Want(http.StatusOK)
	env.Do("POST", "/users/"+dan.ID+"/block", amy.Token, nil).Want(http.StatusOK)

	start := env.Clock.Now().Add(-time.Hour).Format("2006-01-02T15:04:05.000Z")
	end := env.Clock.Now().Add(time.Hour).Format("2006-01-02T15:04:05.000Z")
	var created struct {
		Chat struct {
			ID string `json:"_id"`
		} `json:"chat"`
	}
	env.Do("POST", "/chats", amy.Token, map[string]any{
		"isGroup": true, "name": "Walks", "category": "Event", "participants": []string{bob.ID},
		"restricted": true, "tags": []map[string]string{{"tag": "maps", "label": "Maps"}},
		"event": map[string]any{"startsAt": start, "endsAt": end, "location": "The park"},
	}).Want(http.StatusCreated).Decode(&created)
	group := created.Chat.ID
	env.Do("POST", "/chats/"+group+"/participants/"+bob.ID+"/status", amy.Token, map[string]any{"status": "accepted"}).Want(http.StatusOK)
	env.Do("POST", "/chats/"+group+"/messages", amy.Token, map[string]any{
		"text": "Route attached", "tag": "maps",
		"files": []map[string]any{{"url": "https://files.example/route.pdf", "cover": "https://files.example/route.jpg",
			"meta": map[string]any{"mediaType": "document", "fileName": "route.pdf", "fileSize": 1234, "duration": 0}}},
	}).Want(http.StatusCreated)
	env.Do("POST", "/chats/"+group+"/read", bob.Token, nil).Want(http.StatusOK)
	env.Do("POST", "/requests", cat.Token, map[string]any{"chat": group}).Want(http.StatusCreated)
	env.Do("POST", "/reels", amy.Token, map[string]any{"chat": group, "description": "Sunset", "tag": "maps",
		"video": "https://files.example/sunset.mp4", "hashtags": []string{"sunset"}}).Want(http.StatusCreated)
	env.Do("POST", "/chats", amy.Token, map[string]any{"user": bob.ID}).Want(http.StatusCreated)

	rpc := syncv1connect.NewSyncServiceClient(http.DefaultClient, env.URL)
	seen := map[string]int{}
	var token []byte
	for {
		req := connect.NewRequest(&syncv1.PullRequest{ProtocolVersion: 1, PageToken: token})
		req.Header().Set("Authorization", "Bearer "+amy.Token)
		res, err := rpc.Pull(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range res.Msg.GetChanges() {
			if ch.GetOp() != syncv1.Op_OP_UPSERT {
				continue
			}
			seen[ch.GetEntity()]++
			name := fmt.Sprintf("%s %s", ch.GetEntity(), ch.GetEntityId())
			decodeProto(t, name, ch.GetEntity(), ch.GetData())
			typ, ok := clientTypes[ch.GetEntity()]
			if !ok {
				t.Errorf("%s: the client has no struct for entity %q", name, ch.GetEntity())
				continue
			}
			decodeClient(t, name, typ, ch.GetData())
		}
		if token = res.Msg.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	fields := (&syncv1.Entity{}).ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		if kind := string(fields.Get(i).Name()); seen[kind] == 0 {
			t.Errorf("the pull held no %q: the fixture must make one of every entity kind", kind)
		}
	}
	for kind := range clientTypes {
		if fields.ByName(protoreflect.Name(kind)) == nil {
			t.Errorf("the client decodes %q, which the proto Entity does not name", kind)
		}
	}
}

// decodeProto decodes data strictly into the message of Entity's field
// named entity.
func decodeProto(t *testing.T, name, entity string, data []byte) {
	t.Helper()
	fd := (&syncv1.Entity{}).ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(entity))
	if fd == nil || fd.Message() == nil {
		t.Errorf("%s: the proto Entity names no %q", name, entity)
		return
	}
	m := (&syncv1.Entity{}).ProtoReflect().NewField(fd).Message()
	if err := (protojson.UnmarshalOptions{}).Unmarshal(data, m.Interface()); err != nil {
		t.Errorf("%s into the proto %s: %v\n%s", name, fd.Message().Name(), err, data)
	}
}

// decodeClient decodes data into a value of typ and checks that every
// field of data, at every depth, is one typ names.
func decodeClient(t *testing.T, name string, typ reflect.Type, data []byte) {
	t.Helper()
	if err := json.Unmarshal(data, reflect.New(typ).Interface()); err != nil {
		t.Errorf("%s into client.%s: %v\n%s", name, typ.Name(), err, data)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	for _, p := range unknownFields(v, typ, "") {
		t.Errorf("%s: client.%s has no field for %s\n%s", name, typ.Name(), p, data)
	}
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

// unknownFields lists the paths of v's object keys that typ (followed
// through pointers, slices and maps) has no field for.
func unknownFields(v any, typ reflect.Type, path string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == rawMessage {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		switch typ.Kind() {
		case reflect.Map:
			for k, e := range v {
				out = append(out, unknownFields(e, typ.Elem(), path+"."+k)...)
			}
		case reflect.Struct:
			byName := jsonFields(typ)
			for k, e := range v {
				f, ok := byName[k]
				if !ok {
					out = append(out, strings.TrimPrefix(path+"."+k, "."))
					continue
				}
				out = append(out, unknownFields(e, f.Type, path+"."+k)...)
			}
		}
	case []any:
		if typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array {
			for i, e := range v {
				out = append(out, unknownFields(e, typ.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return out
}

// jsonFields maps the JSON names of typ's fields (embedded structs
// included) to the fields.
func jsonFields(typ reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(typ) {
		if !f.IsExported() || f.Anonymous && f.Tag.Get("json") == "" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f
	}
	return out
}
