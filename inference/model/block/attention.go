// Package block holds the pieces that the decoder-only families share:
// grouped-query self-attention with RoPE, the gated feed-forward network,
// the mixture-of-experts feed-forward network and RMS norms. A family
// (llama, qwen3, phi3, gemma, …) binds its weights into these blocks and
// writes its own Forward from them, so that each family's file shows only
// what makes it different.
package block

import (
	"fmt"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model"
)

// Attention is one layer's self-attention weights. Shapes are in ggml
// order, [row length, rows].
type Attention struct {
	Wq *compute.Tensor // [n_embd, n_head*head_dim]
	Wk *compute.Tensor // [n_embd, n_head_kv*head_dim]
	Wv *compute.Tensor // [n_embd, n_head_kv*head_dim]
	Wo *compute.Tensor // [n_head*head_dim, n_embd]

	Bq, Bk, Bv *compute.Tensor // [q or kv width] or nil (Qwen2)
	Bo         *compute.Tensor // [n_embd] or nil

	QNorm, KNorm *compute.Tensor // [head_dim] per-head RMS norm weights, or nil (Qwen3, Gemma 3)
}

// AttentionParams is what one layer's attention needs besides its weights.
type AttentionParams struct {
	Heads, HeadsKV, HeadDim int
	NormEps                 float32            // epsilon of the q/k norms
	Rope                    compute.RopeParams // this layer's RoPE
	Scale                   float32            // multiplies q·k, usually 1/√head_dim
	Softcap                 float32            // > 0: scores become Softcap·tanh(score/Softcap) (Gemma 2)
	Window                  int                // > 0: a query sees only the last Window positions
	NonCausal               bool               // the batch's tokens see one another both ways (model.Batch.NonCausal)
}

// BindAttention binds blk.l.attn_{q,k,v,output}.weight, the optional biases
// and the optional per-head q/k norms. qkvBias makes the q/k/v biases
// required (Qwen2).
func BindAttention(b *model.Binder, p *model.Placer, cfg *model.Config, l int, qkvBias bool) Attention {
	e, qd, kvd := cfg.EmbeddingLength, cfg.QueryDim(), cfg.KVDim()
	n := func(s string) string { return model.BlockName(l, s) }
	mm := compute.OpMulMat
	bias := b.Optional
	if qkvBias {
		bias = b.Tensor
	}
	return Attention{
		Wq:    p.Matrix(b.Tensor(n("attn_q.weight"), e, qd), mm),
		Wk:    p.Matrix(b.Tensor(n("attn_k.weight"), e, kvd), mm),
		Wv:    p.Matrix(b.Tensor(n("attn_v.weight"), e, kvd), mm),
		Wo:    p.Matrix(b.Tensor(n("attn_output.weight"), qd, e), mm),
		Bq:    p.Vector(bias(n("attn_q.bias"), qd)),
		Bk:    p.Vector(bias(n("attn_k.bias"), kvd)),
		Bv:    p.Vector(bias(n("attn_v.bias"), kvd)),
		Bo:    p.Vector(b.Optional(n("attn_output.bias"), e)),
		QNorm: p.Vector(b.Optional(n("attn_q_norm.weight"), cfg.HeadDim)),
		KNorm: p.Vector(b.Optional(n("attn_k_norm.weight"), cfg.HeadDim)),
	}
}

// Forward is multi-head self-attention with grouped keys/values:
// Wo · softmax(rope(q)·rope(k)ᵀ · scale) · v over the cached positions, the
// batch's keys and values written into the caches of kv first (one segment
// per sequence of the batch; see KV).
func (a *Attention) Forward(g *compute.Graph, x, pos *compute.Tensor, kv []compute.Segment, p AttentionParams) *compute.Tensor {
	n := x.Shape()[1]
	q := g.Reshape(WithBias(g, g.MulMat(a.Wq, x), a.Bq), compute.Shape{p.HeadDim, p.Heads, n})
	k := g.Reshape(WithBias(g, g.MulMat(a.Wk, x), a.Bk), compute.Shape{p.HeadDim, p.HeadsKV, n})
	v := g.Reshape(WithBias(g, g.MulMat(a.Wv, x), a.Bv), compute.Shape{p.HeadDim, p.HeadsKV, n})
	if a.QNorm != nil {
		q = Norm(g, q, a.QNorm, p.NormEps) // each head's row on its own
	}
	if a.KNorm != nil {
		k = Norm(g, k, a.KNorm, p.NormEps)
	}
	q = g.Rope(q, pos, p.Rope)
	k = g.Rope(k, pos, p.Rope)
	att := g.RaggedAttention(q, k, v, kv, compute.AttentionParams{
		Scale: p.Scale, Softcap: p.Softcap, Window: p.Window, NonCausal: p.NonCausal,
	}) // [n_head*head_dim, n]
	return WithBias(g, g.MulMat(a.Wo, att), a.Bo)
}

// Norm is RMSNorm of every row of x times the weight w.
func Norm(g *compute.Graph, x, w *compute.Tensor, eps float32) *compute.Tensor {
	return g.Mul(g.RMSNorm(x, eps), w)
}

// WithBias adds b to x when the layer has a bias.
func WithBias(g *compute.Graph, x, b *compute.Tensor) *compute.Tensor {
	if b == nil {
		return x
	}
	return g.Add(x, b)
}

// RequireQKNorms fails, freeing what p placed, when a family that needs
// q/k norms (Qwen3, Gemma 3) finds layer l without them. A binding or
// placement error already recorded explains missing norms better, so it
// is left for Done to report.
func RequireQKNorms(b *model.Binder, p *model.Placer, a *Attention, l int) error {
	if b.Err() != nil || p.Err() != nil || (a.QNorm != nil && a.KNorm != nil) {
		return nil
	}
	p.Free()
	return fmt.Errorf("model: tensor %s or %s is missing", model.BlockName(l, "attn_q_norm.weight"), model.BlockName(l, "attn_k_norm.weight"))
}
