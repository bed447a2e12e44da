//go:build linux

package cpu

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"inferenceruntime/inference/compute"
)

// mapTemp writes data to a file and maps it read-only, as the GGUF reader
// maps a model.
func mapTemp(t *testing.T, data []byte) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	m, err := unix.Mmap(int(fh.Fd()), 0, len(data), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

// residentKB is the resident memory of the mapping that starts at p
// (/proc/self/smaps).
func residentKB(t *testing.T, p unsafe.Pointer) int {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps")
	}
	start := fmt.Sprintf("%x-", uintptr(p))
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	in := false
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) > 0 && !strings.HasSuffix(f[0], ":") { // a mapping's first line: lo-hi perms ...
			in = strings.HasPrefix(line, start)
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb
		}
	}
	t.Fatalf("no mapping at %p", p)
	return 0
}

// TestPackReleasesFilePages: once a file-mapped matrix is packed, its pages
// leave resident memory, a tied embedding's GetRows reads the packed copy
// (same bits as from the file, and the pages stay out), and a product still
// gives the bits of the packed kernel.
func TestPackReleasesFilePages(t *testing.T) {
	dev, be := newCPU(t, 2)
	r := rand.New(rand.NewPCG(31, 32))
	const k, m = 512, 1000 // a partial last panel
	for _, typ := range packedTypes {
		if !hasPacked(typ) {
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			raw := randWeights(t, r, typ, k*m)
			mapped := mapTemp(t, raw)
			buf, err := dev.WrapHost(mapped)
			if err != nil {
				t.Fatal(err)
			}
			defer buf.Free()
			w, _ := compute.NewTensor(buf, 0, typ, compute.Shape{k, m})
			ref := placeBytes(t, dev, append([]byte(nil), raw...), typ, compute.Shape{k, m}) // Go memory: never released
			ids := []int32{0, 15, 16, 17, 999, 512, 3}
			rows := func(w *compute.Tensor) []float32 {
				g := compute.NewGraph()
				return run(t, be, g, g.GetRows(w, g.Int32s(ids)))
			}
			want := rows(ref)
			base := unsafe.Pointer(&mapped[0])
			if !bytes.Equal(mapped, raw) {
				t.Fatal("the mapping does not hold the file")
			}
			if kb := residentKB(t, base); kb < len(raw)/1024/2 {
				t.Fatalf("only %d KiB of a %d-byte mapping resident after reading it all", kb, len(raw))
			}
			if !sameBits(rows(w), want) {
				t.Fatal("GetRows from the file differs")
			}
			x := randVec(r, k*3, 1)
			g := compute.NewGraph()
			got := run(t, be, g, g.MulMat(w, g.Float32s(x, compute.Shape{k, 3})))
			g = compute.NewGraph()
			wantMM := run(t, be, g, g.MulMat(ref, g.Float32s(x, compute.Shape{k, 3})))
			if !sameBits(got, wantMM) {
				t.Fatal("product of the released matrix differs")
			}
			if kb := residentKB(t, base); kb > 8 {
				t.Fatalf("%d KiB of the packed file mapping still resident", kb)
			}
			if !sameBits(rows(w), want) {
				t.Fatal("GetRows from the packed copy differs from the file's rows")
			}
			if kb := residentKB(t, base); kb > 8 {
				t.Fatalf("GetRows brought back %d KiB of the file", kb)
			}
			if raw[len(raw)/2] != mapped[len(raw)/2] {
				t.Fatal("the file's bytes changed")
			}
		})
	}
}

// TestPackKeepsOwnMemory: memory that is not a file mapping keeps its bytes
// (giving it back would zero it).
func TestPackKeepsOwnMemory(t *testing.T) {
	dev, be := newCPU(t, 1)
	r := rand.New(rand.NewPCG(33, 34))
	for _, typ := range packedTypes {
		if !hasPacked(typ) {
			continue
		}
		raw := randWeights(t, r, typ, 256*64)
		keep := append([]byte(nil), raw...)
		w := placeBytes(t, dev, raw, typ, compute.Shape{256, 64})
		g := compute.NewGraph()
		run(t, be, g, g.MulMat(w, g.Float32s(randVec(r, 256, 1), compute.Shape{256, 1})))
		if !bytes.Equal(raw, keep) {
			t.Fatalf("%v: packing changed Go memory", typ)
		}
	}
}
