//go:build linux

package gguf

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"inferenceruntime/inference/internal/filemem"
	"inferenceruntime/inference/quant"
)

// TestGiveBack: a loaded file is recorded in filemem until Close, locked
// where use_mlock locked it; pages given back (mapped or read into memory)
// read the file's bytes afterwards, not zeros.
func TestGiveBack(t *testing.T) {
	raw := make([]byte, 256<<10)
	for i := range raw {
		raw[i] = byte(rand.N(255) + 1)
	}
	w := NewWriter()
	if err := w.SetKV("general.architecture", "llama"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("t", quant.F32, []uint64{uint64(len(raw) / 4)}, raw); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	for _, o := range []LoadOptions{{}, {NoMmap: true}, {Mlock: true}, {NoMmap: true, Mlock: true}} {
		f, err := OpenWith(path, o)
		if err != nil {
			t.Fatal(err)
		}
		ti, _ := f.Tensor("t")
		data, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		p := unsafe.Pointer(&data[0])
		r := filemem.Find(p, int64(len(data)))
		if r == nil {
			t.Fatalf("%+v: the file's bytes are not recorded", o)
		}
		if want := o.Mlock && f.LockError() == nil; r.Locked != want {
			t.Errorf("%+v: Locked %v, want %v", o, r.Locked, want)
		}
		// Whole pages in the middle of the tensor.
		page := uintptr(os.Getpagesize())
		lo := (uintptr(p) + page) &^ (page - 1)
		if err := r.Release(lo, page); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
		if !bytes.Equal(data, raw) {
			t.Errorf("%+v: the bytes given back read otherwise than the file's", o)
		}
		if err := r.Release(uintptr(p), uintptr(len(f.data))); err == nil {
			t.Errorf("%+v: a range past the region's end was given back", o)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if filemem.Find(p, 1) != nil {
			t.Errorf("%+v: the file's bytes are still recorded after Close", o)
		}
	}
}
