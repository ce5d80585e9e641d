package rest_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/social"
)

type filesJSON struct {
	Files []struct {
		ID      string `json:"_id"`
		User    string `json:"user"`
		Chat    string `json:"chat"`
		Message string `json:"message"`
		At      string `json:"at"`
		File    struct {
			ID    string          `json:"_id"`
			URL   string          `json:"url"`
			Cover string          `json:"cover"`
			Meta  json.RawMessage `json:"meta"`
		} `json:"file"`
	} `json:"files"`
	Count int `json:"count"`
}

func TestSendMessage(t *testing.T) {
	t.Parallel()
	shared := servertest.New(t) // the subtests' server: each registers users of its own
	t.Run("only_participants_may_post", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil)
		env.Do("POST", "/chats/"+c.ID+"/messages", ben.Token, map[string]any{"text": "hi"}).WantError(403, "not_participant")
		env.Do("POST", "/chats/0123456789abcdef01234567/messages", amy.Token, map[string]any{"text": "hi"}).WantError(404, "chat_not_found")
	})

	t.Run("answers_201_with_the_message_and_replicates_it", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		var body struct {
			Message messageJSON `json:"message"`
		}
		env.Do("POST", "/chats/"+c.ID+"/messages", amy.Token, map[string]any{"text": "  hello  ", "socket": socketA,
			"files": []map[string]any{{"url": "https://cdn.example/a.jpg", "meta": map[string]any{"fileName": "a.jpg"}}}}).Want(201).Decode(&body)
		m := body.Message
		if m.Text != "hello" || m.Chat != c.ID || m.User.ID != amy.ID || m.User.Name != "Amy" || len(m.Files) != 1 || m.Files[0].ID == "" || m.At == "" {
			t.Fatalf("message = %+v", m)
		}
		rows := feed(t, env, "chat:"+c.ID)
		var row messageJSON
		if err := jsonUnmarshal(rows["message/"+m.ID].Data, &row); err != nil || row.User.Name != "Amy" || row.Text != "hello" {
			t.Fatalf("message feed row: %s", rows["message/"+m.ID].Data)
		}
		if _, ok := rows["file/"+m.Files[0].ID]; !ok {
			t.Fatal("no file feed row")
		}
		if s := eventSocket(t, env, social.EventMessageCreated, "chat:"+c.ID); s != amy.ID+":"+socketA {
			t.Fatalf("event socket %q", s)
		}
	})

	t.Run("the_answer_feed_row_and_event_carry_the_same_message", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		for _, text := range []string{"plain words", "<b>bold</b> & \u2028 \"quoted\""} {
			res := env.Do("POST", "/chats/"+c.ID+"/messages", amy.Token, map[string]any{"text": text,
				"files": []map[string]any{{"url": "https://cdn.example/a.jpg", "meta": map[string]any{"w": 1}}}}).Want(201)
			if strings.Contains(string(res.Body), `\u003c`) {
				t.Fatalf("answer escapes HTML: %s", res.Body)
			}
			var body struct {
				Message json.RawMessage `json:"message"`
			}
			if err := json.Unmarshal(res.Body, &body); err != nil {
				t.Fatalf("answer %s: %v", res.Body, err)
			}
			var answer map[string]any
			if err := json.Unmarshal(body.Message, &answer); err != nil || answer["text"] != text {
				t.Fatalf("answer message %s (err %v), want text %q", body.Message, err, text)
			}
			id, _ := answer["_id"].(string)
			var row, event map[string]any
			if err := json.Unmarshal(feed(t, env, "chat:"+c.ID)["message/"+id].Data, &row); err != nil {
				t.Fatalf("feed row: %v", err)
			}
			for _, e := range liveEvents(t, env) {
				var m map[string]any
				if e.Name == social.EventMessageCreated && json.Unmarshal(e.Data, &m) == nil && m["_id"] == id {
					event = m
				}
			}
			if !reflect.DeepEqual(answer, row) || !reflect.DeepEqual(answer, event) {
				t.Fatalf("answer %v\nfeed row %v\nevent %v", answer, row, event)
			}
		}
	})

	t.Run("text_is_at_most_4000_characters_and_needs_text_or_a_file", func(t *testing.T) {
		env := shared.For(t)
		amy := env.Register("Amy")
		c := group(t, env, amy, "G", nil)
		path := "/chats/" + c.ID + "/messages"
		env.Do("POST", path, amy.Token, map[string]any{"text": strings.Repeat("é", 4000)}).Want(201)
		env.Do("POST", path, amy.Token, map[string]any{"text": strings.Repeat("é", 4001)}).WantError(400, "invalid_text")
		env.Do("POST", path, amy.Token, map[string]any{"text": "   "}).WantError(400, "empty_message")
		env.Do("POST", path, amy.Token, map[string]any{"files": []map[string]any{}}).WantError(400, "empty_message")
		env.Do("POST", path, amy.Token, map[string]any{"files": []map[string]any{{"url": "a.jpg"}}}).WantError(400, "invalid_files_url")
		env.Do("POST", path, amy.Token, map[string]any{"files": []map[string]any{{"url": "https://x.test/a.jpg", "cover": "nope"}}}).WantError(400, "invalid_files_cover")
		env.Do("POST", path, amy.Token, map[string]any{"files": []map[string]any{{"url": "https://x.test/a.jpg"}}}).Want(201)
		env.Do("POST", path, amy.Token, map[string]any{"text": "x", "tag": "nope"}).WantError(400, "invalid_tag")
		env.Do("POST", path, amy.Token, map[string]any{"text": 5}).WantError(400, "invalid_text")
	})

	t.Run("a_proposed_id_is_idempotent", func(t *testing.T) {
		env := shared.For(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		id := oid.New()
		path := "/chats/" + c.ID + "/messages"
		var first, again struct {
			Message messageJSON `json:"message"`
		}
		env.Do("POST", path, amy.Token, map[string]any{"_id": id, "text": "once", "files": []map[string]any{{"url": "https://x.test/v.mp4"}}}).Want(201).Decode(&first)
		env.Do("POST", path, amy.Token, map[string]any{"_id": id, "text": "once", "files": []map[string]any{{"url": "https://x.test/v.mp4"}}}).Want(200).Decode(&again)
		if first.Message.ID != id || again.Message.ID != id || again.Message.Files[0].ID != first.Message.Files[0].ID {
			t.Fatalf("first %+v again %+v", first.Message, again.Message)
		}
		var list struct {
			Count int `json:"count"`
		}
		env.Do("GET", path, amy.Token, nil).Want(200).Decode(&list)
		var files filesJSON
		env.Do("GET", "/chats/"+c.ID+"/files", amy.Token, nil).Want(200).Decode(&files)
		if list.Count != 1 || files.Count != 1 {
			t.Fatalf("messages %d files %d, want 1 and 1", list.Count, files.Count)
		}
		env.Do("POST", path, ben.Token, map[string]any{"_id": id, "text": "steal"}).WantError(409, "message_id_taken")
		// The same sender with other content is no retry: the second text
		// would be answered as sent and lost.
		env.Do("POST", path, amy.Token, map[string]any{"_id": id, "text": "other", "files": []map[string]any{{"url": "https://x.test/v.mp4"}}}).WantError(409, "message_id_taken")
		env.Do("POST", path, amy.Token, map[string]any{"_id": id, "text": "once"}).WantError(409, "message_id_taken")
		bad := env.Do("POST", path, amy.Token, map[string]any{"_id": "XYZ", "text": "x"}).WantError(400, "invalid_id")
		if want := `{"error":"Bad Request","message":"_id must be a 24-character hex id","code":"invalid_id","field":"_id"}` + "\n"; string(bad.Body) != want {
			t.Fatalf("bad proposed id: %s, want %s", bad.Body, want)
		}
	})
}

