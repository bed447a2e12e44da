// Package llama is the LLaMA family of decoder-only transformers: Llama 2
// and 3 (grouped-query attention, RoPE on adjacent pairs, Llama 3's
// rope_freqs factors, tied or untied output, SwiGLU MLP), Mistral files that
// declare "llama" (their sliding window is ignored, as llama.cpp does), and
// Qwen2 (the same with q/k/v biases and NeoX RoPE). It registers the
// architectures "llama" and "qwen2" with package model.
package llama

import (
	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/block"
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
	block.Base

	block.Ends
	RopeFreqs *compute.Tensor // [rope_dim/2] frequency divisors (Llama 3), or nil
	Layers    []block.Layer
}

// New binds and places the weights of f.
func (a arch) New(f *gguf.File, cfg model.Config, dev compute.Device) (model.Model, error) {
	e := cfg.EmbeddingLength
	b := model.NewBinder(f, cfg)
	p := model.NewPlacer(dev)
	m := &Model{
		Base:      block.Base{Cfg: cfg, Placer: p},
		RopeFreqs: p.Vector(b.Optional("rope_freqs.weight", cfg.RopeDim/2)),
	}
	m.Ends = block.BindEnds(b, p, &cfg, false)
	for l := range cfg.BlockCount {
		m.Layers = append(m.Layers, block.Layer{
			AttnNorm: p.Vector(b.Tensor(model.BlockName(l, "attn_norm.weight"), e)),
			Attn:     block.BindAttention(b, p, &cfg, l, a.qkvBias),
			FFNNorm:  p.Vector(b.Tensor(model.BlockName(l, "ffn_norm.weight"), e)),
			FFN:      block.BindFeedForward(b, p, &cfg, l, block.SiLU),
		})
	}
	return m, block.Done(b, p)
}

// Forward builds the graph of one step: the batch's tokens go through every
// block, their keys and values land in the cache, and the logits come out.
func (m *Model) Forward(g *compute.Graph, b model.Batch, cache *kvcache.Cache) (*compute.Tensor, error) {
	c := &m.Cfg
	pos, kv, err := block.Begin(g, b, cache, c.Arch)
	if err != nil {
		return nil, err
	}
	x := m.Embed(g, b) // [n_embd, n]
	attn := block.AttentionParams{
		Heads: c.HeadCount, HeadsKV: c.HeadCountKV, HeadDim: c.HeadDim,
		Rope:  block.Rope(c, c.RopeBase, c.RopeFreqScale, m.RopeFreqs),
		Scale: float32(1 / math.Sqrt(float64(c.HeadDim))),
	}
	for l := range m.Layers {
		x = m.Layers[l].Forward(g, x, pos, kv.Layer(l), attn, c.RMSEpsilon)
	}
	return m.Logits(g, x, b, c.RMSEpsilon, 0)
}
