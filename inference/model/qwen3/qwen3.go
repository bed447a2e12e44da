// Package qwen3 is the Qwen3 family: Qwen3 (the llama layout with a
// per-head RMS norm on q and k before RoPE, no q/k/v biases, NeoX RoPE) and
// Qwen3-MoE, whose feed-forward network is a mixture of experts. It
// registers "qwen3" and "qwen3moe" with package model.
package qwen3

import (
	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/block"
)

func init() {
	model.Register("qwen3", arch{})
	model.Register("qwen3moe", arch{moe: true})
}

// arch builds Qwen3 models; moe swaps the MLP for a mixture of experts.
type arch struct{ moe bool }

// Model is a Qwen3 model placed on a device. Each layer's attention has
// q/k norms (Attn.QNorm, Attn.KNorm: [head_dim]); its FFN is a
// block.FeedForward, or a block.MoE in Qwen3-MoE.
type Model struct {
	block.Base

	block.Ends
	Layers []block.Layer
}

// New binds and places the weights of f.
func (a arch) New(f *gguf.File, cfg model.Config, dev compute.Device) (model.Model, error) {
	e := cfg.EmbeddingLength
	if a.moe {
		if err := block.CheckExperts(&cfg); err != nil {
			return nil, err
		}
	}
	b := model.NewBinder(f, cfg)
	p := model.NewPlacer(dev)
	m := &Model{Base: block.Base{Cfg: cfg, Placer: p}}
	m.Ends = block.BindEnds(b, p, &cfg, false)
	for l := range cfg.BlockCount {
		layer := block.Layer{
			AttnNorm: p.Vector(b.Tensor(model.BlockName(l, "attn_norm.weight"), e)),
			Attn:     block.BindAttention(b, p, &cfg, l, false),
			FFNNorm:  p.Vector(b.Tensor(model.BlockName(l, "ffn_norm.weight"), e)),
		}
		if a.moe {
			layer.FFN = block.BindMoE(b, p, &cfg, l)
		} else {
			layer.FFN = block.BindFeedForward(b, p, &cfg, l, block.SiLU)
		}
		if err := block.RequireQKNorms(b, p, &layer.Attn, l); err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, layer)
	}
	return m, block.Done(b, p)
}

// Forward builds the graph of one step.
func (m *Model) Forward(g *compute.Graph, b model.Batch, cache *kvcache.Cache) (*compute.Tensor, error) {
	c := &m.Cfg
	pos, kv, err := block.Begin(g, b, cache, c.Arch)
	if err != nil {
		return nil, err
	}
	x := m.Embed(g, b) // [n_embd, n]
	attn := block.AttentionParams{
		Heads: c.HeadCount, HeadsKV: c.HeadCountKV, HeadDim: c.HeadDim, NormEps: c.RMSEpsilon,
		Rope:  block.Rope(c, c.RopeBase, c.RopeFreqScale, nil),
		Scale: float32(1 / math.Sqrt(float64(c.HeadDim))),
	}
	for l := range m.Layers {
		x = m.Layers[l].Forward(g, x, pos, kv.Layer(l), attn, c.RMSEpsilon)
	}
	return m.Logits(g, x, b, c.RMSEpsilon, 0)
}
