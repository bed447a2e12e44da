//go:build unix

package gguf

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps a whole file read-only. An empty file gets an empty slice, as
// mmap refuses length 0. Given-back pages leave resident memory and come
// back from the file should they be read again.
func mapFile(path string) (loaded, error) {
	fh, err := os.Open(path)
	if err != nil {
		return loaded{}, err
	}
	defer fh.Close() // the mapping outlives the descriptor
	size, err := fileSize(fh)
	if err != nil {
		return loaded{}, err
	}
	if size == 0 {
		return loaded{data: []byte{}, unmap: func() error { return nil }}, nil
	}
	data, err := unix.Mmap(int(fh.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return loaded{}, err
	}
	giveBack := func(off, n uintptr) error {
		b := data[off : off+n]
		// Locked pages (use_mlock) cannot be dropped: unlock them first;
		// the memory that replaces them is locked instead.
		if err := unix.Munlock(b); err != nil {
			return err
		}
		return unix.Madvise(b, unix.MADV_DONTNEED)
	}
	return loaded{data: data, unmap: func() error { return unix.Munmap(data) }, giveBack: giveBack}, nil
}
