//go:build unix

package gguf

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps a whole file read-only. An empty file gets an empty slice, as
// mmap refuses length 0.
func mapFile(path string) ([]byte, func() error, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close() // the mapping outlives the descriptor
	size, err := fileSize(fh)
	if err != nil {
		return nil, nil, err
	}
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	data, err := unix.Mmap(int(fh.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return unix.Munmap(data) }, nil
}
