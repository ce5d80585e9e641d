package rest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// JSON object keys are case-sensitive, in the document as in JavaScript:
// {"Token": "x"} carries no "token". encoding/json, though, matches a key
// to a struct field ignoring case when no field has it exactly, so a
// handler would take "Token" for "token" and accept what the document
// refuses. exactKeys drops such keys before decoding: a key that only
// folds to a field's name is an unknown key, ignored like any other.

// exactKeys returns data without the object keys that encoding/json would
// give a field of t only by folding case. Nearly every body has none and
// comes back unchanged after one pass over its tokens; one that has some
// is rewritten (its values as they were, numbers untouched). A body that
// is not valid JSON comes back unchanged, for the decoder to refuse.
func exactKeys(data []byte, t reflect.Type) []byte {
	dec := json.NewDecoder(bytes.NewReader(data))
	folded, err := hasFoldedKey(dec, t)
	if err != nil || !folded {
		return data
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return data
	}
	out, err := json.Marshal(dropFolded(v, t))
	if err != nil {
		return data
	}
	return out
}

// hasFoldedKey reads one JSON value from dec, typed t (nil: not checked),
// and reports whether an object key in it matches a field only by case.
func hasFoldedKey(dec *json.Decoder, t reflect.Type) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return false, nil
	}
	t = checked(t)
	switch d {
	case '[':
		elem := elemOf(t)
		for dec.More() {
			if folded, err := hasFoldedKey(dec, elem); folded || err != nil {
				return folded, err
			}
		}
	case '{':
		fields := fieldsOf(t)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return false, err
			}
			key, _ := tok.(string)
			ft, folded := keyOf(t, fields, key)
			if folded {
				return true, nil
			}
			if folded, err := hasFoldedKey(dec, ft); folded || err != nil {
				return folded, err
			}
		}
	}
	_, err = dec.Token() // the closing ] or }
	return false, err
}

// dropFolded removes from v, decoded with UseNumber and typed t, the
// object keys that match a field only by case.
func dropFolded(v any, t reflect.Type) any {
	t = checked(t)
	switch v := v.(type) {
	case []any:
		elem := elemOf(t)
		for i := range v {
			v[i] = dropFolded(v[i], elem)
		}
	case map[string]any:
		fields := fieldsOf(t)
		for key, val := range v {
			ft, folded := keyOf(t, fields, key)
			if folded {
				delete(v, key)
				continue
			}
			v[key] = dropFolded(val, ft)
		}
	}
	return v
}

// elemOf is the element type of an array or slice type t, else nil.
func elemOf(t reflect.Type) reflect.Type {
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}

// keyOf is the type of key's value in an object typed t (fields: t's, or
// nil), nil when unchecked; folded when key matches a field only by case.
func keyOf(t reflect.Type, fields map[string]reflect.Type, key string) (ft reflect.Type, folded bool) {
	switch {
	case fields != nil:
		if f, ok := fields[key]; ok {
			return f, false
		}
		return nil, folds(fields, key)
	case t != nil && t.Kind() == reflect.Map:
		return t.Elem(), false
	}
	return nil, false
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checked is t without its pointers, or nil when encoding/json would not
// decode into it field by field (a type with its own UnmarshalJSON, an
// interface).
func checked(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Interface {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

// folds reports whether key matches one of fields' names only by case
// (encoding/json's folding: ASCII letters, and the Kelvin sign and long s).
func folds(fields map[string]reflect.Type, key string) bool {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return true
		}
	}
	return false
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// fieldsOf is the JSON names of struct t's fields (promoted ones of
// untagged embedded structs included) and their types; nil when t is not
// a struct.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		tag, hasTag := f.Tag.Lookup("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if ft := f.Type; f.Anonymous && !hasTag && (ft.Kind() == reflect.Struct || ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct) {
			continue // its fields are promoted
		}
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := fields[name]; !taken || len(f.Index) == 1 {
			fields[name] = f.Type
		}
	}
	fieldCache.Store(t, fields)
	return fields
}