func TestListMessages(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, ben := env.Register("Amy"), env.Register("Ben")
	c := group(t, env, amy, "G", nil)
	var ids []string
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		env.Clock.Advance(time.Second)
		ids = append(ids, sendText(t, env, amy, c.ID, s).ID)
	}
	get := func(q string) ([]messageJSON, int) {
		var body struct {
			Messages []messageJSON `json:"messages"`
			Count    int           `json:"count"`
		}
		env.Do("GET", "/chats/"+c.ID+"/messages"+q, amy.Token, nil).Want(200).Decode(&body)
		return body.Messages, body.Count
	}
	t.Run("newest_first_with_limit", func(t *testing.T) {
		ms, n := get("?limit=2")
		if n != 5 || len(ms) != 2 || ms[0].Text != "e" || ms[1].Text != "d" {
			t.Fatalf("%d %+v", n, ms)
		}
	})
	t.Run("before_and_after_are_message_ids", func(t *testing.T) {
		ms, _ := get("?before=" + ids[3])
		if len(ms) != 3 || ms[0].Text != "c" || ms[2].Text != "a" {
			t.Fatalf("before: %+v", ms)
		}
		ms, _ = get("?after=" + ids[1] + "&before=" + ids[4])
		if len(ms) != 2 || ms[0].Text != "d" || ms[1].Text != "c" {
			t.Fatalf("between: %+v", ms)
		}
		ms, _ = get("?after=" + ids[0] + "&limit=2")
		if len(ms) != 2 || ms[0].Text != "c" || ms[1].Text != "b" {
			t.Fatalf("after takes the next messages, newest first: %+v", ms)
		}
		env.Do("GET", "/chats/"+c.ID+"/messages?before=x", amy.Token, nil).WantError(400, "invalid_before")
		env.Do("GET", "/chats/"+c.ID+"/messages?after=x", amy.Token, nil).WantError(400, "invalid_after")
		env.Do("GET", "/chats/"+c.ID+"/messages?limit=101", amy.Token, nil).WantError(400, "invalid_limit")
	})
	t.Run("only_participants_may_read", func(t *testing.T) {
		env.Do("GET", "/chats/"+c.ID+"/messages", ben.Token, nil).WantError(403, "not_participant")
	})
}

