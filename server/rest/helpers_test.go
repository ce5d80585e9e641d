package rest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

// feed returns the current change-feed rows of bucket keyed by
// "entity/id".
func feed(t *testing.T, env *servertest.Env, bucket string) map[string]store.Change {
	t.Helper()
	out := map[string]store.Change{}
	err := env.Server.DB().Read(context.Background(), func(tx *store.Tx) error {
		cs, err := tx.Changes(context.Background(), store.ChangeFilter{Buckets: []string{bucket}, Limit: 10000})
		for _, c := range cs {
			out[c.Entity+"/"+c.EntityID] = c
		}
		return err
	})
	if err != nil {
		t.Fatalf("read feed: %v", err)
	}
	return out
}

// events returns the live events recorded so far, oldest first.
func events(t *testing.T, env *servertest.Env) []store.Event {
	t.Helper()
	var out []store.Event
	err := env.Server.DB().Read(context.Background(), func(tx *store.Tx) (err error) {
		out, err = tx.Events(context.Background(), 0, 10000)
		return err
	})
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	return out
}

// eventsNamed returns the events named name addressed to target.
func eventsNamed(t *testing.T, env *servertest.Env, name, target string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range events(t, env) {
		if e.Name == name && e.Target == target {
			var m map[string]any
			if err := json.Unmarshal(e.Data, &m); err != nil {
				t.Fatalf("event %s data: %v", name, err)
			}
			out = append(out, m)
		}
	}
	return out
}

// ids returns the "_id" of each object in list (a decoded JSON array).
func ids(list any, key string) []string {
	var out []string
	for _, v := range list.([]any) {
		out = append(out, v.(map[string]any)[key].(string))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
