package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	stdimage "image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/vibesync/vibesync/integration/seaweed"
)

// The S3 server's bucket and credentials, given to SeaweedFS (which
// creates both at start-up) and to the instances.
const (
	mediaBucket    = "vibesync-media"
	mediaAccessKey = "vibesync-it"
	mediaSecretKey = "vibesync-it-secret-key-0123456789"
	seaweedS3Port  = dc.Port("8333/tcp")
)

// The SeaweedFS image, built on first use in a run and removed with the
// run's other images.
var (
	seaweedOnce  sync.Once
	seaweedImage string
	seaweedErr   error
)

// buildSeaweedImage builds an image FROM scratch around the cached static
// weed binary (see integration/seaweed; `make integration` builds it
// before the suite starts).
func buildSeaweedImage() (string, error) {
	goarch := engineArch()
	ctx, cancel := withTimeout(30 * time.Minute)
	defer cancel()
	bin, err := seaweed.Binary(ctx, goarch, os.Stdout)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "vibesync-seaweed-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "weed"), data, 0o755); err != nil {
		return "", err
	}
	for _, d := range []string{"data", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	uid := strconv.Itoa(serverUID)
	// weed mini: master, volume server, filer and S3 gateway in one
	// process; it creates the bucket named by -bucket and an identity
	// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY before it serves.
	dockerfile := `FROM scratch
COPY --chown=` + uid + `:` + uid + ` data /data
COPY --chown=` + uid + `:` + uid + ` tmp /tmp
COPY weed /weed
USER ` + uid + `:` + uid + `
ENV TMPDIR=/tmp HOME=/tmp
EXPOSE 8333
ENTRYPOINT ["/weed", "mini", "-dir=/data", "-ip=127.0.0.1", "-ip.bind=0.0.0.0"]
`
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", err
	}
	name := "vibesync-integration-seaweedfs:" + runID
	var out bytes.Buffer
	err = pool.Client.BuildImage(dc.BuildImageOptions{
		Name: name, ContextDir: dir, Labels: labels(),
		RmTmpContainer: true, ForceRmTmpContainer: true, OutputStream: &out,
	})
	if err != nil {
		return "", fmt.Errorf("docker build %s: %v\n%s", name, err, out.String())
	}
	atExit(func() {
		if err := pool.Client.RemoveImageExtended(name, dc.RemoveImageOptions{Force: true}); err != nil && !errors.Is(err, dc.ErrNoSuchImage) {
			fmt.Fprintln(os.Stderr, "integration: remove image:", err)
		}
	})
	return name, nil
}

// seaweedFixture is a SeaweedFS container serving S3 with mediaBucket.
// Instances reach it by name on a shared network; the test reaches it on
// its published port with its own S3 client, to look into the bucket
// without going through vibesync.
type seaweedFixture struct {
	name string
	id   string
	s3   *s3.Client
}

