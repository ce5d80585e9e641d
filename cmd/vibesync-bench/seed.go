package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vibesync/vibesync/server/social"
)

// world is the seeded social data the REST scenarios read and write.
type world struct {
	users []seededUser
	// chats are group chat ids; members[i] lists the users of chats[i]
	// (members[i][0] created it).
	chats   []string
	members [][]int
}

// seedWorld fills a server through the rule layer in-process (the same
// transactions the REST handlers run, without HTTP): users, accepted and
// pending connections, open group chats, and messages, so every user sits
// in many chats with unread messages.
func seedWorld(ctx context.Context, b *bench, svc *social.Service, o seedOptions) (*world, error) {
	t0 := time.Now()
	w := &world{users: make([]seededUser, o.users)}
	err := parallel(8, o.users, func(i int) error {
		name := fmt.Sprintf("bench.user%05d", i)
		out, err := svc.Register(ctx, social.Registration{Name: name, Username: name, Password: "bench password"})
		w.users[i] = seededUser{ID: out.User.ID, Username: name, Token: out.AccessToken}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	// Connections: user i asks i+1..i+k; the odd ones are accepted.
	err = parallel(8, o.users, func(i int) error {
		me := social.Caller{UserID: w.users[i].ID}
		for d := 1; d <= o.connections && d < o.users; d++ {
			to := w.users[(i+d)%o.users]
			if _, _, err := svc.RequestConnection(ctx, me, social.ConnectionRequest{To: to.ID}); err != nil {
				if (i+d)%o.users < i { // the pair may already exist the other way round
					continue
				}
				return err
			}
			if d%2 == 1 {
				if _, err := svc.AcceptConnection(ctx, social.Caller{UserID: to.ID}, social.ByUser(me.UserID)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	// Group chats: chat k holds users k + j*(users/members) mod users, so
	// each user sits in about chats*members/users chats.
	open := false
	w.chats = make([]string, o.chats)
	w.members = make([][]int, o.chats)
	stride := max(1, o.users/max(1, o.members))
	err = parallel(8, o.chats, func(k int) error {
		ms := make([]int, 0, o.members)
		for j := 0; j < o.members && j < o.users; j++ {
			ms = append(ms, (k+j*stride)%o.users)
		}
		w.members[k] = ms
		creator := social.Caller{UserID: w.users[ms[0]].ID}
		ch, _, err := svc.CreateChat(ctx, creator, social.NewChat{IsGroup: true, Name: fmt.Sprintf("Bench group %d", k), Category: "Friends", Participants: &[]string{}, Restricted: &open})
		if err != nil {
			return err
		}
		w.chats[k] = ch.ID
		for _, m := range ms[1:] {
			if _, err := svc.Join(ctx, social.Caller{UserID: w.users[m].ID}, ch.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chats: %w", err)
	}
	err = parallel(8, o.chats, func(k int) error {
		for i := 0; i < o.messages; i++ {
			from := w.members[k][i%len(w.members[k])]
			if _, err := svc.SendMessage(ctx, social.Caller{UserID: w.users[from].ID}, w.chats[k],
				social.NewMessage{Text: fmt.Sprintf("seed message %d of chat %d, a sentence of ordinary length.", i, k)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	b.report("seed.time", time.Since(t0).Seconds(), "s")
	b.report("seed.users", float64(o.users), "users")
	b.report("seed.chats", float64(o.chats), "chats")
	b.report("seed.chats_per_user", float64(o.chats*min(o.members, o.users))/float64(o.users), "chats")
	b.report("seed.messages", float64(o.chats*o.messages), "messages")
	return w, nil
}

// seedOptions is the scale of seedWorld.
type seedOptions struct {
	users, connections, chats, members, messages int
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(workers, n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
