package compute

// The ops of encoder blocks (BERT; ViT reuses them): a LayerNorm with a
// weight and a bias,
//
//	y := g.Add(g.Mul(g.LayerNorm(x, eps), weight), bias)
//
// and a plain (non-gated) GELU between the two products of the MLP,
//
//	h := g.GELU(g.Add(g.MulMat(up, x), upBias))
//
// Attention without a causal mask is Attention with NonCausal set.

// LayerNorm returns each row of a minus its mean, divided by
// sqrt(variance + eps), the variance over the row's length. Apply the norm
// weight and bias with Mul and Add.
func (g *Graph) LayerNorm(a *Tensor, eps float32) *Tensor {
	if !(eps >= 0) {
		return g.fail("LayerNorm", "eps %v", eps)
	}
	return g.unary(OpLayerNorm, a, eps)
}

// GELU returns gelu(a) = 0.5·a·(1 + tanh(√(2/π)·(a + 0.044715·a³))), the
// tanh approximation that ggml uses (GeGLU's activation, without the gate).
func (g *Graph) GELU(a *Tensor) *Tensor { return g.unary(OpGELU, a, 0) }
