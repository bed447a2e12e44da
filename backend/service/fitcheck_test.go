package service

import (
	"errors"
	"strings"
	"testing"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/library"
)

// TestCheckFits: a model the free memory cannot hold is refused before it
// is read, by the store's estimate for the runner's KV cache type.
func TestCheckFits(t *testing.T) {
	defer func(f func() (int64, error)) { availableMemory = f }(availableMemory)
	availableMemory = func() (int64, error) { return 3 << 30, nil }
	ref := ModelRef{Name: "big", Size: 2 << 30, Meta: library.Meta{VocabSize: 32000,
		HParams: library.HParams{Layers: 16, Embd: 2048, Heads: 32, HeadsKV: 8, KeyLength: 64, ValueLength: 64}}}
	r := &Runner{opts: RunnerOptions{}}
	// 2 GiB of weights + 2 GiB of F32 cache at 32k does not fit 3 GiB...
	err := r.checkFits(ref, 32768)
	if !errors.Is(err, ErrNoMemory) || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("f32 cache: %v", err)
	}
	// ...with a Q4_0 cache (288 MiB) it does.
	r.opts.KVType = "q4_0"
	if err := r.checkFits(ref, 32768); err != nil {
		t.Fatalf("q4_0 cache: %v", err)
	}
	r.opts.KVType = "q5_1"
	var inv *InvalidError
	if err := r.checkFits(ref, 32768); !errors.As(err, &inv) {
		t.Fatalf("an unknown cache type: %v", err)
	}
	// A GPU backend holds part of the model elsewhere: not checked here.
	r.opts = RunnerOptions{Backend: "vulkan"}
	if err := r.checkFits(ref, 32768); err != nil {
		t.Fatalf("vulkan: %v", err)
	}
}

// TestFitSettingsKVType: the store's estimate counts the cache of the
// settings' KV cache type.
func TestFitSettingsKVType(t *testing.T) {
	s := &Service{Dir: t.TempDir()}
	meta := library.Meta{VocabSize: 32000, ContextLength: 8192,
		HParams: library.HParams{Layers: 16, Embd: 2048, Heads: 32, HeadsKV: 8, KeyLength: 64, ValueLength: 64}}
	if f := s.fit(meta, 1<<30, 8192); f.KVCache != 512<<20 {
		t.Fatalf("f32: KV %d MiB at 8k", f.KVCache>>20)
	}
	st := config.Defaults()
	st.KVType = "q8_0"
	if err := config.SaveSettings(s.Dir, st); err != nil {
		t.Fatal(err)
	}
	if f := s.fit(meta, 1<<30, 8192); f.KVCache != 136<<20 {
		t.Fatalf("q8_0: KV %d MiB at 8k", f.KVCache>>20)
	}
}
