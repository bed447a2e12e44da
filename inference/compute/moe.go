package compute

import (
	"fmt"
	"math"
)

// Mixture of experts. A Qwen3-MoE feed-forward block, for x F32 [n_embd, n]:
//
//	logits := g.MulMat(ffnGateInp, x)                       // [n_expert, n]
//	ids, weights := g.TopKExperts(logits, k, true)          // I32 [k, n], F32 [k, n]
//	gate := g.MulMatID(ffnGateExps, x, ids)                 // [n_ff_exp, k, n]
//	up := g.MulMatID(ffnUpExps, x, ids)                     // [n_ff_exp, k, n]
//	down := g.MulMatID(ffnDownExps, g.SwiGLU(gate, up), ids) // [n_embd, k, n]
//	out := g.WeightedSum(down, weights)                     // [n_embd, n]
//
// The expert weights are 3-D: ne {n_in, n_out, n_expert}, expert e's matrix
// at byte e * n_out * rowsize(n_in). Backends read only the rows of the
// experts that some token chose, so decode costs the active parameters.

// MoEWeightsFloor is the least sum TopKExperts divides the weights by when
// it normalises them (2^-14, the smallest normal F16), as llama.cpp does, so
// that a token whose chosen probabilities all underflow gets no infinities.
const MoEWeightsFloor = 6.103515625e-5

// TopKExperts routes each token (a column of logits, F32 [n_expert, n]) to
// its k best experts the way llama.cpp does: the softmax of the n_expert
// logits, the k largest probabilities (best first; equal ones by lowest id),
// and, with normalize (Qwen3-MoE's expert_weights_norm), those k divided by
// their sum (at least MoEWeightsFloor). ids is I32 [k, n], for MulMatID;
// weights is F32 [k, n], for WeightedSum.
func (g *Graph) TopKExperts(logits *Tensor, k int, normalize bool) (ids, weights *Tensor) {
	if !g.check("TopKExperts", logits) {
		return placeholder, placeholder
	}
	s := logits.shape
	if logits.dtype != F32 || s[2] != 1 || s[3] != 1 {
		return g.fail("TopKExperts", "logits %v must be F32 [n_expert, n]", logits), placeholder
	}
	if k < 1 || k > s[0] {
		return g.fail("TopKExperts", "%d of %d experts", k, s[0]), placeholder
	}
	probs := g.Softmax(logits)
	ids = g.add(&Tensor{op: OpTopK, dtype: I32, shape: Shape{k, s[1]}}, probs)
	w := &Tensor{op: OpExpertWeights, dtype: F32, shape: Shape{k, s[1]}}
	if normalize {
		w.f = MoEWeightsFloor
	}
	return ids, g.add(w, probs, ids)
}

// MulMatID multiplies by the experts that ids choose: out[:, j, t] is expert
// ids[j, t]'s matrix (w, any weight type MulMat takes, [n_in, n_out,
// n_expert]) times the activation row of slot j of token t. x is F32
// [n_in, n], one row per token shared by its k slots, or [n_in, k, n], one
// row per slot (the down projection). ids is I32 [k, n] from TopKExperts,
// or an Int32s input (reshaped) whose values are checked here. The result is
// F32 [n_out, k, n].
func (g *Graph) MulMatID(w, x, ids *Tensor) *Tensor {
	if !g.check("MulMatID", w, x, ids) {
		return placeholder
	}
	ws, xs, is := w.shape, x.shape, ids.shape
	if ws[3] != 1 {
		return g.fail("MulMatID", "weight %v must be [n_in, n_out, n_expert]", w)
	}
	if x.dtype != F32 {
		return g.fail("MulMatID", "activations %v must be F32", x)
	}
	if ws[0] != xs[0] {
		return g.fail("MulMatID", "row lengths differ: weight %v, activations %v", w, x)
	}
	if ids.dtype != I32 || is[2] != 1 || is[3] != 1 {
		return g.fail("MulMatID", "ids %v must be I32 [k, n]", ids)
	}
	k, n := is[0], is[1]
	shared := xs[1] == n && xs[2] == 1 && xs[3] == 1
	perSlot := xs[1] == k && xs[2] == n && xs[3] == 1
	if !shared && !perSlot {
		return g.fail("MulMatID", "activations %v must be [%d, %d] or [%d, %d, %d] for ids %v", x, xs[0], n, xs[0], k, n, ids)
	}
	if int64(ws[1])*int64(k) > math.MaxInt32 {
		return g.fail("MulMatID", "weight %v has too many rows", w)
	}
	if err := g.expertIDs(ids, ws[2]); err != nil {
		return g.fail("MulMatID", "%v", err)
	}
	return g.add(&Tensor{op: OpMulMatID, dtype: F32, shape: Shape{ws[1], k, n}}, w, x, ids)
}

// expertIDs checks that ids can only hold values in [0, nExpert): the
// values of an input are known now; those of TopKExperts are below its
// row length. Backends check again as they read them.
func (g *Graph) expertIDs(ids *Tensor, nExpert int) error {
	root, off := ids.Root()
	switch root.op {
	case OpInput:
		first := off / 4
		for i, id := range root.ints[first : first+ids.shape.Elements()] {
			if id < 0 || int(id) >= nExpert {
				return fmt.Errorf("expert id %d at %d is outside [0, %d)", id, i, nExpert)
			}
		}
		return nil
	case OpTopK:
		if have := root.src[0].shape[0]; have > nExpert {
			return fmt.Errorf("ids %v choose among %d experts, the weight has %d", ids, have, nExpert)
		}
		return nil
	}
	return fmt.Errorf("ids %v must come from TopKExperts or Int32s", ids)
}

// WeightedSum mixes the k slots of each token: out[:, t] = sum over j of
// weights[j, t] * a[:, j, t], added in slot order as llama.cpp adds them.
// a is F32 [d, k, n] (MulMatID's output), weights F32 [k, n]; the result is
// F32 [d, n].
func (g *Graph) WeightedSum(a, weights *Tensor) *Tensor {
	if !g.check("WeightedSum", a, weights) {
		return placeholder
	}
	as, ws := a.shape, weights.shape
	if a.dtype != F32 || weights.dtype != F32 || as[3] != 1 || ws != (Shape{as[1], as[2], 1, 1}) {
		return g.fail("WeightedSum", "a %v must be F32 [d, k, n] and weights %v F32 [k, n]", a, weights)
	}
	return g.add(&Tensor{op: OpWeightedSum, dtype: F32, shape: Shape{as[0], as[2]}}, a, weights)
}
