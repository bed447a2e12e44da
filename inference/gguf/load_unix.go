//go:build unix

package gguf

import (
	"fmt"
	"io"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readFile reads a whole file into an anonymous mapping, made read-only
// once filled like a file mapping, and given back whole at Close (memory
// from the Go heap would wait for a collection). Pages given back before
// (their bytes packed elsewhere) become a private read-only mapping of the
// same bytes of the file: they leave resident memory, and should anything
// read them again they come back from the file, not as zeros. The file
// stays open for that until Close.
func readFile(path string) (loaded, error) {
	fh, size, err := openSized(path)
	if err != nil {
		return loaded{}, err
	}
	if size == 0 {
		fh.Close()
		return loaded{data: []byte{}, unmap: func() error { return nil }}, nil
	}
	data, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		fh.Close()
		return loaded{}, fmt.Errorf("%s: memory for %d bytes: %w", path, size, err)
	}
	unmap := func() error {
		err := unix.Munmap(data) // the remapped pages with the rest
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if _, err := io.ReadFull(fh, data); err != nil {
		unmap()
		return loaded{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := unix.Mprotect(data, unix.PROT_READ); err != nil {
		unmap()
		return loaded{}, err
	}
	giveBack := func(off, n uintptr) error {
		// MAP_FIXED replaces the anonymous pages (and their lock) at once.
		_, err := unix.MmapPtr(int(fh.Fd()), int64(off), unsafe.Pointer(&data[off]), n, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_FIXED)
		return err
	}
	return loaded{data: data, unmap: unmap, giveBack: giveBack}, nil
}

// mlock is unix.Mlock; tests running as root, whom RLIMIT_MEMLOCK does
// not bind, stand in a refusal.
var mlock = unix.Mlock

// lock locks data's pages in RAM, saying how much RLIMIT_MEMLOCK allows
// when the kernel refuses.
func lock(data []byte) error {
	err := mlock(data)
	if err == nil {
		return nil
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil && lim.Cur != unix.RLIM_INFINITY {
		return fmt.Errorf("mlock of %d MiB refused (%v): RLIMIT_MEMLOCK allows %d KiB; raise it (ulimit -l, or LimitMEMLOCK= for a service) or leave use_mlock off", len(data)>>20, err, lim.Cur>>10)
	}
	return fmt.Errorf("mlock of %d MiB refused: %v", len(data)>>20, err)
}
