//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes the lock of the database file at path: a flock on
// path + ".lock", shared by every process serving or backing up the
// database, exclusive for a restore. It does not wait: a lock held the
// other way fails at once with ErrInUse. The lock lives as long as the
// process holds the returned unlock (or until it dies: the kernel drops
// it). flock is per host, like SQLite's own locking.
func lockFile(path string, exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) // closing drops it anyway
		f.Close()
	}, nil
}
