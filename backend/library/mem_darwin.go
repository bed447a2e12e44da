package library

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// AvailableMemory is a best effort on macOS: the installed memory less a
// quarter for the system and other programs (the kernel's own free-page
// counts swing too much with the file cache to be a better guide).
func AvailableMemory() (int64, error) {
	total, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return -1, fmt.Errorf("read hw.memsize: %w", err)
	}
	return int64(total) * 3 / 4, nil
}
