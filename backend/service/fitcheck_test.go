package service

import (
	"errors"
	"strings"
	"testing"

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
