package rest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/wire"
)

// chatViewSamples covers every branch of the hand-written encoder: each
// optional field set and unset, both forms of UserRef, nil and empty
// slices, zero times, and strings that need escaping.
func chatViewSamples(names []string) []social.ChatView {
	at := wire.T(time.Date(2025, 9, 22, 11, 37, 29, 500e6, time.UTC))
	n := 3
	var out []social.ChatView
	for i, name := range names {
		amy := social.UserRef{ID: "u1", Name: name, Username: "amy_" + name, Photo: "https://x/" + name, IsOnline: i%2 == 0, Populated: true}
		ben := social.UserRef{ID: "u2", Name: "Ben", Username: "ben"}
		v := social.ChatView{
			Chat: social.Chat{ID: "c" + name, Creator: amy, IsGroup: i%2 == 1, Category: name, Name: name, Photo: "p" + name,
				AllowPublicPost: i%3 == 0, Restricted: i%3 == 1, Tags: []social.Tag{{Tag: "t" + name, Label: name}, {Tag: "x", Label: "y"}},
				MeetMe: "m" + name, CreatedAt: at, UpdatedAt: at,
				Participants: []social.Participant{
					{ID: "p1", User: amy, IsAdmin: true, LastReadAt: at},
					{ID: "p2", Chat: "c", User: ben, Status: name, LastReadAt: wire.Time{}},
				}},
			User:        &amy,
			LastMessage: &social.Message{ID: "m1", User: amy, Chat: "c", Text: name, Tag: name, Files: []social.File{}, At: at},
			Unread:      i * 7, IsJoined: true, AreYouAdmin: i%2 == 0, ParticipantsCount: 2,
		}
		out = append(out, v)
	}
	// The other shapes: nothing optional set, then explore's extras and
	// message files.
	out = append(out, social.ChatView{Chat: social.Chat{Creator: social.UserRef{ID: "u3"}, Participants: []social.Participant{}}})
	out = append(out, social.ChatView{
		Chat: social.Chat{ID: "e", Creator: social.UserRef{ID: "u4", Populated: true}, Tags: []social.Tag{},
			Event: &social.Event{ID: "ev", StartsAt: at, EndsAt: at, Location: "Pool", IsActive: true}},
		LastMessage: &social.Message{ID: "m2", User: social.UserRef{ID: "u4"}, Files: []social.File{{ID: "f", URL: "u", Cover: "c", Meta: json.RawMessage(`{ "mediaType" : "image", "fileSize": 5 }`)}, {ID: "g", URL: "v"}}},
		Reels:       []social.Reel{{ID: "r", User: &social.ReelUser{ID: "u4", Name: "N"}, Chat: "e"}},
		ReelsCount:  &n,
		Request:     &social.JoinRequest{ID: "q", User: social.UserRef{ID: "u5"}, Chat: social.ChatRef{ID: "e"}},
	})
	out = append(out, social.ChatView{Chat: social.Chat{Event: &social.Event{}}, Reels: []social.Reel{}, LastMessage: &social.Message{}})
	return out
}

func TestAppendChatViewsJSON(t *testing.T) {
	t.Run("same_bytes_as_encoding_json", func(t *testing.T) {
		views := chatViewSamples([]string{"", "Amy", "Zoë 😀", "tab\there", "quote\"back\\slash", "nl\ncr\rff\fbs\b", "ctl\x01\x1f\x7f", "bad\xff\xfeutf8", "sep\u2028\u2029", "a/b"})
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(views); err != nil {
			t.Fatal(err)
		}
		got, err := appendChatViewsJSON(nil, views)
		if err != nil {
			t.Fatal(err)
		}
		if string(got)+"\n" != want.String() {
			t.Fatalf("got\n%s\nwant\n%s", got, want.String())
		}
	})
	t.Run("same_document_with_html_characters", func(t *testing.T) {
		// encoding/json escapes <, > and & inside UserRef's own MarshalJSON;
		// the document is the same.
		views := chatViewSamples([]string{"<b>Tom & Jerry</b>"})
		want, err := json.Marshal(views)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendChatViewsJSON(nil, views)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("invalid JSON %s: %v", got, err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("shared_participant_lists", func(t *testing.T) {
		// GET /chats writes participants from a list shared between
		// answers with each answer's presence put in: the same bytes as
		// encoding/json writes for the participants themselves.
		views := chatViewSamples([]string{"", "Amy", "Zoë 😀", `"isOnline":false`, `x","isOnline":false}`, "bad\xff", "sep\u2028"})
		views = append(views, social.ChatView{Chat: social.Chat{ID: "lone", Participants: []social.Participant{
			{ID: "p", User: social.UserRef{ID: "u9", Name: "Nine", Populated: true, IsOnline: true}},
			{ID: "q", User: social.UserRef{ID: "u8", Name: "Eight", Populated: true}},
			{ID: "r", User: social.UserRef{ID: "u7"}},
		}}})
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(views); err != nil {
			t.Fatal(err)
		}
		shared := make([]social.ChatView, len(views))
		for i, v := range views {
			items := make([]social.Participant, len(v.Participants))
			online := make([]bool, len(v.Participants))
			for j, p := range v.Participants {
				online[j] = p.User.IsOnline
				p.User.IsOnline = false
				items[j] = p
			}
			v.Participants, v.Members, v.Online = nil, &social.ParticipantList{Items: items}, online
			if i == 1 {
				v.Online = nil // nobody online
				for j := range v.Members.Items {
					views[i].Participants[j].User.IsOnline = false
				}
			}
			shared[i] = v
		}
		want.Reset()
		if err := enc.Encode(views); err != nil {
			t.Fatal(err)
		}
		for round := range 2 { // the second from the lists' kept encodings
			got, err := appendChatViewsJSON(nil, shared)
			if err != nil {
				t.Fatal(err)
			}
			if string(got)+"\n" != want.String() {
				t.Fatalf("round %d: got\n%s\nwant\n%s", round, got, want.String())
			}
		}
		for i := range shared {
			if got, err := json.Marshal(shared[i].Expanded()); err != nil || !bytes.Contains(want.Bytes(), got) {
				t.Fatalf("Expanded of view %d: %s (%v) is not the view's document", i, got, err)
			}
		}
	})
	t.Run("nil_and_empty", func(t *testing.T) {
		if got, _ := appendChatViewsJSON(nil, nil); string(got) != "null" {
			t.Fatalf("nil: %s", got)
		}
		if got, _ := appendChatViewsJSON(nil, []social.ChatView{}); string(got) != "[]" {
			t.Fatalf("empty: %s", got)
		}
	})
}

// BenchmarkAppendChatViewsJSON compares the hand-written encoder with
// encoding/json on a page of ten populated chats.
func BenchmarkAppendChatViewsJSON(b *testing.B) {
	views := chatViewSamples([]string{"Amy", "Ben", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jo"})
	b.Run("hand_written", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = appendChatViewsJSON(buf[:0], views); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(views); err != nil {
				b.Fatal(err)
			}
		}
	})
}
