package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/vibesync/vibesync/server/social"
)

// idleWindow is how long the idle scenario watches an instance with no users.
var idleWindow = 30 * time.Second

// benchIdle measures what an instance costs when nobody uses it: the CPU
// time of the process (one server on an embedded database, no sockets, no
// requests) over idleWindow. Then a second instance opens the same
// database file and the scenario measures cross-instance delivery: the
// time from before POST /chats/:id/messages on the first instance to
// message-created read on a socket connected to the second, which hears
// the write only through its tail of the shared database.
func benchIdle(ctx context.Context, b *bench) error {
	dir, err := os.MkdirTemp("", "vibesync-bench-idle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	url := "file:" + dir + "/bench.db?_synchronous=" + b.opts.synchronous
	a, err := startServerAt(ctx, dir, url)
	if err != nil {
		return err
	}
	defer a.stop()
	time.Sleep(2 * time.Second) // start-up work (migrations, first ticks) settles
	runtime.GC()
	cpu0, t0 := processCPU(), time.Now()
	select {
	case <-time.After(idleWindow):
	case <-ctx.Done():
		return ctx.Err()
	}
	cpu, wall := processCPU()-cpu0, time.Since(t0)
	b.report("idle.cpu", cpu.Seconds(), "s")
	b.report("idle.cpu_share", 100*cpu.Seconds()/wall.Seconds(), "% of a core")

	other, err := startServerAt(ctx, dir, url)
	if err != nil {
		return err
	}
	defer other.stop()
	svc := a.srv.Social()
	var users [2]seededUser
	for i := range users {
		name := fmt.Sprintf("idle.member%d", i)
		out, err := svc.Register(ctx, social.Registration{Name: name, Username: name, Password: "bench password"})
		if err != nil {
			return err
		}
		users[i] = seededUser{ID: out.User.ID, Username: name, Token: out.AccessToken}
	}
	open := false
	ch, _, err := svc.CreateChat(ctx, social.Caller{UserID: users[0].ID}, social.NewChat{IsGroup: true, Name: "Idle bench", Category: "Friends", Participants: &[]string{}, Restricted: &open})
	if err != nil {
		return err
	}
	if _, err := svc.Join(ctx, social.Caller{UserID: users[1].ID}, ch.ID); err != nil {
		return err
	}
	conn, _, err := dialSocket(other.url, users[1].Token)
	if err != nil {
		return err
	}
	defer conn.Close()
	arrivals := make(chan time.Time, 1)
	go onMessageCreated(conn, func(now time.Time) { arrivals <- now })
	const rounds = 30
	lat := make([]time.Duration, 0, rounds)
	for round := range rounds + 2 {
		// Spread the sends over the poll interval, as real traffic is.
		time.Sleep(time.Duration(37+round*7%50) * time.Millisecond)
		body := fmt.Sprintf(`{"text":"cross-instance bench message %d"}`, round)
		req, err := authed("POST", a.url+"/chats/"+ch.ID+"/messages", users[0].Token, []byte(body))
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := b.hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
			return fmt.Errorf("send: %d", res.StatusCode)
		}
		select {
		case at := <-arrivals:
			if round >= 2 {
				lat = append(lat, at.Sub(start))
			}
		case <-time.After(30 * time.Second):
			return errors.New("the other instance did not deliver within 30s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	slices.Sort(lat)
	b.report("idle.cross_instance_p50", float64(percentile(lat, 50).Microseconds())/1000, "ms")
	b.report("idle.cross_instance_p99", float64(percentile(lat, 99).Microseconds())/1000, "ms")
	return nil
}
