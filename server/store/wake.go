package store

import (
	"os"
	"time"
)

// Commit signals between processes sharing an embedded database.
//
// A process that tails the database for other processes' writes (the live
// hub) would otherwise poll it. On an embedded file every process, after
// each write transaction it commits, writes one byte to the database's
// lock file (path + ".lock", which every process already opens; its
// contents mean nothing to flock). Where the system can watch a file
// (inotify on Linux), CommitSignal hears those writes and the tailer
// reads at once instead of on a timer, so an idle instance wakes only
// when something was written, and cross-instance delivery waits for no
// tick. The byte is written after the commit is visible, so a read that
// starts after the signal sees the write. Elsewhere CommitSignal is nil
// and the tailer polls (cheaply: see Changed).

// commitNotifier is this process's end of the signal: the lock file,
// written after each commit.
type commitNotifier struct {
	f *os.File
}

func openNotifier(path string) *commitNotifier {
	f, err := os.OpenFile(path+".lock", os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil // signals are an optimisation; tailers still poll
	}
	return &commitNotifier{f: f}
}

var oneByte = []byte{0}

// notify tells watchers that a write committed.
func (n *commitNotifier) notify() {
	if n != nil {
		_, _ = n.f.WriteAt(oneByte, 0)
	}
}

func (n *commitNotifier) close() {
	if n != nil {
		n.f.Close()
	}
}

// CommitSignal returns a channel that receives a value soon after any
// process sharing this embedded database (this one included) commits a
// write, at most one per gap (a burst of commits, several of them this
// process's own, costs the receiver one round per gap, as a poll at that
// interval did; the first call's gap holds); nil when this system or database
// cannot signal (a libSQL server, or no file watching), and then callers
// poll. A receiver that reads after a signal sees that commit. The
// channel is closed when the database closes. Missed signals are merged:
// the channel holds at most one.
func (db *DB) CommitSignal(gap time.Duration) <-chan struct{} {
	db.watchOnce.Do(func() {
		if db.path == "" {
			return
		}
		c, stop, err := watchFile(db.path+".lock", gap)
		if err != nil {
			return
		}
		db.watchC, db.watchStop = c, stop
	})
	return db.watchC
}
