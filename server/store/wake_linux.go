package store

import (
	"os"
	"syscall"
	"time"
)

// watchFile sends on the returned channel (capacity one, never blocking)
// whenever path is written, at most once per gap, until stop is called;
// then the channel is closed.
func watchFile(path string, gap time.Duration) (<-chan struct{}, func(), error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, nil, err
	}
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_MODIFY); err != nil {
		syscall.Close(fd)
		return nil, nil, err
	}
	// A non-blocking descriptor goes through the runtime's poller, so Read
	// parks the goroutine and Close wakes it.
	f := os.NewFile(uintptr(fd), "inotify")
	c := make(chan struct{}, 1)
	go func() {
		defer close(c)
		buf := make([]byte, 4096)
		for {
			// Every event is about the one file (or a queue overflow,
			// which also means it changed): what they say does not matter.
			if _, err := f.Read(buf); err != nil {
				return
			}
			select {
			case c <- struct{}{}:
			default:
			}
			// Writes during the pause queue in the kernel and are read
			// as one signal next time round.
			time.Sleep(gap)
		}
	}()
	return c, func() { f.Close() }, nil
}