func TestChatFiles(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, ben := env.Register("Amy"), env.Register("Ben")
	c := group(t, env, amy, "G", map[string]any{"tags": []map[string]string{{"tag": "exams", "label": "Exams"}}})
	path := "/chats/" + c.ID + "/messages"
	env.Do("POST", path, amy.Token, map[string]any{"files": []map[string]any{
		{"url": "https://x.test/clip.MP4", "cover": "https://x.test/c.jpg"},
		{"url": "https://x.test/file.bin", "meta": map[string]any{"mediaType": "audio", "list": []any{1, true}}},
		{"url": "https://x.test/notes.pdf"},
		{"url": "https://x.test/pic.png?x=1"},
		{"url": "https://x.test/blob"},
	}}).Want(201)
	env.Do("POST", path, amy.Token, map[string]any{"tag": "exams", "files": []map[string]any{{"url": "https://x.test/exam.mp4"}}}).Want(201)
	list := func(q string) filesJSON {
		var f filesJSON
		env.Do("GET", "/chats/"+c.ID+"/files"+q, amy.Token, nil).Want(200).Decode(&f)
		return f
	}
	t.Run("type_defaults_to_video_and_tag_to_others", func(t *testing.T) {
		f := list("")
		if f.Count != 1 || f.Files[0].File.URL != "https://x.test/clip.MP4" || f.Files[0].File.Cover != "https://x.test/c.jpg" || f.Files[0].User != amy.ID || f.Files[0].Message == "" {
			t.Fatalf("%+v", f)
		}
		if f.Files[0].ID != f.Files[0].File.ID {
			t.Fatal("file ids differ")
		}
	})
	t.Run("type_comes_from_meta_mediaType_or_the_extension", func(t *testing.T) {
		for typ, want := range map[string]string{"audio": "https://x.test/file.bin", "document": "https://x.test/notes.pdf",
			"image": "https://x.test/pic.png?x=1", "other": "https://x.test/blob"} {
			f := list("?type=" + typ)
			if f.Count != 1 || f.Files[0].File.URL != want {
				t.Fatalf("%s: %+v", typ, f)
			}
		}
		if f := list("?type=audio"); string(f.Files[0].File.Meta) != `{"list":[1,true],"mediaType":"audio"}` {
			t.Fatalf("meta kept as sent: %s", f.Files[0].File.Meta)
		}
	})
	t.Run("tag_filter", func(t *testing.T) {
		if f := list("?tag=exams"); f.Count != 1 || f.Files[0].File.URL != "https://x.test/exam.mp4" {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("errors", func(t *testing.T) {
		env.Do("GET", "/chats/"+c.ID+"/files?type=movie", amy.Token, nil).WantError(400, "invalid_type")
		env.Do("GET", "/chats/"+c.ID+"/files", ben.Token, nil).WantError(403, "not_participant")
		env.Do("GET", "/chats/0123456789abcdef01234567/files", amy.Token, nil).WantError(404, "chat_not_found")
	})
}

func TestMarkRead(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, ben := env.Register("Amy"), env.Register("Ben")
	c := group(t, env, amy, "G", nil, ben)
	env.Clock.Advance(time.Second)
	sendText(t, env, amy, c.ID, "1")
	sendText(t, env, amy, c.ID, "2")
	if chats, _ := listChats(t, env, ben, ""); chats[0].Unread != 2 {
		t.Fatalf("unread %d", chats[0].Unread)
	}
	env.Clock.Advance(time.Second)
	t.Run("marks_all_messages_read", func(t *testing.T) {
		env.Do("POST", "/chats/"+c.ID+"/read", ben.Token, nil).Want(200)
		if chats, _ := listChats(t, env, ben, ""); chats[0].Unread != 0 {
			t.Fatalf("unread %d", chats[0].Unread)
		}
		env.Clock.Advance(time.Second)
		sendText(t, env, amy, c.ID, "3")
		if chats, _ := listChats(t, env, ben, ""); chats[0].Unread != 1 {
			t.Fatalf("unread after a new message %d", chats[0].Unread)
		}
	})
	t.Run("user_must_be_a_participant", func(t *testing.T) {
		env.Do("POST", "/chats/"+c.ID+"/read", env.Register("Cy").Token, nil).WantError(403, "not_participant")
		env.Do("POST", "/chats/0123456789abcdef01234567/read", ben.Token, nil).WantError(404, "chat_not_found")
	})
}

func TestUnread(t *testing.T) {
	t.Parallel()
	// The test clock stands still: every write below happens in the same
	// millisecond, the hard case for "after lastReadAt".
	t.Run("counts_messages_of_others_after_lastReadAt", func(t *testing.T) {
		env := servertest.New(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		unread := func(u servertest.User) int {
			t.Helper()
			chats, _ := listChats(t, env, u, "")
			one := decodeChat(t, env.Do("GET", "/chats/"+c.ID, u.Token, nil).Want(200))
			if chats[0].Unread != one.Unread {
				t.Fatalf("GET /chats says %d unread, GET /chats/:id %d", chats[0].Unread, one.Unread)
			}
			return one.Unread
		}
		sendText(t, env, amy, c.ID, "1")
		sendText(t, env, amy, c.ID, "2")
		if n := unread(ben); n != 2 {
			t.Fatalf("ben: %d unread, want 2", n)
		}
		if n := unread(amy); n != 0 {
			t.Fatalf("amy: %d unread of her own messages", n)
		}
		env.Do("POST", "/chats/"+c.ID+"/read", ben.Token, nil).Want(200)
		if n := unread(ben); n != 0 {
			t.Fatalf("after reading: %d unread", n)
		}
		sendText(t, env, amy, c.ID, "3")
		sendText(t, env, ben, c.ID, "mine")
		if n := unread(ben); n != 1 {
			t.Fatalf("a message after the read: %d unread, want 1", n)
		}
		if n := unread(amy); n != 1 {
			t.Fatalf("amy: %d unread, want ben's one", n)
		}
		env.Do("POST", "/chats/"+c.ID+"/read", ben.Token, nil).Want(200)
		if n := unread(ben); n != 0 {
			t.Fatalf("after reading again: %d unread", n)
		}
	})
}

func TestMessageOrder(t *testing.T) {
	t.Parallel()
	t.Run("proposed_ids_do_not_decide_the_order", func(t *testing.T) {
		env := servertest.New(t)
		amy, ben := env.Register("Amy"), env.Register("Ben")
		c := group(t, env, amy, "G", nil, ben)
		now := env.Clock.Now()
		post := func(u servertest.User, id, text string) {
			env.Do("POST", "/chats/"+c.ID+"/messages", u.Token, map[string]any{"_id": id, "text": text}).Want(201)
			env.Clock.Advance(time.Second)
		}
		// A device with a clock years ahead, then one that was offline.
		post(amy, oid.NewAt(now.AddDate(5, 0, 0)), "first")
		post(ben, oid.NewAt(now.AddDate(-1, 0, 0)), "second")
		post(amy, oid.NewAt(now.Add(time.Minute)), "third")
		var body struct {
			Messages []messageJSON `json:"messages"`
		}
		env.Do("GET", "/chats/"+c.ID+"/messages", amy.Token, nil).Want(200).Decode(&body)
		var texts []string
		for _, m := range body.Messages {
			texts = append(texts, m.Text)
		}
		if strings.Join(texts, ",") != "third,second,first" {
			t.Fatalf("order %v, want arrival order newest first", texts)
		}
		if got := decodeChat(t, env.Do("GET", "/chats/"+c.ID, ben.Token, nil).Want(200)); got.LastMessage == nil || got.LastMessage.Text != "third" {
			t.Fatalf("lastMessage %+v, want the last one stored", got.LastMessage)
		}
		second := body.Messages[1].ID
		env.Do("GET", "/chats/"+c.ID+"/messages?before="+second, amy.Token, nil).Want(200).Decode(&body)
		if len(body.Messages) != 1 || body.Messages[0].Text != "first" {
			t.Fatalf("before the second: %+v", body.Messages)
		}
		env.Do("GET", "/chats/"+c.ID+"/messages?after="+second, amy.Token, nil).Want(200).Decode(&body)
		if len(body.Messages) != 1 || body.Messages[0].Text != "third" {
			t.Fatalf("after the second: %+v", body.Messages)
		}
		env.Do("GET", "/chats/"+c.ID+"/messages?before=0123456789abcdef01234567", amy.Token, nil).WantError(404, "message_not_found")
	})
}

func TestDeleteMessage(t *testing.T) {
	t.Parallel()
	env := servertest.Shared(t)
	amy, ben, cy := env.Register("Amy"), env.Register("Ben"), env.Register("Cy")
	c := group(t, env, amy, "G", nil, ben, cy)
	bens, cys := sendText(t, env, ben, c.ID, "ben's"), sendText(t, env, cy, c.ID, "cy's")
	path := func(m string) string { return "/chats/" + c.ID + "/messages/" + m }

	env.Do("DELETE", path(cys.ID), ben.Token, nil).WantError(403, "not_sender")
	bad := env.Do("DELETE", path("nope"), ben.Token, nil).WantError(400, "invalid_message_id")
	if want := `{"error":"Bad Request","message":"messageId must be a 24-character hex id","code":"invalid_message_id","field":"messageId"}` + "\n"; string(bad.Body) != want {
		t.Fatalf("bad message id: %s, want %s", bad.Body, want)
	}
	env.Do("DELETE", path(bens.ID), ben.Token, nil).Want(204) // its sender
	env.Do("DELETE", path(cys.ID), amy.Token, nil).Want(204)  // an admin of the group
	env.Do("DELETE", path(cys.ID), amy.Token, nil).WantError(404, "message_not_found")
	var list struct {
		Count int `json:"count"`
	}
	env.Do("GET", "/chats/"+c.ID+"/messages", amy.Token, nil).Want(200).Decode(&list)
	if list.Count != 0 {
		t.Fatalf("%d messages left", list.Count)
	}
	rows := feed(t, env, "chat:"+c.ID)
	for _, m := range []string{bens.ID, cys.ID} {
		if r, ok := rows["message/"+m]; !ok || r.Op != "delete" {
			t.Fatalf("message %s in the feed: %+v, want a tombstone", m, r)
		}
	}
	if !hasEvent(t, env, social.EventMessageDeleted, "chat:"+c.ID) {
		t.Fatal("no message-deleted event")
	}
}
