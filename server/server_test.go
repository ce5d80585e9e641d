package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibesync/vibesync/server"
	"github.com/vibesync/vibesync/server/media"
	"github.com/vibesync/vibesync/server/servertest"
)

func TestRestartKeepsUsersAndTokens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := servertest.Start(t, dir)
	u := first.Register("Amy Jackson")
	first.Do("PATCH", "/users/me", u.Token, map[string]string{"bio": "still here"}).Want(http.StatusOK)
	first.Stop()

	second := servertest.Start(t, dir)
	// The generated token secret lives in the database: old tokens still verify.
	second.Do("GET", "/users/me", u.Token, nil).Want(http.StatusOK)
	var body struct {
		AccessToken string `json:"accessToken"`
		User        struct {
			ID  string `json:"_id"`
			Bio string `json:"bio"`
		} `json:"user"`
	}
	second.Do("POST", "/auth/login", "", map[string]string{"username": u.Username, "password": u.Password}).Want(http.StatusOK).Decode(&body)
	if body.User.ID != u.ID || body.User.Bio != "still here" {
		t.Fatalf("after restart user = %+v", body.User)
	}
	second.Do("POST", "/auth/refresh", "", map[string]string{"refreshToken": u.RefreshToken}).Want(http.StatusOK)
}

func TestConfiguredTokenSecretIsUsed(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 32)
	dir := t.TempDir()
	withSecret := func(c *server.Config) { c.TokenSecret = secret }
	a := servertest.Start(t, dir, withSecret)
	u := a.Register("Raj")
	a.Stop()
	// A server with another secret rejects tokens signed with the first.
	b := servertest.Start(t, dir, func(c *server.Config) { c.TokenSecret = strings.Repeat("t", 32) })
	b.Do("GET", "/users/me", u.Token, nil).WantError(http.StatusUnauthorized, "token_invalid")
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := server.Config{
		Listen:         "nonsense",
		DatabaseURL:    "ftp://db",
		TokenSecret:    "short",
		PublicURL:      "not a url",
		AllowedOrigins: []string{"app.example.com"},
		MediaS3:        "seaweed:8333/bucket",
	}.Validate()
	if err == nil {
		t.Fatal("bad config validated")
	}
	for _, want := range []string{"listen", "database URL", "token secret", "public URL", "allowed origin", "media S3 URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if err := (server.Config{}).Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

// TestMediaBucketNeedsTheS3Driver: a media bucket given to a server
// built without the S3 driver is refused at start, saying so, instead of
// silently keeping media in the data folder.
func TestMediaBucketNeedsTheS3Driver(t *testing.T) {
	t.Parallel()
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), Password: servertest.FastPasswords,
		MediaS3: "http://127.0.0.1:1/vibesync-media"})
	if err == nil {
		srv.Close()
		t.Fatal("server started with a media bucket and no S3 driver")
	}
	if !strings.Contains(err.Error(), "S3 driver") {
		t.Fatalf("error %q does not say the S3 driver is missing", err)
	}
	opened := make(chan media.S3Config, 1)
	srv, err = server.New(context.Background(), server.Config{DataDir: t.TempDir(), Password: servertest.FastPasswords,
		MediaS3: "http://127.0.0.1:1/vibesync-media", MediaS3Region: "eu-west-1",
		OpenMediaS3: func(_ context.Context, cfg media.S3Config, _ string) (media.Store, error) {
			opened <- cfg
			return nil, errors.New("unreachable")
		}})
	if err == nil {
		srv.Close()
		t.Fatal("server started with a bucket that did not open")
	}
	if cfg := <-opened; cfg != (media.S3Config{URL: "http://127.0.0.1:1/vibesync-media", Region: "eu-west-1"}) {
		t.Fatalf("opened %+v", cfg)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, Password: servertest.FastPasswords})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after cancel", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}
