package gguf

import (
	"fmt"
)

// LoadOptions choose how OpenWith brings a file into memory (Ollama's
// use_mmap and use_mlock).
type LoadOptions struct {
	// NoMmap reads the file into memory of the process's own instead of
	// mapping it: for file systems where mapped reads are slow or unsafe
	// (network mounts), at the price of reading it all before the first
	// token and keeping it all resident.
	NoMmap bool
	// Mlock locks the file's pages in RAM so that they are never paged
	// out. It needs RLIMIT_MEMLOCK of at least the file's size (or
	// CAP_IPC_LOCK); when that refuses, the file stays open unlocked and
	// LockError says why.
	Mlock bool
}

// OpenWith is Open with the choices of o.
func OpenWith(path string, o LoadOptions) (*File, error) {
	load := mapFile
	if o.NoMmap {
		load = readFile
	}
	data, release, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f := &File{data: data, size: int64(len(data)), unmap: release}
	if err := f.parse(data); err != nil {
		_ = release()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if o.Mlock && len(data) > 0 {
		f.lockErr = lock(data)
	}
	return f, nil
}

// LockError is why LoadOptions.Mlock could not lock the file's pages; nil
// when they are locked or no lock was asked for.
func (f *File) LockError() error { return f.lockErr }
