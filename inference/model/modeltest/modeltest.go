// Package modeltest runs models of package model in tests: a forward pass
// over a token sequence on the CPU backend, in batches of a chosen size.
package modeltest

import (
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu" // the backend Forward runs on
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
)

// Forward runs tokens through m as one graph per batch of size batch, with
// a cache of the model's full context that grows in chunks of 16 (so that
// batches straddle them), and returns every row of logits. Each prepare
// function sees every graph before the model builds into it.
func Forward(t testing.TB, m model.Model, tokens []int32, batch int, prepare ...func(*compute.Graph)) []float32 {
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
		for _, p := range prepare {
			p(g)
		}
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
