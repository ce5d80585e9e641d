package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noenv(string) string { return "" }

func TestMigrateStatusAndUp(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"migrate", "status", "-data", dir}, noenv, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pending") {
		t.Fatalf("fresh database status shows nothing pending:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "up", "-data", dir}, noenv, &out, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "applied") {
		t.Fatalf("after up:\n%s", out.String())
	}
}

func TestBadArgumentsAreErrors(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	for _, args := range [][]string{
		{"migrate"},
		{"migrate", "sideways"},
		{"frobnicate"},
		{"-log-level", "loud"},
		{"-log-format", "xml"},
		{"-token-secret", "short"},
		{"-allowed-origins", "https://ok.example.com, no-scheme.example.com"},
		{"serve", "extra"},
		{"backup"},
		{"restore"},
		{"-metrics-listen", "nowhere"},
		{"-live-poll", "often"},
		{"-live-poll", "0s"},
		{"-media-s3", "seaweed:8333/bucket"},
		{"-media-s3", "http://seaweed:8333/Not_A_Bucket"},
		{"-media-s3-region", "eu-west-1"},
	} {
		if err := run(ctx, append(args, "-data", t.TempDir()), noenv, &out, &out); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func TestLivePollInterval(t *testing.T) {
	var out bytes.Buffer
	o, err := parseFlags("serve", []string{"-live-poll", "200ms", "-data", t.TempDir()}, noenv, &out)
	if err != nil || o.cfg.Live.PollInterval != 200*time.Millisecond {
		t.Fatalf("-live-poll 200ms: %v %v", o.cfg.Live.PollInterval, err)
	}
	o, err = parseFlags("serve", []string{"-data", t.TempDir()}, func(k string) string {
		if k == "VIBESYNC_LIVE_POLL" {
			return "1s"
		}
		return ""
	}, &out)
	if err != nil || o.cfg.Live.PollInterval != time.Second {
		t.Fatalf("VIBESYNC_LIVE_POLL=1s: %v %v", o.cfg.Live.PollInterval, err)
	}
}

func TestMediaS3Flags(t *testing.T) {
	var out bytes.Buffer
	o, err := parseFlags("serve", []string{"-media-s3", "http://seaweed:8333/vibesync-media", "-media-s3-region", "eu-west-1", "-data", t.TempDir()}, noenv, &out)
	if err != nil || o.cfg.MediaS3 != "http://seaweed:8333/vibesync-media" || o.cfg.MediaS3Region != "eu-west-1" {
		t.Fatalf("flags: %q %q %v", o.cfg.MediaS3, o.cfg.MediaS3Region, err)
	}
	env := map[string]string{"VIBESYNC_MEDIA_S3": "s3://vibesync-media", "VIBESYNC_MEDIA_S3_REGION": "us-west-2"}
	o, err = parseFlags("serve", []string{"-data", t.TempDir()}, func(k string) string { return env[k] }, &out)
	if err != nil || o.cfg.MediaS3 != "s3://vibesync-media" || o.cfg.MediaS3Region != "us-west-2" {
		t.Fatalf("environment: %q %q %v", o.cfg.MediaS3, o.cfg.MediaS3Region, err)
	}
}

// TestServeChecksTheMediaBucket: vibesyncd serves media from the bucket
// of -media-s3 (it carries the S3 driver), and one it cannot reach stops
// it at start-up, naming the bucket and its endpoint.
func TestServeChecksTheMediaBucket(t *testing.T) {
	// Not parallel: credentials come from the environment (and with them
	// set, the SDK never asks a metadata service).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var out bytes.Buffer
	err = run(context.Background(), []string{"serve", "-listen", "127.0.0.1:0", "-data", t.TempDir(), "-media-s3", "http://" + addr + "/vibesync-media"}, noenv, &out, &out)
	if err == nil {
		t.Fatal("served with an unreachable media bucket")
	}
	if !strings.Contains(err.Error(), "vibesync-media") || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "S3 driver") {
		t.Fatalf("error %q does not name the bucket and its endpoint", err)
	}
}

func TestEnvironmentConfiguresAndServeStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	env := map[string]string{
		"VIBESYNC_LISTEN":       addr,
		"VIBESYNC_DATABASE_URL": "file:" + filepath.Join(dir, "env.db"),
		"VIBESYNC_LOG_FORMAT":   "json",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &logs, &logs) }()
	var up bool
	for i := 0; i < 100 && !up; i++ {
		if res, err := http.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			up = res.StatusCode == http.StatusOK
		}
		if !up {
			time.Sleep(50 * time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if !up {
		t.Fatalf("server from environment never became ready; logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"serving"`) {
		t.Fatalf("log format from environment not used:\n%s", logs.String())
	}
}

func TestBackupThenRestore(t *testing.T) {
	ctx := context.Background()
	data, dest := t.TempDir(), filepath.Join(t.TempDir(), "b1")
	var out bytes.Buffer
	if err := run(ctx, []string{"migrate", "up", "-data", data}, noenv, &out, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"backup", dest, "-data", data}, noenv, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "backed up to "+dest) {
		t.Fatalf("backup said:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"restore", dest, "-data", data}, noenv, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "every sync client resets") || !strings.Contains(out.String(), "replaced database is kept at") {
		t.Fatalf("restore said:\n%s", out.String())
	}
	if err := run(ctx, []string{"backup", dest, "-data", data}, noenv, &out, &out); err == nil {
		t.Fatal("backup into a folder that holds a backup succeeded")
	}
}
