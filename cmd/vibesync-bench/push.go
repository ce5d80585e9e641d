package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/server/store"
)

// benchPush queues push notifications the way users cause them (group
// chats created with participants) and measures how long the server's push
// worker (log sender) takes to drain the outbox. It exists as much to move
// the push figures of /metrics during a bench as to time the worker.
func benchPush(ctx context.Context, b *bench) error {
	inst, err := b.startServer(ctx, b.opts.synchronous, nil)
	if err != nil {
		return err
	}
	defer inst.stop()
	svc := inst.srv.Social()
	members, chats := b.opts.pushMembers, b.opts.pushChats
	users := make([]seededUser, members+1)
	for i := range users {
		name := fmt.Sprintf("push.user%03d", i)
		out, err := svc.Register(ctx, social.Registration{Name: name, Username: name, Password: "bench password"})
		if err != nil {
			return err
		}
		users[i] = seededUser{ID: out.User.ID, Username: name}
	}
	owner := social.Caller{UserID: users[0].ID}
	var ids []string
	for _, u := range users[1:] {
		if err := svc.FollowUser(ctx, owner, u.ID); err != nil {
			return err
		}
		ids = append(ids, u.ID)
	}
	t0 := time.Now()
	for k := range chats {
		if _, _, err := svc.CreateChat(ctx, owner, social.NewChat{IsGroup: true, Name: fmt.Sprintf("Push bench %d", k), Category: "Friends", Participants: &ids}); err != nil {
			return err
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var depth int64
		if err := inst.srv.DB().Read(ctx, func(tx *store.Tx) (err error) { depth, err = tx.PushOutboxDepth(ctx); return err }); err != nil {
			return err
		}
		if depth == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("push outbox still holds %d after 2 minutes", depth)
		}
	}
	took := time.Since(t0)
	b.report("push.queued", float64(members*chats), "pushes")
	b.report("push.drain_time", took.Seconds(), "s")
	b.report("push.rate", float64(members*chats)/took.Seconds(), "pushes/s")
	// What an operator's scrape shows for the same work.
	res, err := b.hc.Get(inst.url + "/metrics")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, `vibesync_push_deliveries_total{outcome="sent"} `); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("/metrics: %q: %w", line, err)
			}
			b.report("push.metrics_sent", n, "pushes")
		}
	}
	return nil
}
