//go:build linux

package service

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"inferenceruntime/inference/sample"
)

// lockedKB is VmLck of /proc/self/status.
func lockedKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	_, rest, _ := strings.Cut(string(b), "VmLck:")
	kb, _ := strconv.Atoi(strings.Fields(rest + " 0")[0])
	return kb
}

// TestRunnerNoMmapMlock: RunnerOptions NoMmap and Mlock (--no-mmap and
// --mlock of ir run and serve) reach the load: the file is read, not
// mapped, and its pages are locked.
func TestRunnerNoMmapMlock(t *testing.T) {
	s, path := runnerFixture(t)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []RunnerOptions{{}, {NoMmap: true}, {Mlock: true}} {
		o.Threads, o.MemoryLimit = 1, -1
		r := s.NewRunner(false, o)
		locked := lockedKB(t)
		opts := GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 2}
		if _, err := r.Generate(context.Background(), GenerateRequest{Model: "tiny", Prompt: "one two", Raw: true, Options: opts}, nil); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		if mapped := strings.Contains(string(maps), path); mapped == o.NoMmap {
			t.Errorf("NoMmap %v: the file is mapped: %v", o.NoMmap, mapped)
		}
		grew := int64(lockedKB(t)-locked) << 10
		var lim unix.Rlimit
		switch {
		case o.Mlock && os.Geteuid() != 0 && unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil && lim.Cur < uint64(st.Size())*2:
			t.Logf("RLIMIT_MEMLOCK (%d KiB) is too small to lock the model: not checked", lim.Cur>>10)
		case o.Mlock && grew < st.Size()*9/10:
			t.Errorf("Mlock: %d bytes locked for a %d-byte file", grew, st.Size())
		case !o.Mlock && grew != 0:
			t.Errorf("%+v: %d bytes locked", o, grew)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRequestUseMmap: a request's use_mmap and use_mlock (Ollama's
// options) load the model that way, loading it again when it was loaded
// otherwise, as Ollama does; the same options again keep it.
func TestRequestUseMmap(t *testing.T) {
	s, path := runnerFixture(t)
	r := s.NewRunner(false, RunnerOptions{Threads: 1, MemoryLimit: -1})
	defer r.Close()
	no, yes := false, true
	for i, c := range []struct {
		mmap, mlock *bool
		reload      bool
		mapped      bool
	}{
		{nil, nil, true, true},
		{&yes, nil, false, true},
		{&no, nil, true, false},
		{&no, &no, false, false},
		{nil, &yes, true, true},
		{nil, nil, true, true},
	} {
		opts := GenerateOptions{Sampling: sample.Params{Temperature: 0}, MaxTokens: 1, UseMmap: c.mmap, UseMlock: c.mlock}
		res, err := r.Generate(context.Background(), GenerateRequest{Model: "tiny", Prompt: "one two", Raw: true, Options: opts}, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if reloaded := res.LoadDuration > 0; reloaded != c.reload {
			t.Errorf("request %d: loaded again %v, want %v", i, reloaded, c.reload)
		}
		// The entry it replaced had no users left: it is unloaded already.
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		if mapped := strings.Contains(string(maps), path); mapped != c.mapped {
			t.Errorf("request %d: the file is mapped %v, want %v", i, mapped, c.mapped)
		}
	}
}
