package client

import (
	"encoding/json"
	"testing"
)

// fullMessageKeys is what messageKeys must agree with: the row decoded
// whole into a Message.
func fullMessageKeys(data []byte) (int64, string) {
	var m Message
	if json.Unmarshal(data, &m) != nil {
		return 0, ""
	}
	return m.At.UnixMilli(), m.User.ID
}

var messageKeyCases = []string{
	`{"_id":"m1","chat":"c1","user":{"_id":"u1","name":"Amy","username":"amy"},"text":"hi","at":"2025-09-10T09:55:18.000Z"}`,
	` { "user" : "u2" , "at" : "2025-09-10T09:55:18.123+02:00" } `,
	`{"user":{"_id":"u\u0031"},"at":"2025-09-10T09:55:18.000Z"}`,
	`{"user":{"_ID":"u1"},"at":"2025-09-10T09:55:18.000Z"}`,
	`{"User":{"_id":"u1"},"AT":"2025-09-10T09:55:18.000Z"}`,
	`{"user":{"_id":"u1"},"user":{"name":"x"}}`,
	`{"user":{"_id":"u1","_id":"u2"}}`,
	`{"user":null,"at":null}`,
	`{"user":{"_id":5}}`,
	`{"user":{"_id":"u1","name":5}}`,
	`{"user":{"_id":"u1","extra":[1,{"a":null}],"bio":null}}`,
	`{"user":"u1","text":5}`,
	`{"user":"u1","pending":"yes"}`,
	`{"user":"u1","pending":true,"reactions":[{"e":"\u263a","n":-1.5e3}]}`,
	`{"user":"u1","at":12}`,
	`{"user":"u1","at":"yesterday"}`,
	`{"user":"u1"}x`,
	`{"user":"u1",}`,
	`{"user":"u1","n":01}`,
	`{"user":"u1","s":"a` + "\x01" + `"}`,
	`{"user":"u1","s":"\x"}`,
	`{}`,
	`[]`,
	`"m"`,
	``,
	`{"user":[]}`,
	`{"at":"2025-09-10T09:55:18.000Z","user":{}}`,
}

func TestMessageKeysMatchFullDecode(t *testing.T) {
	for _, c := range messageKeyCases {
		at, author := messageKeys([]byte(c))
		wantAt, wantAuthor := fullMessageKeys([]byte(c))
		if at != wantAt || author != wantAuthor {
			t.Errorf("%s: got %d %q, want %d %q", c, at, author, wantAt, wantAuthor)
		}
	}
	if _, _, ok := scanMessageKeys([]byte(messageKeyCases[0])); !ok {
		t.Errorf("the common shape took the slow path")
	}
}

func FuzzMessageKeys(f *testing.F) {
	for _, c := range messageKeyCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		at, author := messageKeys(data)
		wantAt, wantAuthor := fullMessageKeys(data)
		if at != wantAt || author != wantAuthor {
			t.Errorf("%q: got %d %q, want %d %q", data, at, author, wantAt, wantAuthor)
		}
	})
}
