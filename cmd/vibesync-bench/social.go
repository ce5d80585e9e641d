package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
)

// benchSocial seeds users in many chats with messages and connections,
// then measures the three REST figures the targets name: GET /connections,
// GET /chats (a page of 10 with lastMessage and unread), and POST
// /chats/:id/messages, each with b.opts.concurrency closed-loop clients.
func benchSocial(ctx context.Context, b *bench) error {
	return b.socialLoad(ctx, "rest", b.opts.synchronous, true)
}

// benchDurable sends the same message load to a server whose database runs
// with synchronous=FULL (an fsync per commit), the price of durability
// against power loss.
func benchDurable(ctx context.Context, b *bench) error {
	return b.socialLoad(ctx, "rest_full", "FULL", false)
}

func (b *bench) socialLoad(ctx context.Context, prefix, synchronous string, reads bool) error {
	inst, err := b.startServer(ctx, synchronous, nil)
	if err != nil {
		return err
	}
	defer inst.stop()
	w, err := seedWorld(ctx, b, inst.srv.Social(), b.opts.seed)
	if err != nil {
		return err
	}
	c := b.opts.concurrency
	if reads {
		res, err := runLoad(ctx, b.hc, c, b.opts.duration, func(wk, i int) (*http.Request, error) {
			return authed("GET", inst.url+"/connections", w.users[(wk*31+i)%len(w.users)].Token, nil)
		})
		if err != nil {
			return err
		}
		b.reportLoad(prefix+".get_connections", res)
		b.reportRatio(prefix+".get_connections", res)
		res, err = runLoad(ctx, b.hc, c, b.opts.duration, func(wk, i int) (*http.Request, error) {
			return authed("GET", inst.url+"/chats?limit=10", w.users[(wk*31+i)%len(w.users)].Token, nil)
		})
		if err != nil {
			return err
		}
		b.reportLoad(prefix+".get_chats", res)
		b.reportRatio(prefix+".get_chats", res)
	}
	// Each client sends as one member of one chat, clients spread over chats.
	var seq atomic.Int64
	res, err := runLoad(ctx, b.hc, c, b.opts.duration, func(wk, i int) (*http.Request, error) {
		k := wk % len(w.chats)
		from := w.members[k][(wk/len(w.chats))%len(w.members[k])]
		body := fmt.Sprintf(`{"text":"bench message %d, a sentence of ordinary length for a chat."}`, seq.Add(1))
		return authed("POST", inst.url+"/chats/"+w.chats[k]+"/messages", w.users[from].Token, []byte(body))
	})
	if err != nil {
		return err
	}
	b.reportLoad(prefix+".post_message", res)
	return nil
}

// reportRatio reports a load's requests/s as a share of the hello-world
// baseline, when the baseline ran.
func (b *bench) reportRatio(prefix string, r loadResult) {
	if b.helloRPS > 0 {
		b.report(prefix+".vs_hello", 100*r.RPS()/b.helloRPS, "%")
	}
	if b.helloCPU > 0 && r.CPUPerRequest() > 0 {
		b.report(prefix+".vs_hello_cpu", 100*float64(b.helloCPU)/float64(r.CPUPerRequest()), "%")
	}
}
