//go:build unix

package gguf

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// readFile reads a whole file into an anonymous mapping, made read-only
// once filled like a file mapping, and given back whole at Close (memory
// from the Go heap would wait for a collection).
func readFile(path string) ([]byte, func() error, error) {
	fh, size, err := openSized(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	data, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: memory for %d bytes: %w", path, size, err)
	}
	release := func() error { return unix.Munmap(data) }
	if _, err := io.ReadFull(fh, data); err != nil {
		release()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := unix.Mprotect(data, unix.PROT_READ); err != nil {
		release()
		return nil, nil, err
	}
	return data, release, nil
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
