//go:build !unix

package gguf

import "io"

// mapFile reads the whole file into memory where no mmap is wired up; its
// pages are not given back (Go memory would lose its bytes).
func mapFile(path string) (loaded, error) {
	fh, size, err := openSized(path)
	if err != nil {
		return loaded{}, err
	}
	defer fh.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(fh, data); err != nil {
		return loaded{}, err
	}
	return loaded{data: data, unmap: func() error { return nil }}, nil
}
