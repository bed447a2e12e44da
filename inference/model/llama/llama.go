// Package llama is the LLaMA family of decoder-only transformers: Llama 2
// and 3 (grouped-query attention, RoPE on adjacent pairs, Llama 3's
// rope_freqs factors, tied or untied output, SwiGLU MLP) and Qwen2 (the same
// with q/k/v biases and NeoX RoPE). It registers the architectures "llama"
// and "qwen2" with package model.
package llama

import (
	"fmt"
	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
)

func init() {
	model.Register("llama", arch{})
	model.Register("qwen2", arch{qkvBias: true})
}

// arch builds llama-family models; qkvBias makes the q/k/v biases required.
type arch struct{ qkvBias bool }

// Model is a llama-family model placed on a device. Shapes are in ggml
// order, [row length, rows]: a [n_embd, n_vocab] matrix has n_vocab rows of
// n_embd.
type Model struct {
	cfg    model.Config
	placer *model.Placer

	TokenEmbd  *compute.Tensor // [n_embd, n_vocab]
	OutputNorm *compute.Tensor // [n_embd]
	Output     *compute.Tensor // [n_embd, n_vocab]; TokenEmbd when the file ties them
	RopeFreqs  *compute.Tensor // [rope_dim/2] frequency divisors (Llama 3), or nil
	Layers     []Layer
}

// Layer is one transformer block.
type Layer struct {
	AttnNorm *compute.Tensor // [n_embd]
	Wq       *compute.Tensor // [n_embd, n_head*head_dim]
	Wk       *compute.Tensor // [n_embd, n_head_kv*head_dim]
	Wv       *compute.Tensor // [n_embd, n_head_kv*head_dim]
	Bq       *compute.Tensor // [n_head*head_dim] or nil (Qwen2 has them)
	Bk       *compute.Tensor // [n_head_kv*head_dim] or nil
	Bv       *compute.Tensor // [n_head_kv*head_dim] or nil
	Wo       *compute.Tensor // [n_head*head_dim, n_embd]
	Bo       *compute.Tensor // [n_embd] or nil
	FFNNorm  *compute.Tensor // [n_embd]
	Gate     *compute.Tensor // [n_embd, n_ff]
	Up       *compute.Tensor // [n_embd, n_ff]
	Down     *compute.Tensor // [n_ff, n_embd]
}

// New binds and places the weights of f.
func (a arch) New(f *gguf.File, cfg model.Config, dev compute.Device) (model.Model, error) {
	e, qd, kvd, ff := cfg.EmbeddingLength, cfg.QueryDim(), cfg.KVDim(), cfg.FeedForwardLength
	b := model.NewBinder(f, cfg)
	p := model.NewPlacer(dev)
	mm, gr := compute.OpMulMat, compute.OpGetRows

	tokenEmbd := b.Tensor("token_embd.weight", e, cfg.VocabSize)
	output := b.Optional("output.weight", e, cfg.VocabSize)
	m := &Model{
		cfg:        cfg,
		placer:     p,
		OutputNorm: p.Vector(b.Tensor("output_norm.weight", e)),
		RopeFreqs:  p.Vector(b.Optional("rope_freqs.weight", cfg.RopeDim/2)),
	}
	if output == nil { // tied: the embedding matrix is also the classifier
		m.TokenEmbd = p.Matrix(tokenEmbd, gr, mm)
		m.Output = m.TokenEmbd
	} else {
		m.TokenEmbd = p.Matrix(tokenEmbd, gr)
		m.Output = p.Matrix(output, mm)
	}
	bias := b.Optional
	if a.qkvBias {
		bias = b.Tensor
	}
	for l := range cfg.BlockCount {
		n := func(s string) string { return model.BlockName(l, s) }
		m.Layers = append(m.Layers, Layer{
			AttnNorm: p.Vector(b.Tensor(n("attn_norm.weight"), e)),
			Wq:       p.Matrix(b.Tensor(n("attn_q.weight"), e, qd), mm),
			Wk:       p.Matrix(b.Tensor(n("attn_k.weight"), e, kvd), mm),
			Wv:       p.Matrix(b.Tensor(n("attn_v.weight"), e, kvd), mm),
			Bq:       p.Vector(bias(n("attn_q.bias"), qd)),
			Bk:       p.Vector(bias(n("attn_k.bias"), kvd)),
			Bv:       p.Vector(bias(n("attn_v.bias"), kvd)),
			Wo:       p.Matrix(b.Tensor(n("attn_output.weight"), qd, e), mm),
			Bo:       p.Vector(b.Optional(n("attn_output.bias"), e)),
			FFNNorm:  p.Vector(b.Tensor(n("ffn_norm.weight"), e)),
			Gate:     p.Matrix(b.Tensor(n("ffn_gate.weight"), e, ff), mm),
			Up:       p.Matrix(b.Tensor(n("ffn_up.weight"), e, ff), mm),
			Down:     p.Matrix(b.Tensor(n("ffn_down.weight"), ff, e), mm),
		})
	}
	// A binding error explains a placement failure (nil tensors), so it
	// comes first.
	if err := b.Err(); err != nil {
		p.Free()
		return nil, err
	}
	if err := p.Err(); err != nil {
		p.Free()
		return nil, err
	}
	return m, nil
}