// startSeaweed starts SeaweedFS on net and waits until the bucket answers.
func startSeaweed(t testing.TB, net *dc.Network) *seaweedFixture {
	t.Helper()
	needDocker(t)
	seaweedOnce.Do(func() { seaweedImage, seaweedErr = buildSeaweedImage() })
	if seaweedErr != nil {
		t.Fatalf("SeaweedFS image: %v", seaweedErr)
	}
	f := &seaweedFixture{name: uniqueName("seaweed")}
	c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{
		Name: f.name,
		Config: &dc.Config{
			Image:        seaweedImage,
			Cmd:          []string{"-bucket=" + mediaBucket},
			Env:          []string{"AWS_ACCESS_KEY_ID=" + mediaAccessKey, "AWS_SECRET_ACCESS_KEY=" + mediaSecretKey},
			ExposedPorts: map[dc.Port]struct{}{seaweedS3Port: {}},
			Labels:       labels(),
		},
		HostConfig: &dc.HostConfig{
			PortBindings: map[dc.Port][]dc.PortBinding{seaweedS3Port: {{HostIP: "127.0.0.1"}}},
			NetworkMode:  net.Name,
		},
		NetworkingConfig: &dc.NetworkingConfig{EndpointsConfig: map[string]*dc.EndpointConfig{net.Name: {}}},
	})
	if err != nil {
		t.Fatalf("create SeaweedFS: %v", err)
	}
	f.id = c.ID
	t.Cleanup(func() {
		if t.Failed() {
			var logs bytes.Buffer
			_ = pool.Client.Logs(dc.LogsOptions{Container: f.id, OutputStream: &logs, ErrorStream: &logs, Stdout: true, Stderr: true, Tail: "40"})
			t.Logf("logs of %s (last 40 lines):\n%s", f.name, logs.String())
		}
		if err := pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: f.id, Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("remove %s: %v", f.name, err)
		}
	})
	if err := pool.Client.StartContainer(f.id, nil); err != nil {
		t.Fatalf("start SeaweedFS: %v", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ci, err := pool.Client.InspectContainer(f.id)
		if err != nil {
			t.Fatal(err)
		}
		if !ci.State.Running {
			t.Fatalf("SeaweedFS exited with status %d", ci.State.ExitCode)
		}
		for _, b := range ci.NetworkSettings.Ports[seaweedS3Port] {
			if b.HostIP == "127.0.0.1" && b.HostPort != "" && f.s3 == nil {
				f.s3 = s3.New(s3.Options{
					BaseEndpoint: aws.String("http://127.0.0.1:" + b.HostPort),
					Region:       "us-east-1",
					UsePathStyle: true,
					Credentials:  credentials.NewStaticCredentialsProvider(mediaAccessKey, mediaSecretKey, ""),
				})
			}
		}
		if f.s3 != nil {
			ctx, cancel := withTimeout(5 * time.Second)
			_, lastErr = f.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(mediaBucket)})
			cancel()
			if lastErr == nil {
				return f
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("SeaweedFS %s: bucket %s did not answer within 90s (%v)", f.name, mediaBucket, lastErr)
	return nil
}

// env is what an instance needs to keep its media in the fixture's bucket.
func (f *seaweedFixture) env() []string {
	return []string{
		"VIBESYNC_MEDIA_S3=http://" + f.name + ":8333/" + mediaBucket,
		"AWS_ACCESS_KEY_ID=" + mediaAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + mediaSecretKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// keys lists the bucket's objects over the S3 API.
func (f *seaweedFixture) keys(t testing.TB) []string {
	t.Helper()
	ctx, cancel := withTimeout(10 * time.Second)
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(f.s3, &s3.ListObjectsV2Input{Bucket: aws.String(mediaBucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list bucket %s: %v", mediaBucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// TestMediaAcrossHosts runs two instances as if on two hosts: each on its
// own volume, sharing the database on the libSQL test server and the
// media in one SeaweedFS bucket over the S3 API. A chat photo uploaded
// through A is served by B with the same bytes and type, and is an object
// of the bucket (listed directly); deleting the chat through B removes
// the object, and neither instance serves it any more.
func TestMediaAcrossHosts(t *testing.T) {
	needDocker(t)
	start := time.Now()
	net := newNetwork(t)
	var (
		wg sync.WaitGroup
		db *libsqlFixture
		sw *seaweedFixture
	)
	wg.Add(1)
	go func() { defer wg.Done(); db = startLibsql(t, net) }()
	sw = startSeaweed(t, net)
	wg.Wait()
	if db == nil {
		t.FailNow()
	}
	env := append(sw.env(), "VIBESYNC_PUBLIC_URL="+publicURL)
	a := remoteServer(t, net, db, env...)
	b := remoteServer(t, net, db, env...)
	a.start(t)
	b.start(t)
	t.Logf("SeaweedFS, the libSQL server and two instances ready in %s", time.Since(start).Round(time.Millisecond))

	amy := a.register(t, "Amy Media", "amy.media")
	var made struct {
		Chat struct {
			ID string `json:"_id"`
		}
	}
	a.do(t, "POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Photos", "category": "Study", "participants": []string{}}).
		Want(http.StatusCreated).Decode(&made)
	chatID := made.Chat.ID

	var img bytes.Buffer
	if err := png.Encode(&img, stdimage.NewGray(stdimage.Rect(0, 0, 24, 24))); err != nil {
		t.Fatal(err)
	}
	photo := img.Bytes()
	var got struct {
		Chat struct {
			Photo string `json:"photo"`
		}
	}
	putPhoto(t, a, amy.Token, chatID, photo).Want(http.StatusOK).Decode(&got)
	key, ok := strings.CutPrefix(got.Chat.Photo, publicURL+"/media/")
	if !ok || !strings.HasPrefix(key, "chats/"+chatID+"/") || !strings.HasSuffix(key, ".png") {
		t.Fatalf("photo URL %q: want %s/media/chats/%s/<id>.png", got.Chat.Photo, publicURL, chatID)
	}

	t.Run("the_photo_is_an_object_of_the_bucket", func(t *testing.T) {
		if keys := sw.keys(t); len(keys) != 1 || keys[0] != key {
			t.Fatalf("bucket holds %q, want only %q", keys, key)
		}
		ctx, cancel := withTimeout(10 * time.Second)
		defer cancel()
		obj, err := sw.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(mediaBucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Body.Close()
		var stored bytes.Buffer
		stored.ReadFrom(obj.Body)
		if !bytes.Equal(stored.Bytes(), photo) || aws.ToString(obj.ContentType) != "image/png" {
			t.Fatalf("object: %d bytes of %q, want the %d uploaded, image/png", stored.Len(), aws.ToString(obj.ContentType), len(photo))
		}
	})

	t.Run("served_by_the_other_instance", func(t *testing.T) {
		for _, srv := range []*server{b, a} {
			res, err := srv.client.Get(srv.URL() + "/media/" + key)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK || !bytes.Equal(body, photo) || res.Header.Get("Content-Type") != "image/png" ||
				res.Header.Get("Content-Length") != strconv.Itoa(len(photo)) {
				t.Fatalf("GET /media/%s through %s: %d, %d bytes of %q (length %s), %v; want the %d uploaded as image/png",
					key, srv.name, res.StatusCode, len(body), res.Header.Get("Content-Type"), res.Header.Get("Content-Length"), err, len(photo))
			}
		}
		b.do(t, "GET", "/media/chats/"+chatID+"/missing.png", "", nil).WantError(http.StatusNotFound, "media_not_found")
	})

	t.Run("deleting_the_chat_removes_the_object", func(t *testing.T) {
		b.do(t, "DELETE", "/chats/"+chatID, amy.Token, nil).Want(http.StatusNoContent)
		// The object goes right after the commit, in the background; its
		// queued deletion is forgotten once the bucket confirmed it.
		sql := db.open(t)
		deadline := time.Now().Add(15 * time.Second)
		for {
			var queued int
			if err := sql.QueryRowContext(context.Background(), `SELECT count(*) FROM media_deletions`).Scan(&queued); err != nil {
				t.Fatal(err)
			}
			keys := sw.keys(t)
			if len(keys) == 0 && queued == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("15 s after the chat's deletion the bucket holds %q and %d deletions are queued", keys, queued)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, srv := range []*server{a, b} {
			srv.do(t, "GET", "/media/"+key, "", nil).WantError(http.StatusNotFound, "media_not_found")
		}
	})
	t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
}
