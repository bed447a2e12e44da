//go:build unix

package library

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// locksWork says whether TryLock really locks (so that a temp file that can
// be locked has no live writer).
const locksWork = true

// TryLock takes an exclusive advisory lock on f without waiting. It returns
// ErrBusy when another process (or another open file in this one) holds it.
// The lock goes away when f is closed or the process dies, which is what
// lets a restarted process tell a live writer's temp file from a dead one's.
func TryLock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return ErrBusy
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}

// FreeSpace returns the bytes available to this user on the file system
// holding dir.
func FreeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
