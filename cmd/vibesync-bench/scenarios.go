package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

var scenarios = []scenario{
	{"hello", benchHello},
	{"users", benchUsers},
	{"rest", benchSocial},
	{"durable", benchDurable},
	{"sync", benchSync},
	{"live", benchLive},
	{"sockets", benchSockets},
	{"loginflood", benchLoginFlood},
	{"push", benchPush},
	{"ops", benchOps},
	{"idle", benchIdle},
}

// benchHello measures a plain net/http hello-world server: the baseline.
func benchHello(ctx context.Context, b *bench) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world\n")
	})}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/"
	res, err := runLoad(ctx, b.hc, b.opts.concurrency, b.opts.duration, func(w, i int) (*http.Request, error) {
		return http.NewRequest("GET", url, nil)
	})
	if err != nil {
		return err
	}
	b.reportLoad("hello.get", res)
	b.helloRPS, b.helloCPU = res.RPS(), res.CPUPerRequest()
	return nil
}

// seededUser is a user the bench registered.
type seededUser struct {
	ID, Username, Token string
}

// api is a small JSON client for seeding.
type api struct {
	hc   *http.Client
	base string
}

func (a api) do(method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		j, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (a api) register(name string) (seededUser, error) {
	var out struct {
		User struct {
			ID string `json:"_id"`
		} `json:"user"`
		AccessToken string `json:"accessToken"`
	}
	err := a.do("POST", "/auth/register", "", map[string]string{"name": name, "username": name, "password": "bench password"}, &out)
	return seededUser{ID: out.User.ID, Username: name, Token: out.AccessToken}, err
}

func (a api) registerMany(n int, prefix string) ([]seededUser, error) {
	users := make([]seededUser, n)
	for i := range users {
		u, err := a.register(fmt.Sprintf("%s%05d", prefix, i))
		if err != nil {
			return nil, err
		}
		users[i] = u
	}
	return users, nil
}

func authed(method, url, token string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// benchUsers measures authenticated profile reads and user search.
func benchUsers(ctx context.Context, b *bench) error {
	inst, err := b.startServer(ctx, b.opts.synchronous, nil)
	if err != nil {
		return err
	}
	defer inst.stop()
	a := api{hc: b.hc, base: inst.url}
	t0 := time.Now()
	users, err := a.registerMany(b.opts.users, "bench.user")
	if err != nil {
		return err
	}
	b.report("seed.register", float64(len(users))/time.Since(t0).Seconds(), "users/s")
	res, err := runLoad(ctx, b.hc, b.opts.concurrency, b.opts.duration, func(w, i int) (*http.Request, error) {
		return authed("GET", inst.url+"/users/me", users[(w+i)%len(users)].Token, nil)
	})
	if err != nil {
		return err
	}
	b.reportLoad("rest.users_me", res)
	res, err = runLoad(ctx, b.hc, b.opts.concurrency, b.opts.duration, func(w, i int) (*http.Request, error) {
		return authed("GET", inst.url+"/users?search=user0001&limit=10", users[(w+i)%len(users)].Token, nil)
	})
	if err != nil {
		return err
	}
	b.reportLoad("rest.users_search", res)
	return nil
}
