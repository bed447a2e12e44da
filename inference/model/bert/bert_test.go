package bert_test

import (
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
	"inferenceruntime/internal/testshared"
)

// TestTinyBert binds tiny-bert and checks what its graph returns: the
// hidden states of every token, and no logits. The values are checked
// against llama.cpp in package inference (TestEmbedReferences).
func TestTinyBert(t *testing.T) {
	f, err := gguf.Open(filepath.Join(testshared.Dir(t, "models"), "embed", "tiny-bert.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(f, dev)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Config()
	cache, err := kvcache.New(dev, kvcache.Config{Layers: c.BlockCount, HeadDim: c.HeadDim, KVHeads: c.HeadCountKV, MaxLen: 8, DType: compute.F32})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Free()
	b := model.Batch{Tokens: []int32{101, 7592, 2088, 102}, Positions: []int32{0, 1, 2, 3}}
	if _, err := m.Forward(compute.NewGraph(), b, cache); err == nil || !strings.Contains(err.Error(), "cannot generate") {
		t.Errorf("Forward: %v, want a refusal", err)
	}
	if err := cache.Reserve(4); err != nil {
		t.Fatal(err)
	}
	g := compute.NewGraph()
	h, err := model.Embed(m, g, b, cache)
	if err != nil {
		t.Fatal(err)
	}
	if s := h.Shape(); s[0] != 128 || s[1] != 4 {
		t.Errorf("hidden states %v, want [128, 4]", s)
	}
	if _, err := model.Embed(m, compute.NewGraph(), model.Batch{Tokens: []int32{101}, Positions: []int32{512}}, cache); err == nil {
		t.Error("a position past the learned 512 was accepted")
	}
}
