// Package filemem records which host memory holds a model file's bytes and
// how its pages are given back once a compute backend has copied them into
// a layout of its own (packed weights), so that a model costs its file size
// once whether the file is mapped or read into memory.
//
// The GGUF reader adds each file it brings into memory; the CPU backend
// finds the region of a weight matrix when it packs it.
package filemem

import (
	"fmt"
	"sync"
	"unsafe"
)

// Region is host memory holding a file's bytes.
type Region struct {
	base, size uintptr
	// Locked reports that the region's pages are locked in RAM (use_mlock):
	// memory that takes the place of given-back pages should be locked too.
	Locked bool
	// giveBack gives back the n bytes (whole pages) at byte off of the
	// region; should anything read them afterwards, it reads the file's
	// bytes.
	giveBack func(off, n uintptr) error
}

// Release gives back the whole pages [p, p+n), which must lie inside the
// region and start on a page boundary.
func (r *Region) Release(p, n uintptr) error {
	if p < r.base || p-r.base > r.size || n > r.size-(p-r.base) {
		return fmt.Errorf("filemem: [%#x, %#x) is outside the region [%#x, %#x)", p, p+n, r.base, r.base+r.size)
	}
	return r.giveBack(p-r.base, n)
}

var (
	mu      sync.Mutex
	regions []*Region
)

// Add records data as a file's bytes whose pages giveBack gives back
// (given their byte offset in data and length);
// remove forgets them (before they are unmapped: another file may be
// mapped at the same addresses later).
func Add(data []byte, locked bool, giveBack func(off, n uintptr) error) (remove func()) {
	if len(data) == 0 {
		return func() {}
	}
	r := &Region{base: uintptr(unsafe.Pointer(&data[0])), size: uintptr(len(data)), Locked: locked, giveBack: giveBack}
	mu.Lock()
	regions = append(regions, r)
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		for i, x := range regions {
			if x == r {
				regions = append(regions[:i], regions[i+1:]...)
				return
			}
		}
	}
}

// Find returns the region that holds all of [p, p+n), or nil.
func Find(p unsafe.Pointer, n int64) *Region {
	lo := uintptr(p)
	mu.Lock()
	defer mu.Unlock()
	for _, r := range regions {
		if n >= 0 && lo >= r.base && lo-r.base <= r.size && uint64(n) <= uint64(r.size-(lo-r.base)) {
			return r
		}
	}
	return nil
}
