package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/auth"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
)

// TestMigrationUpgrade puts on a volume a database created by the first
// migration only, holding data written in that schema (a user, their feed
// row, a live session), starts the server image on it and checks that it
// upgrades to the latest migration: the server becomes ready, the old user
// logs in and refreshes the old session, new writes work, `vibesyncd
// migrate status` lists every migration applied, and the upgraded schema is
// exactly the schema of a database migrated from scratch.
func TestMigrationUpgrade(t *testing.T) {
	needDocker(t)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "vibesync.db")
	old := writeFirstSchemaDB(t, path)

	files := map[string][]byte{}
	for _, name := range []string{"vibesync.db", "vibesync.db-wal"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	srv := createServer(t, serverOptions{volume: newVolume(t)})
	srv.upload(t, files)
	srv.start(t) // ready means every migration is applied

	t.Run("old_data_served", func(t *testing.T) {
		me := srv.me(t, srv.loginToken(t, old))
		if me.ID != old.ID || me.Name != old.Name || me.Bio != "from the first schema" {
			t.Fatalf("old user after upgrade: %+v", me)
		}
		var pair authBody
		srv.do(t, "POST", "/auth/refresh", "", map[string]string{"refreshToken": old.Refresh}).Want(http.StatusOK).Decode(&pair)
		if pair.User.ID != old.ID {
			t.Fatalf("refresh of the old session answered %+v", pair)
		}
		fresh := srv.register(t, "New Comer", "new.comer")
		var list struct {
			Users []userJSON
			Count int
		}
		srv.do(t, "GET", "/users?search=first.schema", fresh.Token, nil).Want(http.StatusOK).Decode(&list)
		if list.Count != 1 || list.Users[0].ID != old.ID {
			t.Fatalf("search for the old user: %+v", list)
		}
	})
	srv.stop(t)

	t.Run("migrate_status", func(t *testing.T) {
		st := createServer(t, serverOptions{volume: srv.volume, cmd: []string{"migrate", "status"}})
		if err := pool.Client.StartContainer(st.id, nil); err != nil {
			t.Fatal(err)
		}
		if code := st.wait(t); code != 0 {
			t.Fatalf("migrate status exited %d:\n%s", code, st.logs(50))
		}
		out := st.logs(100)
		applied := strings.Count(out, " applied ")
		if applied == 0 || strings.Contains(out, "pending") {
			t.Fatalf("migrate status:\n%s", out)
		}
		t.Logf("migrate status:\n%s", out)
	})

	t.Run("schema_matches_fresh", func(t *testing.T) {
		upgraded := filepath.Join(srv.copyData(t), "vibesync.db")
		db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.ToSlash(upgraded)})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("upgraded database: %v", err)
		}
		var feed []store.Change
		err = db.Read(ctx, func(tx *store.Tx) (err error) {
			feed, err = tx.Changes(ctx, store.ChangeFilter{Buckets: []string{social.UserBucket(old.ID)}})
			return err
		})
		if err != nil || len(feed) != 1 || feed[0].EntityID != old.ID {
			t.Fatalf("old user's feed row after upgrade: %+v %v", feed, err)
		}

		fresh := filepath.Join(t.TempDir(), "fresh.db")
		fdb, err := store.Open(ctx, store.Config{URL: "file:" + filepath.ToSlash(fresh)})
		if err != nil {
			t.Fatal(err)
		}
		defer fdb.Close()
		if err := fdb.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		got, want := schemaOf(t, upgraded), schemaOf(t, fresh)
		if got != want {
			t.Errorf("upgraded schema differs from a fresh one\nupgraded:\n%s\nfresh:\n%s", got, want)
		}
	})
}

// writeFirstSchemaDB creates a database at path migrated to version 1 only
// and writes one user in that schema — with SQL of that schema, not with
// today's store code, which follows the latest schema.
func writeFirstSchemaDB(t *testing.T, path string) account {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: "file:" + filepath.ToSlash(path)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MigrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ms, err := db.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Applied != (m.Version == 1) {
			t.Fatalf("migration %d applied=%v; want only the first", m.Version, m.Applied)
		}
	}
	if len(ms) < 2 {
		t.Fatalf("only %d migration(s): nothing to upgrade", len(ms))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	a := account{ID: oid.New(), Name: "First Schema", Username: "first.schema", Password: "first schema password"}
	hash, err := auth.HashPassword(a.Password, auth.DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	refresh, refreshHash, err := auth.NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	a.Refresh = refresh
	now := time.Now().UnixMilli()
	data, _ := json.Marshal(social.User{ID: a.ID, Name: a.Name, Username: a.Username, Bio: "from the first schema"})
	session := oid.New()

	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO users (id, name, username, username_key, password_hash, bio, photo, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'from the first schema', '', ?, ?)`, []any{a.ID, a.Name, a.Username, a.Username, hash, now, now}},
		{`INSERT INTO changes (bucket, entity, entity_id, op, data, at) VALUES (?, 'user', ?, 'upsert', ?, ?)`,
			[]any{social.UserBucket(a.ID), a.ID, data, now}},
		{`INSERT INTO sessions (id, user_id, created_at) VALUES (?, ?, ?)`, []any{session, a.ID, now}},
		{`INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES (?, ?, ?)`,
			[]any{refreshHash, session, time.Now().Add(24 * time.Hour).UnixMilli()}},
		{`PRAGMA wal_checkpoint(TRUNCATE)`, nil},
	}
	for _, s := range stmts {
		if _, err := raw.ExecContext(ctx, s.q, s.args...); err != nil {
			t.Fatalf("%s: %v", s.q, err)
		}
	}
	return a
}

// schemaOf lists a database's tables, indexes and triggers with their SQL,
// leaving out SQLite's own tables.
func schemaOf(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, q string
		if err := rows.Scan(&typ, &name, &q); err != nil {
			t.Fatal(err)
		}
		b.WriteString(typ + " " + name + ": " + strings.Join(strings.Fields(q), " ") + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// loginToken logs a in through s and returns the new access token.
func (s *server) loginToken(t testing.TB, a account) string {
	t.Helper()
	s.login(t, &a)
	return a.Token
}
