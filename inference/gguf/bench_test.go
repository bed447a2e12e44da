package gguf

import (
	"fmt"
	"path/filepath"
	"testing"

	"inferenceruntime/inference/quant"
)

// BenchmarkOpen opens a synthetic file shaped like a large model's header:
// a 150k-token vocabulary with scores and types, 150k merges and 2000
// tensors (with tiny data, so the header dominates).
func BenchmarkOpen(b *testing.B) {
	const vocab, tensors = 150_000, 2000
	w := NewWriter()
	tokens := make([]string, vocab)
	merges := make([]string, vocab)
	scores := make([]float32, vocab)
	types := make([]int32, vocab)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%06d", i)
		merges[i] = fmt.Sprintf("t%d k%d", i, i)
		scores[i] = float32(-i)
		types[i] = 1
	}
	must(b, w.SetKV("general.architecture", "llama"))
	must(b, w.SetKV("tokenizer.ggml.tokens", tokens))
	must(b, w.SetKV("tokenizer.ggml.merges", merges))
	must(b, w.SetKV("tokenizer.ggml.scores", scores))
	must(b, w.SetKV("tokenizer.ggml.token_type", types))
	for i := range tensors {
		must(b, w.AddTensor(fmt.Sprintf("blk.%d.weight", i), quant.Q4_0, []uint64{32, 1}, make([]byte, 18)))
	}
	path := filepath.Join(b.TempDir(), "big.gguf")
	must(b, w.WriteFile(path))
	b.ResetTimer()
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
