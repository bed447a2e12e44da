// Package bert is the BERT encoder (sentence-embedding models such as
// BGE, MiniLM and nomic's predecessors in their plain-BERT form): learned
// absolute positions and token types added to the token embeddings, post-LN
// blocks (LayerNorm with bias after each residual sum), attention without a
// causal mask and a GELU MLP, every product with a bias. It has no
// language-model head: it embeds (model.Embedder) and does not generate.
// It registers "bert" with package model.
package bert

import (
	"fmt"
	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/block"
)

func init() { model.Register("bert", arch{}) }

type arch struct{}

// Norm is a LayerNorm's weight and bias.
type Norm struct {
	W, B *compute.Tensor // [n_embd]
}

// Forward is (x - mean) / sqrt(var + eps) * W + B over each row of x.
func (n Norm) Forward(g *compute.Graph, x *compute.Tensor, eps float32) *compute.Tensor {
	return g.Add(g.Mul(g.LayerNorm(x, eps), n.W), n.B)
}

// Layer is one post-LN encoder block.
type Layer struct {
	Attn     block.Attention // q/k/v/output with biases; no RoPE, no q/k norms
	AttnNorm Norm            // attn_output_norm, after attention + residual
	Up       *compute.Tensor // [n_embd, n_ff]
	UpB      *compute.Tensor // [n_ff]
	Down     *compute.Tensor // [n_ff, n_embd]
	DownB    *compute.Tensor // [n_embd]
	OutNorm  Norm            // layer_output_norm, after the MLP + residual
}

// Model is a BERT encoder placed on a device.
type Model struct {
	block.Base

	TokenEmbd    *compute.Tensor // [n_embd, n_vocab]
	TokenTypes   *compute.Tensor // [n_embd, n_token_types]; every token is type 0
	PositionEmbd *compute.Tensor // [n_embd, n_ctx]
	EmbdNorm     Norm            // token_embd_norm
	Layers       []Layer

	eps float32 // attention.layer_norm_epsilon
}

// New binds and places the weights of f.
func (arch) New(f *gguf.File, cfg model.Config, dev compute.Device) (model.Model, error) {
	if causal, ok := f.Bool("bert.attention.causal"); ok && causal {
		return nil, fmt.Errorf("bert.attention.causal is true: a causal BERT is not supported")
	}
	if cfg.HeadCountKV != cfg.HeadCount {
		return nil, fmt.Errorf("%d key/value heads for %d query heads: BERT has one per query head", cfg.HeadCountKV, cfg.HeadCount)
	}
	eps := 1e-12
	if v, ok := f.Float("bert.attention.layer_norm_epsilon"); ok {
		eps = v
	}
	if !(eps > 0 && eps < 1) {
		return nil, fmt.Errorf("bert.attention.layer_norm_epsilon = %v", eps)
	}
	types := 2
	if n, ok := f.Uint("tokenizer.ggml.token_type_count"); ok {
		if n < 1 || n > 1<<10 {
			return nil, fmt.Errorf("tokenizer.ggml.token_type_count = %d", n)
		}
		types = int(n)
	}
	e, ff := cfg.EmbeddingLength, cfg.FeedForwardLength
	b := model.NewBinder(f, cfg)
	p := model.NewPlacer(dev)
	norm := func(name string) Norm {
		return Norm{W: p.Vector(b.Tensor(name+".weight", e)), B: p.Vector(b.Tensor(name+".bias", e))}
	}
	m := &Model{Base: block.Base{Cfg: cfg, Placer: p}, eps: float32(eps)}
	m.TokenEmbd = p.Matrix(b.Tensor("token_embd.weight", e, cfg.VocabSize), compute.OpGetRows)
	m.TokenTypes = p.Matrix(b.Tensor("token_types.weight", e, types), compute.OpGetRows)
	m.PositionEmbd = p.Matrix(b.Tensor("position_embd.weight", e, cfg.ContextLength), compute.OpGetRows)
	m.EmbdNorm = norm("token_embd_norm")
	mm := compute.OpMulMat
	for l := range cfg.BlockCount {
		n := func(s string) string { return model.BlockName(l, s) }
		layer := Layer{
			Attn:     block.BindAttention(b, p, &cfg, l, true),
			AttnNorm: norm(n("attn_output_norm")),
			Up:       p.Matrix(b.Tensor(n("ffn_up.weight"), e, ff), mm),
			UpB:      p.Vector(b.Tensor(n("ffn_up.bias"), ff)),
			Down:     p.Matrix(b.Tensor(n("ffn_down.weight"), ff, e), mm),
			DownB:    p.Vector(b.Tensor(n("ffn_down.bias"), e)),
			OutNorm:  norm(n("layer_output_norm")),
		}
		if layer.Attn.QNorm != nil || layer.Attn.KNorm != nil {
			p.Free()
			return nil, fmt.Errorf("layer %d has q/k norms, which BERT does not", l)
		}
		m.Layers = append(m.Layers, layer)
	}
	return m, block.Done(b, p)
}

// Forward refuses: an encoder has no logits to sample from.
func (m *Model) Forward(*compute.Graph, model.Batch, *kvcache.Cache) (*compute.Tensor, error) {
	return nil, fmt.Errorf("bert: an embedding model cannot generate text")
}

// Embed runs the batch, which must be a whole input (every token attends to
// every other), and returns the final hidden states [n_embd, n].
func (m *Model) Embed(g *compute.Graph, b model.Batch, cache *kvcache.Cache) (*compute.Tensor, error) {
	c := &m.Cfg
	if err := block.CheckBatch(b); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	n := len(b.Tokens)
	pos := g.Int32s(b.Positions)
	// Token + type 0 + position, then the embedding LayerNorm.
	x := g.GetRows(m.TokenEmbd, g.Int32s(b.Tokens))
	x = g.Add(x, g.GetRows(m.TokenTypes, g.Int32s([]int32{0})))
	x = g.Add(x, g.GetRows(m.PositionEmbd, pos))
	x = m.EmbdNorm.Forward(g, x, m.eps)
	scale := float32(1 / math.Sqrt(float64(c.HeadDim)))
	for l := range m.Layers {
		ly := &m.Layers[l]
		kCache, vCache := cache.Layer(l)
		a := &ly.Attn
		q := g.Reshape(g.Add(g.MulMat(a.Wq, x), a.Bq), compute.Shape{c.HeadDim, c.HeadCount, n})
		k := g.Reshape(g.Add(g.MulMat(a.Wk, x), a.Bk), compute.Shape{c.HeadDim, c.HeadCount, n})
		v := g.Reshape(g.Add(g.MulMat(a.Wv, x), a.Bv), compute.Shape{c.HeadDim, c.HeadCount, n})
		att := g.Attention(q, k, v, kCache, vCache, pos, compute.AttentionParams{Scale: scale, NonCausal: true})
		x = ly.AttnNorm.Forward(g, g.Add(x, block.WithBias(g, g.MulMat(a.Wo, att), a.Bo)), m.eps)
		h := g.GELU(g.Add(g.MulMat(ly.Up, x), ly.UpB))
		x = ly.OutNorm.Forward(g, g.Add(x, g.Add(g.MulMat(ly.Down, h), ly.DownB)), m.eps)
	}
	g.Output(x)
	return x, g.Err()
}
