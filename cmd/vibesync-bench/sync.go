package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vibesync/vibesync/client"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/syncproto/vibesync/sync/v1/syncv1connect"
)

// countingTransport counts response body bytes as they arrive, and the
// time spent in Push calls (request sent to answer read and closed).
type countingTransport struct {
	base     http.RoundTripper
	n        atomic.Int64
	pushTime atomic.Int64 // nanoseconds
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t0 := time.Now()
	res, err := t.base.RoundTrip(r)
	if err == nil {
		b := &countingBody{ReadCloser: res.Body, n: &t.n}
		if strings.HasSuffix(r.URL.Path, syncv1connect.SyncServicePushProcedure) {
			b.t0, b.took = t0, &t.pushTime
		}
		res.Body = b
	}
	return res, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
	// took, when set, receives the time from t0 to Close.
	t0   time.Time
	took *atomic.Int64
}

func (b *countingBody) Close() error {
	err := b.ReadCloser.Close()
	if b.took != nil {
		b.took.Add(int64(time.Since(b.t0)))
		b.took = nil
	}
	return err
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// benchSync seeds one user in b.opts.syncChats group chats of
// b.opts.syncMessages messages each (real messages, through the rule
// layer, one transaction per chat), then measures with the client package:
// an initial sync into an empty replica (time, bytes, rows/s) against the
// same messages read page by page as REST JSON; incremental pull latency
// after one new message; and push throughput of messages queued offline.
func benchSync(ctx context.Context, b *bench) error {
	inst, err := b.startServer(ctx, b.opts.synchronous, nil)
	if err != nil {
		return err
	}
	defer inst.stop()
	svc := inst.srv.Social()
	reg := func(name string) (seededUser, error) {
		out, err := svc.Register(ctx, social.Registration{Name: name, Username: name, Password: "bench password"})
		return seededUser{ID: out.User.ID, Username: name, Token: out.AccessToken}, err
	}
	me, err := reg("sync.reader")
	if err != nil {
		return err
	}
	other, err := reg("sync.writer")
	if err != nil {
		return err
	}
	t0 := time.Now()
	open := false
	chats := make([]string, b.opts.syncChats)
	for k := range chats {
		ch, _, err := svc.CreateChat(ctx, social.Caller{UserID: other.ID}, social.NewChat{IsGroup: true,
			Name: fmt.Sprintf("Sync group %d", k), Category: "Friends", Participants: &[]string{}, Restricted: &open})
		if err != nil {
			return err
		}
		chats[k] = ch.ID
		if _, err := svc.Join(ctx, social.Caller{UserID: me.ID}, ch.ID); err != nil {
			return err
		}
	}
	// Eight writers at once: their messages commit together (group commit).
	err = parallel(8, len(chats), func(k int) error {
		for i := range b.opts.syncMessages {
			from := other
			if i%3 == 0 {
				from = me
			}
			if _, err := svc.SendMessage(ctx, social.Caller{UserID: from.ID}, chats[k],
				social.NewMessage{Text: fmt.Sprintf("message %d of a fairly ordinary conversation in chat %d", i, k)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.report("sync.seed_time", time.Since(t0).Seconds(), "s")
	b.report("sync.seed_messages", float64(len(chats)*b.opts.syncMessages), "messages")

	dir, err := os.MkdirTemp("", "vibesync-bench-replica-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tr := &countingTransport{base: &http.Transport{MaxIdleConnsPerHost: 4}}
	c, err := client.Open(ctx, client.Options{Server: inst.url, Dir: dir, HTTPClient: &http.Client{Transport: tr}, Window: client.WindowAll})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Login(ctx, me.Username, "bench password"); err != nil {
		return err
	}
	tr.n.Store(0)
	t0 = time.Now()
	cpu0 := processCPU()
	res, err := c.Sync(ctx)
	if err != nil {
		return err
	}
	took := time.Since(t0)
	initCPU := processCPU() - cpu0
	syncBytes := tr.n.Load()
	b.report("sync.initial.time", took.Seconds(), "s")
	b.report("sync.initial.rows", float64(res.Pulled), "rows")
	b.report("sync.initial.rows_per_s", float64(res.Pulled)/took.Seconds(), "rows/s")
	b.report("sync.initial.bytes", float64(syncBytes)/(1<<20), "MiB")
	// The process's CPU time (client and server run in it): steadier than
	// the wall time on a shared machine.
	b.report("sync.initial.cpu", initCPU.Seconds(), "s")
	b.report("sync.initial.cpu_per_row", float64(initCPU.Nanoseconds())/1000/float64(res.Pulled), "us")

	// A windowed initial sync: each chat's newest 200 messages, then one
	// page of older messages of one chat.
	wdir, err := os.MkdirTemp("", "vibesync-bench-replica-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(wdir)
	wc, err := client.Open(ctx, client.Options{Server: inst.url, Dir: wdir, Window: 200})
	if err != nil {
		return err
	}
	defer wc.Close()
	if _, err := wc.Login(ctx, me.Username, "bench password"); err != nil {
		return err
	}
	t0 = time.Now()
	cpu0 = processCPU()
	wres, err := wc.Sync(ctx)
	if err != nil {
		return err
	}
	took = time.Since(t0)
	b.report("sync.initial_window.time", took.Seconds(), "s")
	b.report("sync.initial_window.cpu", (processCPU() - cpu0).Seconds(), "s")
	b.report("sync.initial_window.rows", float64(wres.Pulled), "rows")
	t0 = time.Now()
	h, err := wc.History(ctx, chats[0], 100)
	if err != nil {
		return err
	}
	b.report("sync.history.time", float64(time.Since(t0).Microseconds())/1000, "ms")
	b.report("sync.history.rows", float64(h.Fetched), "rows")

	// The same messages as REST JSON: every page of GET /chats/:id/messages.
	rest := &countingTransport{base: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
	rc := &http.Client{Transport: rest}
	t0 = time.Now()
	for _, id := range chats {
		for page := 1; (page-1)*100 < b.opts.syncMessages; page++ {
			req, err := authed("GET", fmt.Sprintf("%s/chats/%s/messages?limit=100&page=%d", inst.url, id, page), me.Token, nil)
			if err != nil {
				return err
			}
			r, err := rc.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode != http.StatusOK {
				return fmt.Errorf("GET messages: %d", r.StatusCode)
			}
		}
	}
	b.report("sync.rest_messages.time", time.Since(t0).Seconds(), "s")
	b.report("sync.rest_messages.bytes", float64(rest.n.Load())/(1<<20), "MiB")
	b.report("sync.initial.bytes_vs_rest", 100*float64(syncBytes)/float64(rest.n.Load()), "%")

	// Incremental pull: one new message from someone else (sent before
	// the clock starts), then a Sync of the 100k-row replica: its push
	// finds nothing queued, its pull brings the one message.
	var lat []time.Duration
	var pullCPU time.Duration
	for i := range b.opts.liveRounds {
		if _, err := svc.SendMessage(ctx, social.Caller{UserID: other.ID}, chats[i%len(chats)], social.NewMessage{Text: "one more"}); err != nil {
			return err
		}
		t0 := time.Now()
		cpu0 := processCPU()
		res, err := c.Sync(ctx)
		if err != nil {
			return err
		}
		if res.Pulled == 0 {
			return fmt.Errorf("incremental pull got nothing")
		}
		lat = append(lat, time.Since(t0))
		pullCPU += processCPU() - cpu0
	}
	slices.Sort(lat)
	b.report("sync.pull.p50", float64(percentile(lat, 50).Microseconds())/1000, "ms")
	b.report("sync.pull.p99", float64(percentile(lat, 99).Microseconds())/1000, "ms")
	b.report("sync.pull.cpu_per_pull", float64(pullCPU.Microseconds())/1000/float64(len(lat)), "ms")

	// Push: messages queued offline, then one Sync pushes them (and pulls
	// their results back). sync.push.rate is what the user waits for, the
	// whole Sync; sync.push.rpc_rate counts only the time in Push calls
	// (encoding, the round trip, the server applying and committing, the
	// answer decoded): the server's share. The rest is the client: its
	// outbox before and after the push and the pull that brings the
	// messages back into the replica.
	const batch = 200
	var pushed int
	var pushTime time.Duration
	var cpu time.Duration
	rpc0 := tr.pushTime.Load()
	stopProfile := profileWindow()
	defer stopProfile()
	for round := range 5 {
		for j := range batch {
			if _, err := c.SendMessage(ctx, chats[(round*batch+j)%len(chats)], fmt.Sprintf("queued %d/%d", round, j)); err != nil {
				return err
			}
		}
		t0, cpu0 := time.Now(), processCPU()
		res, err := c.Sync(ctx)
		if err != nil {
			return err
		}
		pushTime += time.Since(t0)
		cpu += processCPU() - cpu0
		if res.Pushed != batch {
			return fmt.Errorf("push: %d of %d applied (%d rejected)", res.Pushed, batch, len(res.Rejected))
		}
		pushed += res.Pushed
	}
	stopProfile()
	rpc := time.Duration(tr.pushTime.Load() - rpc0)
	b.report("sync.push.rate", float64(pushed)/pushTime.Seconds(), "mutations/s")
	b.report("sync.push.rpc_rate", float64(pushed)/rpc.Seconds(), "mutations/s")
	b.report("sync.push.rpc_share", 100*rpc.Seconds()/pushTime.Seconds(), "%")
	b.report("sync.push.cpu_per_mutation", float64(cpu.Nanoseconds())/1000/float64(pushed), "us")
	return nil
}
