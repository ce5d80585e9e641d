package rest_test

import (
	"strings"
	"testing"

	"github.com/vibesync/vibesync/server/servertest"
	"github.com/vibesync/vibesync/server/store"
)

func TestPushDevices(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	amy, ben := env.Register("Amy"), env.Register("Ben")
	devices := func(u servertest.User) []string {
		var out []string
		env.Server.DB().Read(ctx0, func(tx *store.Tx) (err error) { out, err = tx.PushDevices(ctx0, u.ID); return err })
		return out
	}
	t.Run("registers_and_moves_a_token", func(t *testing.T) {
		env.Do("POST", "/push/devices", amy.Token, map[string]any{"token": "tok-1"}).Want(204)
		if d := devices(amy); len(d) != 1 || d[0] != "tok-1" {
			t.Fatalf("%v", d)
		}
		env.Do("POST", "/push/devices", ben.Token, map[string]any{"token": "tok-1"}).Want(204)
		if len(devices(amy)) != 0 || len(devices(ben)) != 1 {
			t.Fatal("token did not move")
		}
	})
	t.Run("removes_only_ones_own_token", func(t *testing.T) {
		env.Do("DELETE", "/push/devices/tok-1", amy.Token, nil).Want(204)
		if len(devices(ben)) != 1 {
			t.Fatal("removed someone else's token")
		}
		env.Do("DELETE", "/push/devices/tok-1", ben.Token, nil).Want(204)
		if len(devices(ben)) != 0 {
			t.Fatal("not removed")
		}
	})
	t.Run("bad_token", func(t *testing.T) {
		env.Do("POST", "/push/devices", amy.Token, map[string]any{"token": ""}).WantError(400, "invalid_token")
		env.Do("POST", "/push/devices", amy.Token, map[string]any{"token": strings.Repeat("x", 4097)}).WantError(400, "invalid_token")
	})
}
