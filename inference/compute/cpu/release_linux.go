//go:build linux

package cpu

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// releaser gives back to the kernel the pages of a file mapping that were
// packed (MADV_DONTNEED): they leave this process's resident memory and,
// should they be read again, come back from the file unchanged. Only whole
// pages inside the matrix go: a page it shares with a neighbour stays.
type releaser struct {
	done uintptr // everything below was given back (or was not ours)
}

// releaser returns b's releaser for the n bytes at src, or nil where they
// are not a read-only file mapping (memory of our own, or Go memory, would
// lose its contents).
func (b *buffer) releaser(src unsafe.Pointer, n int64) *releaser {
	if b.owned || n <= 0 {
		return nil
	}
	if b.mapped == 0 {
		b.mapped = -1
		if fileMapped(uintptr(b.ptr), uintptr(b.size)) {
			b.mapped = 1
		}
	}
	if b.mapped < 0 {
		return nil
	}
	page := uintptr(os.Getpagesize())
	return &releaser{done: (uintptr(src) + page - 1) &^ (page - 1)}
}

// to gives back the whole pages below end.
func (r *releaser) to(end unsafe.Pointer) {
	if r == nil {
		return
	}
	page := uintptr(os.Getpagesize())
	stop := uintptr(end) &^ (page - 1)
	if stop <= r.done {
		return
	}
	// An error (mlock'ed pages: EINVAL) leaves the pages where they are.
	unix.Syscall(unix.SYS_MADVISE, r.done, stop-r.done, unix.MADV_DONTNEED)
	r.done = stop
}

// fileMapped reports whether [p, p+n) lies inside one mapping of a file
// that this process cannot write (/proc/self/maps).
func fileMapped(p, n uintptr) bool {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// lo-hi perms offset dev inode path
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 {
			continue
		}
		lohi := bytes.SplitN(f[0], []byte("-"), 2)
		if len(lohi) != 2 {
			continue
		}
		lo, err1 := strconv.ParseUint(string(lohi[0]), 16, 64)
		hi, err2 := strconv.ParseUint(string(lohi[1]), 16, 64)
		if err1 != nil || err2 != nil || uint64(p) < lo || uint64(p) >= hi {
			continue
		}
		return uint64(p)+uint64(n) <= hi && len(f[1]) >= 2 && f[1][1] != 'w' && string(f[4]) != "0" && f[5][0] == '/'
	}
	return false
}
