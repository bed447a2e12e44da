//go:build linux

package inference_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"inferenceruntime/inference"
	"inferenceruntime/inference/model/synth"
)

// statusKB is a field of /proc/self/status in KiB (VmRSS, VmLck).
func statusKB(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestModelMemoryOnce: whether the file is mapped or read into memory
// (use_mmap), locked or not (use_mlock), once the first prompt has packed
// the weights the model costs its file about once: the packed matrices'
// source pages are given back (re-mapped from the file where it was read
// in), and with use_mlock the memory locked is the packed copies and the
// bytes still used from the file, about the file's size, not the file
// beside copies that are not locked.
func TestModelMemoryOnce(t *testing.T) {
	// 36 MB of Q4_0: large against the process's other memory.
	shape := synth.Shape{Name: "mem", Arch: "llama", Embd: 1024, Layers: 4, Heads: 8, KVHeads: 4, FF: 4096, Vocab: 4096,
		Context: 512, RopeBase: 10000, Eps: 1e-5, Tied: true}
	p, err := synth.NewPlan(shape, "Q4_0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mem-Q4_0.gguf")
	if err := p.WriteFile(path, 3); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fileKB := st.Size() >> 10
	// Locking needs RLIMIT_MEMLOCK above the file's size (root is not
	// bound by it): raise the soft limit as far as the hard one allows.
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil && lim.Cur < lim.Max {
		old := lim
		lim.Cur = lim.Max
		if unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil {
			t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_MEMLOCK, &old) })
		}
	}
	for _, tc := range []struct {
		name string
		opts inference.Options
	}{
		{"mmap", inference.Options{Threads: 2}},
		{"no-mmap", inference.Options{Threads: 2, NoMmap: true}},
		{"mlock", inference.Options{Threads: 2, Mlock: true}},
		{"no-mmap,mlock", inference.Options{Threads: 2, NoMmap: true, Mlock: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rss0, lck0 := statusKB(t, "VmRSS"), statusKB(t, "VmLck")
			m, err := inference.Load(path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if w := m.Info().Warning; tc.opts.Mlock && strings.Contains(w, "mlock") {
				t.Skipf("cannot lock %d KiB here, and RLIMIT_MEMLOCK cannot be raised: %s", fileKB, w)
			}
			s, err := m.NewSession(inference.SessionOptions{ContextLength: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Logits(context.Background(), []int32{1, 15, 300, 27, 99, 4000, 7, 8}); err != nil {
				t.Fatal(err)
			}
			rss, lck := statusKB(t, "VmRSS")-rss0, statusKB(t, "VmLck")-lck0
			t.Logf("file %d KiB: resident %+d KiB, locked %+d KiB", fileKB, rss, lck)
			// Twice the file would be 72 MB; the KV cache of 64 tokens,
			// the logits and the Go heap are a few MB.
			if limit := fileKB*5/4 + 8<<10; rss > limit {
				t.Errorf("resident memory grew by %d KiB, over %d KiB for a %d KiB file", rss, limit, fileKB)
			}
			want := int64(0)
			if tc.opts.Mlock {
				want = fileKB
			}
			if lck < want*9/10 || lck > want*11/10+1<<10 {
				t.Errorf("locked memory grew by %d KiB, want about %d KiB", lck, want)
			}
		})
	}
}
