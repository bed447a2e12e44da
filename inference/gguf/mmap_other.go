//go:build !unix

package gguf

import "io"

// mapFile reads the whole file into memory where no mmap is wired up.
func mapFile(path string) ([]byte, func() error, error) {
	fh, size, err := openSized(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(fh, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
