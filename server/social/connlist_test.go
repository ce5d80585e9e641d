package social_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
)

// seedConnections gives a user n records with n other users, written
// straight to the store: every third pending, every third accepted, every
// third declined; sent and received alternately; request times in pairs
// (ties broken by the later record) and acceptance times spread so the
// two orders interleave. Every seventh other user is blocked (by one
// side or the other). It returns the user's id and the records a list
// shows, most recent first as the spec orders them: accepted ones by
// acceptance time, others by request time, the later record first on a
// tie.
func seedConnections(t *testing.T, db *store.DB, n int) (string, []store.Connection) {
	t.Helper()
	ctx := context.Background()
	base := time.Date(2025, 9, 1, 12, 0, 0, 0, time.UTC)
	me := oid.New()
	var shown []store.Connection
	err := db.Write(ctx, func(tx *store.Tx) error {
		user := func(id string, i int) error {
			return tx.CreateUser(ctx, store.User{ID: id, Name: fmt.Sprint("User ", i), Username: fmt.Sprintf("user.%s", id[16:]),
				PasswordHash: "x", CreatedAt: base, UpdatedAt: base})
		}
		if err := user(me, -1); err != nil {
			return err
		}
		for i := range n {
			other := oid.New()
			if err := user(other, i); err != nil {
				return err
			}
			c := store.Connection{ID: oid.New(), FromID: me, ToID: other, Status: []string{store.ConnPending, store.ConnAccepted, store.ConnDeclined}[i%3],
				CreatedAt: base.Add(time.Duration(i/2) * time.Second)}
			if i%2 == 1 {
				c.FromID, c.ToID = other, me
			}
			if c.Status == store.ConnAccepted {
				c.AcceptedAt = c.CreatedAt.Add(time.Duration((i*37)%200) * time.Second)
			}
			c, err := tx.InsertConnection(ctx, c)
			if err != nil {
				return err
			}
			if i%7 == 3 {
				blocker, blocked := me, other
				if i%2 == 0 {
					blocker, blocked = other, me
				}
				if _, err := tx.Block(ctx, blocker, blocked); err != nil {
					return err
				}
				continue
			}
			shown = append(shown, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	key := func(c store.Connection) time.Time {
		if !c.AcceptedAt.IsZero() {
			return c.AcceptedAt
		}
		return c.CreatedAt
	}
	slices.SortFunc(shown, func(a, b store.Connection) int {
		if c := key(b).Compare(key(a)); c != 0 {
			return c
		}
		return int(b.Num - a.Num)
	})
	return me, shown
}

// Every page, role and status filter of a user's list answers the
// records the spec's order gives, from the kept list (a user with few
// records, asked twice) and from the database (a user with more records
// than a server keeps).
func TestConnectionPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, n := range []int{40, 620} {
		t.Run(fmt.Sprint(n, "_records"), func(t *testing.T) {
			t.Parallel()
			svc, db := mustService(t)
			me, shown := seedConnections(t, db, n)
			queries := []social.ConnectionQuery{
				{},
				{Statuses: []string{social.ConnectionPending, social.ConnectionAccepted}},
				{Statuses: []string{social.ConnectionAccepted}},
				{Role: store.RoleSent, Statuses: []string{social.ConnectionPending}},
				{Role: store.RoleReceived},
			}
			pages := []social.Page{{Offset: 0, Limit: 10}, {Offset: 10, Limit: 10}, {Offset: 5, Limit: -1}, {Offset: n, Limit: 10}, {Offset: 0, Limit: 1000}}
			for _, q := range queries {
				var want []store.Connection
				for _, c := range shown {
					if (q.Role == store.RoleSent && c.FromID != me) || (q.Role == store.RoleReceived && c.ToID != me) {
						continue
					}
					if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, c.Status) {
						continue
					}
					want = append(want, c)
				}
				for _, p := range pages {
					from := min(p.Offset, len(want))
					to := len(want)
					if p.Limit >= 0 {
						to = min(from+p.Limit, len(want))
					}
					for round := range 2 {
						got, total, err := svc.Connections(ctx, social.Caller{UserID: me}, q, p)
						if err != nil {
							t.Fatal(err)
						}
						var ids, wantIDs []string
						for _, c := range got {
							ids = append(ids, c.ID)
							if c.From.ID == "" || c.To.ID == "" || (c.From.ID != me && c.To.ID != me) {
								t.Fatalf("%+v %+v: a record without both users: %+v", q, p, c)
							}
						}
						for _, c := range want[from:to] {
							wantIDs = append(wantIDs, c.ID)
						}
						if total != len(want) || !slices.Equal(ids, wantIDs) {
							t.Fatalf("%+v %+v (round %d): total %d, %v; want %d, %v", q, p, round, total, ids, len(want), wantIDs)
						}
					}
				}
			}
		})
	}
}

// A user with more records than a server keeps is read page by page; once
// that is known at a version, a list does not read the whole list first
// again: the next request at the same version runs fewer statements.
func TestConnectionListTooLongToKeep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, db := mustService(t)
	me, shown := seedConnections(t, db, 620)
	statements := func() int64 {
		before := db.QueryCount()
		got, total, err := svc.Connections(ctx, social.Caller{UserID: me}, social.ConnectionQuery{}, social.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(shown) || len(got) != 10 || got[0].ID != shown[0].ID {
			t.Fatalf("total %d, %d records, first %s; want %d, 10, %s", total, len(got), got[0].ID, len(shown), shown[0].ID)
		}
		return db.QueryCount() - before
	}
	first, second := statements(), statements()
	if second >= first {
		t.Fatalf("the second list ran %d statements, the first %d: want fewer (the whole list not read again)", second, first)
	}
}
