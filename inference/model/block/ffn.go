package block

import (
	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model"
)

// Activation is the gate function of a gated feed-forward network.
type Activation int

const (
	// SiLU gates as SwiGLU does (LLaMA, Qwen, Phi-3).
	SiLU Activation = iota
	// GELU gates as GeGLU does, with the tanh approximation (Gemma).
	GELU
)

// FeedForward is a gated MLP: Down · (act(Gate·x) * Up·x).
type FeedForward struct {
	Gate *compute.Tensor // [n_embd, n_ff]
	Up   *compute.Tensor // [n_embd, n_ff]
	Down *compute.Tensor // [n_ff, n_embd]
	Act  Activation
}

// BindFeedForward binds blk.l.ffn_{gate,up,down}.weight.
func BindFeedForward(b *model.Binder, p *model.Placer, cfg *model.Config, l int, act Activation) *FeedForward {
	e, ff := cfg.EmbeddingLength, cfg.FeedForwardLength
	n := func(s string) string { return model.BlockName(l, s) }
	mm := compute.OpMulMat
	return &FeedForward{
		Gate: p.Matrix(b.Tensor(n("ffn_gate.weight"), e, ff), mm),
		Up:   p.Matrix(b.Tensor(n("ffn_up.weight"), e, ff), mm),
		Down: p.Matrix(b.Tensor(n("ffn_down.weight"), ff, e), mm),
		Act:  act,
	}
}

// Forward runs the MLP on every column of x.
func (f *FeedForward) Forward(g *compute.Graph, x *compute.Tensor) *compute.Tensor {
	return g.MulMat(f.Down, Gated(g, f.Act, g.MulMat(f.Gate, x), g.MulMat(f.Up, x)))
}

// Gated is act(gate) * up.
func Gated(g *compute.Graph, act Activation, gate, up *compute.Tensor) *compute.Tensor {
	if act == GELU {
		return g.GeGLU(gate, up)
	}
	return g.SwiGLU(gate, up)
}
