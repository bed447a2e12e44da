package llama_test

import (
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/internal/ref"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
)

// forward runs tokens through m as one graph per batch of size batch and
// returns every row of logits.
func forward(t *testing.T, m model.Model, tokens []int32, batch int) []float32 {
	t.Helper()
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	be, err := dev.NewBackend(compute.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	c := m.Config()
	cache, err := kvcache.New(dev, kvcache.Config{Layers: c.BlockCount, HeadDim: c.HeadDim, KVHeads: c.HeadCountKV, MaxLen: c.ContextLength, DType: compute.F32, ChunkSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Free()
	var out []float32
	for start := 0; start < len(tokens); start += batch {
		chunk := tokens[start:min(start+batch, len(tokens))]
		pos := make([]int32, len(chunk))
		for i := range pos {
			pos[i] = int32(start + i)
		}
		if err := cache.Reserve(start + len(chunk)); err != nil {
			t.Fatal(err)
		}
		g := compute.NewGraph()
		logits, err := m.Forward(g, model.Batch{Tokens: chunk, Positions: pos}, cache)
		if err != nil {
			t.Fatal(err)
		}
		if err := be.Compute(g); err != nil {
			t.Fatal(err)
		}
		rows := make([]float32, len(chunk)*c.VocabSize)
		if err := be.Read(logits, rows); err != nil {
			t.Fatal(err)
		}
		if err := cache.Commit(start + len(chunk)); err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

// TestForwardConformance runs the llama.cpp references of ../shared/models
// through Forward on the CPU backend in batches of 7 (so that the cache grows
// across chunks of 16 and batches straddle them).
func TestForwardConformance(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	ref.CheckCases(t, func(t *testing.T, c ref.Case) []float32 {
		f, err := gguf.Open(c.ModelPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		m, err := model.Open(f, dev)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		return forward(t, m, c.Tokens, 7)
	})
}