// Config returns the hyper-parameters.
func (m *Model) Config() *model.Config { return &m.cfg }

// Close frees the device buffers of the weights.
func (m *Model) Close() error { return m.placer.Free() }

// Forward builds the graph of one step: the batch's tokens go through every
// block, their keys and values land in the cache, and the logits come out.
func (m *Model) Forward(g *compute.Graph, b model.Batch, cache *kvcache.Cache) (*compute.Tensor, error) {
	c := &m.cfg
	n := len(b.Tokens)
	if n == 0 || len(b.Positions) != n {
		return nil, fmt.Errorf("llama: batch of %d tokens with %d positions", n, len(b.Positions))
	}
	pos := g.Int32s(b.Positions)
	x := g.GetRows(m.TokenEmbd, g.Int32s(b.Tokens)) // [n_embd, n]

	for l := range m.Layers {
		kCache, vCache := cache.Layer(l)
		x = g.Add(x, m.attention(g, &m.Layers[l], g.Mul(g.RMSNorm(x, c.RMSEpsilon), m.Layers[l].AttnNorm), pos, n, kCache, vCache))
		x = g.Add(x, m.feedForward(g, &m.Layers[l], g.Mul(g.RMSNorm(x, c.RMSEpsilon), m.Layers[l].FFNNorm)))
	}

	if b.LastOnly && n > 1 {
		x = g.Rows(x, n-1, 1)
	}
	x = g.Mul(g.RMSNorm(x, c.RMSEpsilon), m.OutputNorm)
	logits := g.MulMat(m.Output, x) // [n_vocab, rows]
	g.Output(logits)
	return logits, g.Err()
}

// attention is multi-head self-attention with grouped keys/values:
// Wo · softmax(rope(q)·rope(k)ᵀ / √head_dim) · v over the cached positions.
func (m *Model) attention(g *compute.Graph, l *Layer, x, pos *compute.Tensor, n int, kCache, vCache *compute.Tensor) *compute.Tensor {
	c := &m.cfg
	q := g.Reshape(withBias(g, g.MulMat(l.Wq, x), l.Bq), compute.Shape{c.HeadDim, c.HeadCount, n})
	k := g.Reshape(withBias(g, g.MulMat(l.Wk, x), l.Bk), compute.Shape{c.HeadDim, c.HeadCountKV, n})
	v := g.Reshape(withBias(g, g.MulMat(l.Wv, x), l.Bv), compute.Shape{c.HeadDim, c.HeadCountKV, n})

	rope := compute.RopeParams{
		Mode: compute.RopeNorm, Dims: c.RopeDim, Base: c.RopeBase,
		FreqScale: c.RopeFreqScale, Factors: m.RopeFreqs,
	}
	if c.RopeStyle == model.RopeNeoX {
		rope.Mode = compute.RopeNeox
	}
	q = g.Rope(q, pos, rope)
	k = g.Rope(k, pos, rope)

	att := g.Attention(q, k, v, kCache, vCache, pos, compute.AttentionParams{
		Scale: float32(1 / math.Sqrt(float64(c.HeadDim))),
	}) // [n_head*head_dim, n]
	return withBias(g, g.MulMat(l.Wo, att), l.Bo)
}

// feedForward is the SwiGLU MLP: Down · (silu(Gate·x) * Up·x).
func (m *Model) feedForward(g *compute.Graph, l *Layer, x *compute.Tensor) *compute.Tensor {
	return g.MulMat(l.Down, g.SwiGLU(g.MulMat(l.Gate, x), g.MulMat(l.Up, x)))
}

// withBias adds b to x when the layer has a bias.
func withBias(g *compute.Graph, x, b *compute.Tensor) *compute.Tensor {
	if b == nil {
		return x
	}
	return g.Add(x, b)
}
