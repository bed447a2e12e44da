package gguf

import (
	"fmt"
	"os"
)

// Open maps the GGUF file at path into memory (read-only) and validates it.
// Call Close to release the mapping.
func Open(path string) (*File, error) { return OpenWith(path, LoadOptions{}) }

// openSized opens a regular file and returns its size (fileSize).
func openSized(path string) (*os.File, int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	size, err := fileSize(fh)
	if err != nil {
		fh.Close()
		return nil, 0, err
	}
	return fh, size, nil
}

// fileSize returns the size of an open file as an int, refusing files that
// do not fit in memory addresses.
func fileSize(fh *os.File) (int, error) {
	st, err := fh.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s: not a regular file", fh.Name())
	}
	size := st.Size()
	if size < 0 || int64(int(size)) != size {
		return 0, fmt.Errorf("file of %d bytes is too large to map", size)
	}
	return int(size), nil
}
