package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

func mustUsers(t *testing.T, db *store.DB, n int) []string {
	t.Helper()
	var ids []string
	write(t, db, func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("%024x", i+1)
			if err := tx.CreateUser(context.Background(), store.User{ID: id, Name: id, Username: "u" + id, CreatedAt: tx.Now, UpdatedAt: tx.Now}); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids
}

func TestConnectionRecords(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	u := mustUsers(t, db, 4)
	conn := func(id, from, to, status string) store.Connection {
		return store.Connection{ID: id, FromID: from, ToID: to, Status: status, CreatedAt: time.Now()}
	}
	write(t, db, func(tx *store.Tx) error {
		for _, c := range []store.Connection{
			conn("c1", u[0], u[1], store.ConnAccepted),
			conn("c2", u[0], u[2], store.ConnPending),
			conn("c3", u[3], u[0], store.ConnDeclined),
		} {
			if _, err := tx.InsertConnection(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})

	t.Run("one_record_per_pair", func(t *testing.T) {
		err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertConnection(ctx, conn("c4", u[1], u[0], store.ConnPending))
			return err
		})
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("second record for a pair: %v", err)
		}
	})
	t.Run("between_either_way", func(t *testing.T) {
		_ = db.Read(ctx, func(tx *store.Tx) error {
			c, err := tx.ConnectionBetween(ctx, u[1], u[0])
			if err != nil || c.ID != "c1" || c.Num == 0 {
				t.Fatalf("between = %+v, %v", c, err)
			}
			if _, err := tx.ConnectionBetween(ctx, u[1], u[2]); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("no record: %v", err)
			}
			return nil
		})
	})
	list := func(f store.ConnectionFilter) []string {
		t.Helper()
		var out []string
		_ = db.Read(ctx, func(tx *store.Tx) error {
			f.Limit = 10
			cs, total, err := tx.Connections(ctx, f)
			if err != nil || total != len(cs) {
				t.Fatalf("connections: %d of %d, %v", len(cs), total, err)
			}
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return nil
		})
		return out
	}
	t.Run("filters_by_role_and_status", func(t *testing.T) {
		if got := list(store.ConnectionFilter{UserID: u[0]}); len(got) != 3 {
			t.Fatalf("all = %v", got)
		}
		if got := list(store.ConnectionFilter{UserID: u[0], Role: store.RoleSent}); len(got) != 2 {
			t.Fatalf("sent = %v", got)
		}
		if got := list(store.ConnectionFilter{UserID: u[0], Role: store.RoleReceived}); len(got) != 1 || got[0] != "c3" {
			t.Fatalf("received = %v", got)
		}
		if got := list(store.ConnectionFilter{UserID: u[0], Statuses: []string{store.ConnPending, store.ConnAccepted}}); len(got) != 2 {
			t.Fatalf("pending+accepted = %v", got)
		}
	})
	t.Run("leaves_out_blocked_pairs", func(t *testing.T) {
		write(t, db, func(tx *store.Tx) error {
			_, err := tx.Block(ctx, u[1], u[0])
			return err
		})
		if got := list(store.ConnectionFilter{UserID: u[0]}); len(got) != 2 || slices.Contains(got, "c1") {
			t.Fatalf("the blocked user's list with a block = %v", got)
		}
		if got := list(store.ConnectionFilter{UserID: u[1]}); len(got) != 0 {
			t.Fatalf("the blocker's list with a block = %v", got)
		}
		if got := list(store.ConnectionFilter{UserID: u[2]}); len(got) != 1 || got[0] != "c2" {
			t.Fatalf("a third user's list = %v", got)
		}
	})
}

