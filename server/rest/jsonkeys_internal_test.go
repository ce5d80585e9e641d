package rest

import (
	"reflect"
	"testing"
)

// The key check follows encoding/json's field names: promoted fields of
// embedded structs (by value or pointer) count as the outer struct's; a
// rewritten body keeps its numbers' digits.
func TestExactKeysFollowPromotedFields(t *testing.T) {
	type inner struct {
		Token string `json:"token"`
	}
	type other struct {
		Count int64 `json:"count"`
	}
	type body struct {
		inner
		*other
		Name string `json:"name"`
	}
	typ := reflect.TypeFor[*body]()
	for _, c := range []struct{ in, want string }{
		{`{"token":"a","count":12345678901234567,"name":"n"}`, `{"token":"a","count":12345678901234567,"name":"n"}`},
		{`{"Token":"a","count":12345678901234567}`, `{"count":12345678901234567}`},
		{`{"COUNT":1,"name":"n"}`, `{"name":"n"}`},
		{`{"inner":{"Token":"a"},"Other":1}`, `{"inner":{"Token":"a"},"Other":1}`}, // no key names an embedded struct
	} {
		if got := string(exactKeys([]byte(c.in), typ)); got != c.want {
			t.Errorf("exactKeys(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
