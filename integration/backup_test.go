package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dc "github.com/ory/dockertest/v3/docker"

	"github.com/vibesync/vibesync/client"
)

// TestBackupRestore backs up a serving container with `vibesyncd backup`
// while four writers keep sending messages, restores the backup into a new
// container (new volume) with `vibesyncd restore`, and checks that every
// message acknowledged before the backup began is there, none acknowledged
// after it ended is, and that a client (the client package) that synced
// after the backup is told to reset and ends up with the restored state,
// instead of keeping a feed the server has rewound.
func TestBackupRestore(t *testing.T) {
	needDocker(t)
	ctx := t.Context()
	srv := startServer(t, serverOptions{volume: newVolume(t)})
	fd := newFrontDoor(t, srv)
	amy := srv.register(t, "Amy Backup", "amy.backup")
	var created struct {
		Chat struct {
			ID string `json:"_id"`
		} `json:"chat"`
	}
	srv.do(t, "POST", "/chats", amy.Token, map[string]any{"isGroup": true, "name": "Backed up", "category": "Outdoors", "participants": []string{}}).
		Want(http.StatusCreated).Decode(&created)
	chat := created.Chat
	device := openClient(t, fd.URL)
	if _, err := device.Login(ctx, amy.Username, amy.Password); err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		acked []string // texts of messages the server answered 201 for, in order
		// late holds the acknowledged texts whose request was sent after the
		// backup had ended: only those can be known to be missing from it (a
		// request sent earlier may commit before the snapshot and be answered
		// after the backup ends).
		late       []string
		backupDone atomic.Bool
	)
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				text := fmt.Sprintf("w%d-%d", w, i)
				sentLate := backupDone.Load()
				status, _, err := srv.call(ctx, "POST", "/chats/"+chat.ID+"/messages", amy.Token, map[string]string{"text": text})
				if err != nil || status != http.StatusCreated {
					continue // not acknowledged: it may or may not be stored
				}
				mu.Lock()
				acked = append(acked, text)
				if sentLate {
					late = append(late, text)
				}
				mu.Unlock()
			}
		})
	}
	ackedNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), acked...)
	}
	waitAcked := func(n int) {
		for deadline := time.Now().Add(time.Minute); len(ackedNow()) < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("writers acknowledged only %d messages", len(ackedNow()))
			}
		}
	}
	waitAcked(50)
	if _, err := device.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	before := ackedNow()
	out, code := srv.exec(t, "/vibesyncd", "backup", "/data/backup-1")
	if code != 0 {
		t.Fatalf("vibesyncd backup exited %d:\n%s", code, out)
	}
	t.Logf("backup: %s", strings.TrimSpace(out))
	backupDone.Store(true)
	waitAcked(len(ackedNow()) + 50)
	close(stop)
	writers.Wait()
	mu.Lock()
	after := append([]string(nil), late...)
	mu.Unlock()
	if len(after) == 0 {
		t.Fatal("no message sent after the backup ended was acknowledged")
	}

	// The device syncs after the backup: its cursor passes the backup's feed head.
	synced, err := device.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if msgs, _ := device.Messages(ctx, chat.ID); !hasText(msgs, after[len(after)-1]) {
		t.Fatalf("device did not sync the writes after the backup (cursor %d)", synced.Cursor)
	}

	// Restore into a new container on a new volume.
	data := srv.copyData(t)
	files := map[string][]byte{}
	err = filepath.WalkDir(filepath.Join(data, "backup-1"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(data, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil || files["backup-1/backup.json"] == nil || files["backup-1/vibesync.db"] == nil {
		t.Fatalf("backup folder: %v files, %v", len(files), err)
	}
	srv.stop(t)
	volume := newVolume(t)
	restore := createServer(t, serverOptions{volume: volume, cmd: []string{"restore", "/data/backup-1"}})
	restore.upload(t, files)
	if err := pool.Client.StartContainer(restore.id, nil); err != nil {
		t.Fatal(err)
	}
	if code := restore.wait(t); code != 0 {
		t.Fatalf("vibesyncd restore exited %d:\n%s", code, restore.logs(40))
	}
	t.Logf("restore: %s", strings.TrimSpace(restore.logs(5)))
	restored := startServer(t, serverOptions{volume: volume})
	fd.pointTo(restored)

	stored := map[string]bool{}
	for before := ""; ; {
		var list struct {
			Messages []struct {
				ID   string `json:"_id"`
				Text string `json:"text"`
			} `json:"messages"`
		}
		path := "/chats/" + chat.ID + "/messages?limit=100"
		if before != "" {
			path += "&before=" + before
		}
		restored.do(t, "GET", path, amy.Token, nil).Want(http.StatusOK).Decode(&list)
		for _, m := range list.Messages {
			stored[m.Text] = true
			if before == "" || m.ID < before {
				before = m.ID // ids sort by creation: page back from the oldest seen
			}
		}
		if len(list.Messages) < 100 {
			break
		}
	}
	var missing []string
	for _, text := range before {
		if !stored[text] {
			missing = append(missing, text)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d messages acknowledged before the backup are missing after the restore: %v", len(missing), len(before), missing)
	}
	for _, text := range after {
		if stored[text] {
			t.Fatalf("message %s, sent after the backup ended, is in the restored database", text)
		}
	}
	t.Logf("restored %d messages; %d acknowledged before the backup began, %d after it ended", len(stored), len(before), len(after))

	res, err := device.Sync(ctx)
	if err != nil {
		t.Fatalf("sync after the restore: %v", err)
	}
	if !res.Reset {
		t.Fatalf("a client that synced after the backup was not reset: %+v", res)
	}
	msgs, err := device.Messages(ctx, chat.ID)
	if err != nil {
		t.Fatal(err)
	}
	if hasText(msgs, after[len(after)-1]) || !hasText(msgs, before[len(before)-1]) {
		t.Fatalf("device holds %d messages after the reset, server %d", len(msgs), len(stored))
	}
	// Writing goes on from there; the device sees its own new message.
	if _, err := device.SendMessage(ctx, chat.ID, "after the restore"); err != nil {
		t.Fatal(err)
	}
	if res, err := device.Sync(ctx); err != nil || len(res.Rejected) > 0 || res.Pending > 0 || res.Reset {
		t.Fatalf("sync after the restore: %+v %v", res, err)
	}
	restored.do(t, "GET", "/chats/"+chat.ID+"/messages?limit=1", amy.Token, nil).Want(http.StatusOK)
}

func hasText(msgs []client.Message, text string) bool {
	for _, m := range msgs {
		if m.Text == text {
			return true
		}
	}
	return false
}

// exec runs a command inside the running container and returns its output
// and exit code.
func (s *server) exec(t testing.TB, cmd ...string) (string, int) {
	t.Helper()
	ex, err := pool.Client.CreateExec(dc.CreateExecOptions{Container: s.id, Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := pool.Client.StartExec(ex.ID, dc.StartExecOptions{Context: ctx, OutputStream: &out, ErrorStream: &out}); err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	st, err := pool.Client.InspectExec(ex.ID)
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	return out.String(), st.ExitCode
}
