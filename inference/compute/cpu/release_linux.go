//go:build linux

package cpu

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"inferenceruntime/inference/internal/filemem"
)

// releaser gives back to the kernel the pages of a model file's bytes that
// were packed: they leave this process's resident memory and, should they
// be read again, come back from the file unchanged. Only whole pages inside
// the matrix go: a page it shares with a neighbour stays.
//
// The file's bytes are a region the GGUF reader recorded in filemem (a
// mapping, or a copy read into memory, locked or not), or, for memory
// mapped by someone else, a read-only file mapping (MADV_DONTNEED).
type releaser struct {
	done   uintptr         // everything below was given back (or was not ours)
	region *filemem.Region // nil: a file mapping of someone else's
}

// releaser returns b's releaser for the n bytes at src, or nil where they
// are neither (memory of our own, or Go memory, would lose its contents).
func (b *buffer) releaser(src unsafe.Pointer, n int64) *releaser {
	if b.owned || n <= 0 {
		return nil
	}
	region := filemem.Find(b.ptr, b.size)
	if region == nil {
		if b.mapped == 0 {
			b.mapped = -1
			if fileMapped(uintptr(b.ptr), uintptr(b.size)) {
				b.mapped = 1
			}
		}
		if b.mapped < 0 {
			return nil
		}
	}
	page := uintptr(os.Getpagesize())
	return &releaser{done: (uintptr(src) + page - 1) &^ (page - 1), region: region}
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
	// An error (mlock'ed pages of someone else's: EINVAL; a file that
	// cannot be mapped) leaves the pages where they are.
	if r.region != nil {
		_ = r.region.Release(r.done, stop-r.done)
	} else {
		unix.Syscall(unix.SYS_MADVISE, r.done, stop-r.done, unix.MADV_DONTNEED)
	}
	r.done = stop
}

// lock locks the packed copy m in RAM where the file's bytes it replaces
// were locked (use_mlock): the model's memory stays locked, now as the
// packed copy. Their pages were unlocked as they were given back, so the
// locked total stays about the file's size and within RLIMIT_MEMLOCK; a
// refusal leaves the copy unlocked, like a model whose lock was refused.
func (r *releaser) lock(m *packMem) {
	if r == nil || r.region == nil || !r.region.Locked {
		return
	}
	unix.Syscall(unix.SYS_MLOCK, uintptr(m.ptr), uintptr(m.size), 0)
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
