//go:build !linux

package store

import (
	"errors"
	"time"
)

// watchFile is not available here: tailers poll.
func watchFile(path string, gap time.Duration) (<-chan struct{}, func(), error) {
	return nil, nil, errors.New("store: no file watching on this system")
}
