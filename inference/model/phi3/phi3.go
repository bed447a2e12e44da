// Package phi3 is Microsoft's Phi-3 family (Phi-3, Phi-3.5, Phi-4-mini):
// the llama block with q, k and v in one fused matrix, gate and up in
// another, NeoX RoPE, and LongRoPE for long contexts: per-frequency
// divisors, short ones up to the pre-training context and long ones
// beyond it, with an attention factor on q and k. It registers "phi3".
package phi3

import (
	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/block"
)

func init() { model.Register("phi3", arch{}) }

type arch struct{}

// Model is a Phi-3 model placed on a device.
type Model struct {
	block.Base

	block.Ends
	RopeLong  *compute.Tensor // [rope_dim/2] LongRoPE divisors beyond the original context, or nil
	RopeShort *compute.Tensor // [rope_dim/2] LongRoPE divisors within it, or nil
	Layers    []block.Layer   // the fused matrices bound as their parts: Attn.Wq/Wk/Wv are the rows of attn_qkv, FFN's Gate/Up the halves of ffn_up
}

// New binds and places the weights of f.
func (arch) New(f *gguf.File, cfg model.Config, dev compute.Device) (model.Model, error) {
	e, qd, kvd, ff := cfg.EmbeddingLength, cfg.QueryDim(), cfg.KVDim(), cfg.FeedForwardLength
	b := model.NewBinder(f, cfg)
	p := model.NewPlacer(dev)
	mm := compute.OpMulMat
	m := &Model{
		Base:      block.Base{Cfg: cfg, Placer: p},
		RopeLong:  p.Vector(b.Optional("rope_factors_long.weight", cfg.RopeDim/2)),
		RopeShort: p.Vector(b.Optional("rope_factors_short.weight", cfg.RopeDim/2)),
	}
	m.Ends = block.BindEnds(b, p, &cfg, false)
	for l := range cfg.BlockCount {
		n := func(s string) string { return model.BlockName(l, s) }
		layer := block.Layer{
			AttnNorm: p.Vector(b.Tensor(n("attn_norm.weight"), e)),
			FFNNorm:  p.Vector(b.Tensor(n("ffn_norm.weight"), e)),
		}
		if qkv := b.Optional(n("attn_qkv.weight"), e, qd+2*kvd); qkv != nil {
			layer.Attn = block.Attention{
				Wq: p.Matrix(qkv.Slice(0, qd, "[q]"), mm),
				Wk: p.Matrix(qkv.Slice(qd, kvd, "[k]"), mm),
				Wv: p.Matrix(qkv.Slice(qd+kvd, kvd, "[v]"), mm),
				Wo: p.Matrix(b.Tensor(n("attn_output.weight"), qd, e), mm),
			}
		} else {
			layer.Attn = block.BindAttention(b, p, &cfg, l, false)
		}
		up := b.Tensor(n("ffn_up.weight"), e, 2*ff) // gate rows, then up rows
		layer.FFN = &block.FeedForward{
			Gate: p.Matrix(up.Slice(0, ff, "[gate]"), mm),
			Up:   p.Matrix(up.Slice(ff, ff, "[up]"), mm),
			Down: p.Matrix(b.Tensor(n("ffn_down.weight"), ff, e), mm),
			Act:  block.SiLU,
		}
		m.Layers = append(m.Layers, layer)
	}
	return m, block.Done(b, p)
}

// ropeFactors picks the LongRoPE divisors as llama.cpp does: the long ones
// when the session's context is longer than the pre-training context.
func (m *Model) ropeFactors(context int) *compute.Tensor {
	if context > m.Cfg.RopeOrigContext {
		return m.RopeLong
	}
	return m.RopeShort
}

// Forward builds the graph of one step.
func (m *Model) Forward(g *compute.Graph, b model.Batch, cache *kvcache.Cache) (*compute.Tensor, error) {
	c := &m.Cfg
	pos, kv, err := block.Begin(g, b, cache, c.Arch)
	if err != nil {
		return nil, err
	}
	x := m.Embed(g, b) // [n_embd, n]
	// ggml's rope multiplies the rotated q and k by the attention factor,
	// so their product, the score, carries its square.
	af := float64(c.RopeAttnFactor)
	attn := block.AttentionParams{
		Heads: c.HeadCount, HeadsKV: c.HeadCountKV, HeadDim: c.HeadDim,
		Rope:  block.Rope(c, c.RopeBase, c.RopeFreqScale, m.ropeFactors(kv.MaxLen())),
		Scale: float32(af * af / math.Sqrt(float64(c.HeadDim))),
	}
	for l := range m.Layers {
		x = m.Layers[l].Forward(g, x, pos, kv.Layer(l), attn, c.RMSEpsilon)
	}
	return m.Logits(g, x, b, c.RMSEpsilon, 0)
}
