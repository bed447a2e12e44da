//go:build linux

package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"inferenceruntime/inference/quant"
)

// mappedFiles lists the files this process maps (/proc/self/maps).
func mappedFiles(t *testing.T) string {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return string(maps)
}

func loadFixture(t *testing.T) string {
	t.Helper()
	w := NewWriter()
	if err := w.SetKV("general.architecture", "llama"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("t", quant.F32, []uint64{64}, bytes.Repeat([]byte{1, 2, 3, 4}, 64)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNoMmap: use_mmap=false reads the file into memory of the process's
// own; the data is the same and the file is not mapped.
func TestNoMmap(t *testing.T) {
	path := loadFixture(t)
	for _, noMmap := range []bool{false, true} {
		f, err := OpenWith(path, LoadOptions{NoMmap: noMmap})
		if err != nil {
			t.Fatal(err)
		}
		ti, _ := f.Tensor("t")
		data, err := f.TensorData(ti)
		if err != nil || !bytes.Equal(data, bytes.Repeat([]byte{1, 2, 3, 4}, 64)) {
			t.Fatalf("no mmap %v: tensor data %v, %v", noMmap, data[:8], err)
		}
		if mapped := strings.Contains(mappedFiles(t), path); mapped == noMmap {
			t.Errorf("no mmap %v: the file is mapped: %v", noMmap, mapped)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMlock locks the file's pages, and says how to raise RLIMIT_MEMLOCK
// when the kernel refuses.
func TestMlock(t *testing.T) {
	path := loadFixture(t)
	for _, noMmap := range []bool{false, true} {
		f, err := OpenWith(path, LoadOptions{Mlock: true, NoMmap: noMmap})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.LockError(); err != nil {
			// Some sandboxes allow no locked memory at all; the refusal
			// must then say so, which the case below checks anyway.
			t.Logf("mlock refused here: %v", err)
		}
		f.Close()
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: 0, Max: old.Max}); err != nil {
		t.Skipf("cannot lower RLIMIT_MEMLOCK: %v", err)
	}
	defer unix.Setrlimit(unix.RLIMIT_MEMLOCK, &old)
	f, err := OpenWith(path, LoadOptions{Mlock: true})
	if err != nil {
		t.Fatalf("a refused lock must not fail the open: %v", err)
	}
	defer func() { f.Close() }()
	if unix.Geteuid() == 0 && f.LockError() == nil { // the limit does not bind root
		f.Close() // the deferred Close takes the next one
		mlock = func([]byte) error { return unix.ENOMEM }
		defer func() { mlock = unix.Mlock }()
		if f, err = OpenWith(path, LoadOptions{Mlock: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.LockError(); err == nil {
		t.Fatal("mlock under RLIMIT_MEMLOCK 0 succeeded")
	} else if !strings.Contains(err.Error(), "RLIMIT_MEMLOCK") {
		t.Errorf("the refusal does not name RLIMIT_MEMLOCK: %v", err)
	}
	if _, err := f.TensorData(f.Tensors[0]); err != nil {
		t.Fatal(err)
	}
}
