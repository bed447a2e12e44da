package gguf

import (
	"fmt"

	"inferenceruntime/inference/internal/filemem"
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

// loaded is a file brought into memory: its bytes, how to let go of them,
// and how to give back pages of them that nothing reads any more (nil
// where they cannot be given back).
type loaded struct {
	data     []byte
	unmap    func() error
	giveBack func(p, n uintptr) error
}

// OpenWith is Open with the choices of o. The file's bytes are recorded
// in filemem until Close, so that a backend which copies weights into a
// layout of its own can give back their pages.
func OpenWith(path string, o LoadOptions) (*File, error) {
	load := mapFile
	if o.NoMmap {
		load = readFile
	}
	l, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f := &File{data: l.data, size: int64(len(l.data)), unmap: l.unmap}
	if err := f.parse(l.data); err != nil {
		_ = l.unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if o.Mlock && len(l.data) > 0 {
		f.lockErr = lock(l.data)
	}
	if l.giveBack != nil && len(l.data) > 0 {
		forget := filemem.Add(l.data, o.Mlock && f.lockErr == nil, l.giveBack)
		f.unmap = func() error {
			forget()
			return l.unmap()
		}
	}
	return f, nil
}

// LockError is why LoadOptions.Mlock could not lock the file's pages; nil
// when they are locked or no lock was asked for.
func (f *File) LockError() error { return f.lockErr }
