package integration

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestServerCutOff cuts the server off in the two ways the offline-first
// scenario uses — its container paused, and its container disconnected
// from its network — and checks what a client sees: requests fail (time
// out, or find no port) while it is cut off, a request sent into a paused
// server completes once it resumes, and after reconnecting (on a new host
// port) everything written before is there and writes work again; a
// front door (a stable local address forwarding to the current port, as a
// balancer would) refuses while the server is cut off and serves again
// after, without the client changing its address.
//
// TestOfflineFirst runs clients of the client package through the same
// cuts.
func TestServerCutOff(t *testing.T) {
	needDocker(t)
	net := newNetwork(t)
	srv := startServer(t, serverOptions{volume: newVolume(t), network: net})
	amy := srv.register(t, "Amy Offline", "amy.offline")

	t.Run("paused", func(t *testing.T) {
		srv.pause(t)
		paused := true
		defer func() {
			if paused {
				srv.unpause(t)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, _, err := srv.call(ctx, "GET", "/users/me", amy.Token, nil)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("request to a paused server: err %v, want a timeout", err)
		}
		// A write sent now waits in the kernel's queue and lands on resume.
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			status, body, err := srv.call(ctx, "PATCH", "/users/me", amy.Token, map[string]string{"bio": "sent while paused"})
			if err == nil && status != http.StatusOK {
				err = errors.New(string(body))
			}
			done <- err
		}()
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("a paused server answered: %v", err)
		default:
		}
		srv.unpause(t)
		paused = false
		if err := <-done; err != nil {
			t.Fatalf("write sent while paused: %v", err)
		}
		if me := srv.me(t, amy.Token); me.Bio != "sent while paused" {
			t.Fatalf("after resume: %+v", me)
		}
	})

	fd := newFrontDoor(t, srv)
	door := &server{name: "front door", url: fd.URL, client: &http.Client{Timeout: 10 * time.Second}}
	t.Run("disconnected", func(t *testing.T) {
		door.do(t, "GET", "/healthz", "", nil).Want(http.StatusOK)
		old := srv.URL()
		srv.disconnect(t, net)
		fd.drop()
		if srv.URL() != "" {
			t.Fatalf("still published at %s while disconnected", srv.URL())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		cut := &server{name: srv.name, url: old, client: &http.Client{}}
		if _, _, err := cut.call(ctx, "GET", "/healthz", "", nil); err == nil {
			t.Fatalf("the old address %s still answers while disconnected", old)
		}
		if _, _, err := door.call(ctx, "GET", "/healthz", "", nil); err == nil {
			t.Fatal("the front door answers while the server is disconnected")
		}
		srv.connect(t, net)
		t.Logf("reconnected: %s → %s (front door %s throughout)", old, srv.URL(), fd.URL)
		door.do(t, "GET", "/healthz", "", nil).Want(http.StatusOK)
		login := amy
		srv.login(t, &login)
		if me := srv.me(t, login.Token); me.Bio != "sent while paused" {
			t.Fatalf("after reconnecting: %+v", me)
		}
		srv.do(t, "PATCH", "/users/me", login.Token, map[string]string{"bio": "back online"}).Want(http.StatusOK)
	})
}
