package model

import (
	"fmt"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
)

// Pooling turns the hidden states of an input's tokens into one embedding.
// The values are llama.cpp's pooling_type numbers.
type Pooling int

// Poolings.
const (
	PoolNone Pooling = 0 // one embedding per token
	PoolMean Pooling = 1 // the average over all tokens (BOS and EOS included)
	PoolCLS  Pooling = 2 // the first token's ([CLS] in BERT)
	PoolLast Pooling = 3 // the last token's (decoders, whose last token has seen all others)
)

var poolingNames = map[Pooling]string{PoolNone: "none", PoolMean: "mean", PoolCLS: "cls", PoolLast: "last"}

// String returns the pooling's name as the API spells it.
func (p Pooling) String() string {
	if s, ok := poolingNames[p]; ok {
		return s
	}
	return fmt.Sprintf("pooling(%d)", int(p))
}

// ParsePooling reads a pooling name: none, mean, cls or last.
func ParsePooling(s string) (Pooling, error) {
	for p, name := range poolingNames {
		if s == name {
			return p, nil
		}
	}
	return 0, fmt.Errorf("model: pooling %q (want none, mean, cls or last)", s)
}

// DefaultPooling is the pooling f asks for in <arch>.pooling_type; a file
// without one (a decoder made for chat) is averaged, as llama.cpp's
// --pooling mean does.
func DefaultPooling(f *gguf.File) (Pooling, error) {
	key := f.Architecture() + ".pooling_type"
	if _, ok := f.Get(key); !ok {
		return PoolMean, nil
	}
	v, ok := f.Int(key)
	if p := Pooling(v); ok && poolingNames[p] != "" {
		return p, nil
	}
	return 0, fmt.Errorf("model: %s = %d is not a pooling this runtime has (none, mean, cls, last)", key, v)
}

// Embedder is a Model that returns hidden states rather than logits: an
// encoder such as BERT.
type Embedder interface {
	// Embed adds to g the ops that run b through the model (keys and values
	// go into cache, as in Forward) and returns the final hidden states, F32
	// [n_embd, n_tokens]. Pooling is the caller's.
	Embed(g *compute.Graph, b Batch, cache *kvcache.Cache) (*compute.Tensor, error)
}

// Embed returns the final hidden states of b, F32 [n_embd, n_tokens]: m's
// own Embed when m is an Embedder, else m's Forward asked for Batch.Hidden
// (the decoder families end in block.Ends, which honours it).
func Embed(m Model, g *compute.Graph, b Batch, cache *kvcache.Cache) (*compute.Tensor, error) {
	if e, ok := m.(Embedder); ok {
		return e.Embed(g, b, cache)
	}
	b.Hidden, b.LastOnly = true, false
	out, err := m.Forward(g, b, cache)
	if err != nil {
		return nil, err
	}
	c := m.Config()
	if s := out.Shape(); s[0] != c.EmbeddingLength || s[1] != len(b.Tokens) {
		return nil, fmt.Errorf("model: architecture %s cannot return its hidden states for embeddings", c.Arch)
	}
	return out, nil
}
