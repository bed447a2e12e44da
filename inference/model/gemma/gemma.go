// Package gemma is Google's Gemma family. Gemma scales the embeddings by
// √n_embd, gates its MLP with GELU, may use a head size other than
// n_embd/n_head, and always ties its output to the embeddings. Gemma 2 adds
// a norm after attention and after the MLP, soft-caps the attention scores
// and the logits, and slides a window over every other layer. Gemma 3 adds
// RMS norms on q and k, and a pattern of sliding (local) layers and global
// layers in which the local ones rotate with their own RoPE base. It
// registers "gemma", "gemma2" and "gemma3".
package gemma

import (
	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/block"
)

func init() {
	model.Register("gemma", arch{version: 1})
	model.Register("gemma2", arch{version: 2})
	model.Register("gemma3", arch{version: 3})
}

// arch builds Gemma models of one generation.
type arch struct{ version int }

// Model is a Gemma model placed on a device.
type Model struct {
	block.Base
	layers []layerParams // what differs between layers: window, RoPE

	block.Ends // the classifier is always the embedding matrix
	Layers     []Layer

	attnScale    float32
	attnSoftcap  float32 // Gemma 2
	finalSoftcap float32 // Gemma 2 (and Gemma 3 without a sliding window)
}

// Layer is one transformer block. Gemma's norm weights are stored with the
// +1 of its RMSNorm already added by the converters: they are used as
// stored.
type Layer struct {
	AttnNorm     *compute.Tensor // [n_embd]
	Attn         block.Attention // QNorm, KNorm: [head_dim] (Gemma 3)
	PostAttnNorm *compute.Tensor // [n_embd] (Gemma 2, 3)
	FFNNorm      *compute.Tensor // [n_embd]
	FFN          *block.FeedForward
	PostFFNNorm  *compute.Tensor // [n_embd] (Gemma 2, 3)
}

// layerParams is what one layer's attention uses beyond the weights.
type layerParams struct {
	window    int
	ropeBase  float32
	ropeScale float32
}

// New binds and places the weights of f.
func (a arch) New(f *gguf.File, cfg model.Config, dev compute.Device) (model.Model, error) {
	e := cfg.EmbeddingLength
	b := model.NewBinder(f, cfg)
	p := model.NewPlacer(dev)
	m := &Model{Base: block.Base{Cfg: cfg, Placer: p}}
	m.Ends = block.BindEnds(b, p, &cfg, true)
	a.configure(m)
	post := a.version >= 2
	for l := range cfg.BlockCount {
		n := func(s string) string { return model.BlockName(l, s) }
		layer := Layer{
			AttnNorm: p.Vector(b.Tensor(n("attn_norm.weight"), e)),
			Attn:     block.BindAttention(b, p, &cfg, l, false),
			FFNNorm:  p.Vector(b.Tensor(n("ffn_norm.weight"), e)),
			FFN:      block.BindFeedForward(b, p, &cfg, l, block.GELU),
		}
		if post {
			layer.PostAttnNorm = p.Vector(b.Tensor(n("post_attention_norm.weight"), e))
			layer.PostFFNNorm = p.Vector(b.Tensor(n("post_ffw_norm.weight"), e))
		}
		if a.version == 3 {
			if err := block.RequireQKNorms(b, p, &layer.Attn, l); err != nil {
				return nil, err
			}
		}
		m.Layers = append(m.Layers, layer)
	}
	return m, block.Done(b, p)
}

// configure sets what llama.cpp derives from the hyper-parameters of each
// generation: the attention scale, the soft caps, and which layers slide
// with which RoPE.
func (a arch) configure(m *Model) {
	c := &m.Cfg
	// Gemma 2 and 3 at 27B scale q by the embedding per head, not the head
	// size (google's gemma_pytorch configs; llama.cpp tells the 27B models
	// by their layer count).
	scaleDim := c.HeadDim
	if (a.version == 2 && c.BlockCount == 46) || (a.version == 3 && c.BlockCount == 62) {
		scaleDim = c.EmbeddingLength / c.HeadCount
	}
	m.attnScale = float32(1 / math.Sqrt(float64(scaleDim)))

	global := layerParams{ropeBase: c.RopeBase, ropeScale: c.RopeFreqScale}
	m.layers = make([]layerParams, c.BlockCount)
	for l := range m.layers {
		m.layers[l] = global
	}
	switch a.version {
	case 2:
		m.attnSoftcap, m.finalSoftcap = orDefault(c.AttnSoftcap, 50), orDefault(c.FinalSoftcap, 30)
		window := c.SlidingWindow
		if window == 0 {
			window = 4096
		}
		for l := range m.layers {
			if l%2 == 0 { // even layers slide
				m.layers[l].window = window
			}
		}
	case 3:
		if c.SlidingWindow == 0 {
			m.finalSoftcap = c.FinalSoftcap
			break
		}
		local := layerParams{window: c.SlidingWindow, ropeBase: orDefault(c.RopeBaseSWA, 10000), ropeScale: 1}
		for l := range m.layers {
			if c.SlidingPattern.Sliding(l, 6) {
				m.layers[l] = local
			}
		}
	}
}

// orDefault is v, or def when the file does not set v.
func orDefault(v, def float32) float32 {
	if v == 0 {
		return def
	}
	return v
}

// Forward builds the graph of one step.
func (m *Model) Forward(g *compute.Graph, b model.Batch, cache *kvcache.Cache) (*compute.Tensor, error) {
	c := &m.Cfg
	pos, kv, err := block.Begin(g, b, cache, c.Arch)
	if err != nil {
		return nil, err
	}
	x := m.Embed(g, b) // [n_embd, n]
	if b.Embeddings == nil {
		// Token embeddings are scaled by √n_embd; image vectors from a
		// projector enter as they are (llama.cpp scales only looked-up tokens).
		x = g.Scale(x, float32(math.Sqrt(float64(c.EmbeddingLength))))
	}
	for l := range m.Layers {
		layer, lp := &m.Layers[l], m.layers[l]
		attn := layer.Attn.Forward(g, block.Norm(g, x, layer.AttnNorm, c.RMSEpsilon), pos, kv.Layer(l), block.AttentionParams{
			Heads: c.HeadCount, HeadsKV: c.HeadCountKV, HeadDim: c.HeadDim, NormEps: c.RMSEpsilon,
			Rope:  block.Rope(c, lp.ropeBase, lp.ropeScale, nil),
			Scale: m.attnScale, Softcap: m.attnSoftcap, Window: lp.window, NonCausal: b.NonCausal,
		})
		x = g.Add(x, postNorm(g, attn, layer.PostAttnNorm, c.RMSEpsilon))
		ffn := layer.FFN.Forward(g, block.Norm(g, x, layer.FFNNorm, c.RMSEpsilon))
		x = g.Add(x, postNorm(g, ffn, layer.PostFFNNorm, c.RMSEpsilon))
	}
	return m.Logits(g, x, b, c.RMSEpsilon, m.finalSoftcap)
}

// postNorm normalises a sub-layer's output before the residual add (Gemma
// 2 and 3); Gemma has no such norm.
func postNorm(g *compute.Graph, x, w *compute.Tensor, eps float32) *compute.Tensor {
	if w == nil {
		return x
	}
	return block.Norm(g, x, w, eps)
}
