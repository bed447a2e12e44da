//go:build !unix

package gguf

import "errors"

// readFile: mapFile already reads the file where there is no mmap.
func readFile(path string) (loaded, error) { return mapFile(path) }

func lock([]byte) error { return errors.New("mlock is not supported on this system") }
