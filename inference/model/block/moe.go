package block

import (
	"fmt"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model"
)

// MoE is a mixture-of-experts feed-forward network: a router picks the
// expert_used_count best experts for each token, each a SwiGLU MLP, and
// their outputs are mixed by the router's renormalised probabilities.
type MoE struct {
	Router *compute.Tensor // [n_embd, n_expert]
	Gate   *compute.Tensor // [n_embd, n_ff_exp, n_expert]
	Up     *compute.Tensor // [n_embd, n_ff_exp, n_expert]
	Down   *compute.Tensor // [n_ff_exp, n_embd, n_expert]
	Used   int             // experts per token
}

// CheckExperts refuses a mixture-of-experts config without its expert
// counts.
func CheckExperts(c *model.Config) error {
	if c.ExpertCount == 0 || c.ExpertUsedCount == 0 || c.ExpertFFLength == 0 {
		return fmt.Errorf("model: %s needs %[1]s.expert_count, expert_used_count and expert_feed_forward_length (have %d, %d, %d)",
			c.Arch, c.ExpertCount, c.ExpertUsedCount, c.ExpertFFLength)
	}
	return nil
}

// BindMoE binds blk.l.ffn_gate_inp.weight and the 3-D expert tensors
// blk.l.ffn_{gate,up,down}_exps.weight.
func BindMoE(b *model.Binder, p *model.Placer, cfg *model.Config, l int) *MoE {
	e, ff, ne := cfg.EmbeddingLength, cfg.ExpertFFLength, cfg.ExpertCount
	n := func(s string) string { return model.BlockName(l, s) }
	id := compute.OpMulMatID
	return &MoE{
		Router: p.Matrix(b.Tensor(n("ffn_gate_inp.weight"), e, ne), compute.OpMulMat),
		Gate:   p.Matrix(b.Tensor(n("ffn_gate_exps.weight"), e, ff, ne), id),
		Up:     p.Matrix(b.Tensor(n("ffn_up_exps.weight"), e, ff, ne), id),
		Down:   p.Matrix(b.Tensor(n("ffn_down_exps.weight"), ff, e, ne), id),
		Used:   cfg.ExpertUsedCount,
	}
}

// Forward routes every column of x (F32 [n_embd, n]) through its experts:
// softmax over the router logits, the Used best, their probabilities
// renormalised to sum 1, and out = Σ wₑ · downₑ(silu(gateₑ·x) * upₑ·x).
func (m *MoE) Forward(g *compute.Graph, x *compute.Tensor) *compute.Tensor {
	ids, weights := g.TopKExperts(g.MulMat(m.Router, x), m.Used, true)
	h := g.SwiGLU(g.MulMatID(m.Gate, x, ids), g.MulMatID(m.Up, x, ids)) // [n_ff_exp, k, n]
	return g.WeightedSum(g.MulMatID(m.Down, h, ids), weights)
}