func TestExpiredStatuses(t *testing.T) {
	t.Parallel()
	now := time.Now()
	db := mustOpenAt(t, t.TempDir()+"/s.db", func() time.Time { return now })
	ctx := context.Background()
	u := mustUsers(t, db, 2)
	write(t, db, func(tx *store.Tx) error {
		if err := tx.SetStatus(ctx, store.Status{UserID: u[0], ID: "s0", Text: "a", ExpiresAt: now.Add(-time.Second), CreatedAt: now}); err != nil {
			return err
		}
		return tx.SetStatus(ctx, store.Status{UserID: u[1], ID: "s1", Text: "b", ExpiresAt: now.Add(time.Hour), CreatedAt: now})
	})
	write(t, db, func(tx *store.Tx) error {
		active, err := tx.ActiveStatuses(ctx, u)
		if err != nil || len(active) != 1 || active[u[1]].ID != "s1" {
			t.Fatalf("active = %v, %v", active, err)
		}
		gone, err := tx.DeleteExpiredStatuses(ctx, u)
		if err != nil || len(gone) != 1 || gone[0] != u[0] {
			t.Fatalf("deleted = %v, %v", gone, err)
		}
		return nil
	})
}

func TestNotificationCounts(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	u := mustUsers(t, db, 1)
	write(t, db, func(tx *store.Tx) error {
		for i, typ := range []string{"a", "a", "b"} {
			if _, err := tx.InsertNotification(ctx, store.Notification{ID: fmt.Sprintf("n%d", i), UserID: u[0], Type: typ, SubjectID: "s", CreatedAt: tx.Now}); err != nil {
				return err
			}
		}
		if _, err := tx.MarkNotificationsRead(ctx, u[0], []string{"n0"}); err != nil {
			return err
		}
		_, err := tx.DismissNotifications(ctx, store.NotificationMatch{SubjectID: "s", Type: "b"})
		return err
	})
	_ = db.Read(ctx, func(tx *store.Tx) error {
		list, total, unread, err := tx.Notifications(ctx, store.NotificationFilter{UserID: u[0], UnreadOnly: true, Limit: 10})
		if err != nil || len(list) != 1 || total != 1 || unread != 1 || list[0].ID != "n1" {
			t.Fatalf("unread undismissed = %v total %d unread %d, %v", list, total, unread, err)
		}
		_, total, unread, _ = tx.Notifications(ctx, store.NotificationFilter{UserID: u[0], WithDismissed: true, Limit: 10})
		if total != 3 || unread != 1 {
			t.Fatalf("with dismissed: total %d unread %d", total, unread)
		}
		return nil
	})
}

func TestQueryCountCountsEveryQuery(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	u := mustUsers(t, db, 3)
	before := db.QueryCount()
	_ = db.Read(ctx, func(tx *store.Tx) error {
		_, err := tx.UsersByID(ctx, u)
		return err
	})
	if got := db.QueryCount() - before; got != 1 {
		t.Fatalf("UsersByID of %d users ran %d statements, want 1", len(u), got)
	}
}

func TestNotificationsLeaveOutBlockedActors(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	ctx := context.Background()
	u := mustUsers(t, db, 3)
	write(t, db, func(tx *store.Tx) error {
		for i, actor := range []string{u[1], u[2], ""} {
			if _, err := tx.InsertNotification(ctx, store.Notification{ID: fmt.Sprintf("n%d", i), UserID: u[0], Type: "t", ActorID: actor, SubjectID: "s", CreatedAt: tx.Now}); err != nil {
				return err
			}
		}
		_, err := tx.Block(ctx, u[2], u[0]) // blocked by the actor counts too
		return err
	})
	_ = db.Read(ctx, func(tx *store.Tx) error {
		list, total, unread, err := tx.Notifications(ctx, store.NotificationFilter{UserID: u[0], Limit: 10})
		if err != nil || len(list) != 2 || total != 2 || unread != 2 {
			t.Fatalf("notifications = %v total %d unread %d, %v: want the blocked actor's left out", list, total, unread, err)
		}
		for _, n := range list {
			if n.ActorID == u[2] {
				t.Fatalf("notification of a blocked actor listed: %+v", n)
			}
		}
		return nil
	})
}
