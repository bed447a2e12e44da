//go:build !linux

package cpu

import "unsafe"

// releaser would give back a file mapping's packed pages; elsewhere than on
// Linux they stay (see release_linux.go).
type releaser struct{}

func (b *buffer) releaser(src unsafe.Pointer, n int64) *releaser { return nil }

func (r *releaser) to(end unsafe.Pointer) {}

func (r *releaser) lock(m *packMem) {}
