package vision

import (
	"fmt"
	"math"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model"
)

// layerNorm is a LayerNorm's weight and bias.
type layerNorm struct {
	W, B *compute.Tensor // [D]
}

func (n layerNorm) forward(g *compute.Graph, x *compute.Tensor, eps float32) *compute.Tensor {
	return g.Add(g.Mul(g.LayerNorm(x, eps), n.W), n.B)
}

// linear is a weight matrix with its bias.
type linear struct {
	W *compute.Tensor // [in, out]
	B *compute.Tensor // [out]
}

func (l linear) forward(g *compute.Graph, x *compute.Tensor) *compute.Tensor {
	return g.Add(g.MulMat(l.W, x), l.B)
}

// encoderBlock is one pre-LN transformer block of the ViT.
type encoderBlock struct {
	LN1, LN2   layerNorm
	Q, K, V, O linear // [D, D] each
	Up         linear // [D, F]
	Down       linear // [F, D]
}

// encoder is a SigLIP/CLIP-style vision transformer: patches embedded by a
// strided convolution, learned position embeddings, pre-LN blocks with full
// (non-causal) attention and a GELU MLP, then a final LayerNorm.
type encoder struct {
	cfg      *Config
	PatchW   *compute.Tensor // [P*P*3, D]: the convolution kernel, one row per output channel
	PatchB   *compute.Tensor // [D]
	Position *compute.Tensor // [D, n_patches]
	Blocks   []encoderBlock
	PostLN   layerNorm
}

// bindEncoder binds the v.* tensors of a ViT whose shapes follow from cfg.
func bindEncoder(b *model.Binder, p *model.Placer, c *Config, f fileTensors) *encoder {
	d, ff, ps := c.EmbeddingLength, c.FeedForwardLength, c.PatchSize
	mm := compute.OpMulMat
	norm := func(name string) layerNorm {
		return layerNorm{W: p.Vector(b.Tensor(name+".weight", d)), B: p.Vector(b.Tensor(name+".bias", d))}
	}
	lin := func(name string, in, out int) linear {
		return linear{W: p.Matrix(b.Tensor(name+".weight", in, out), mm), B: p.Vector(b.Tensor(name+".bias", out))}
	}
	e := &encoder{cfg: c}
	// The kernel {P, P, 3, D} is D rows of (channel, y, x) with x fastest:
	// the layout unfold gives each patch, so the convolution is one product.
	if w := b.Tensor("v.patch_embd.weight", ps, ps, 3, d); w != nil {
		w.Shape = []int{ps * ps * 3, d}
		e.PatchW = p.Matrix(w, mm)
	}
	e.PatchB = p.Vector(b.Tensor("v.patch_embd.bias", d))
	e.Position = p.Matrix(b.Tensor("v.position_embd.weight", d, c.Patches()), compute.OpGetRows)
	for l := range c.BlockCount {
		n := func(s string) string { return fmt.Sprintf("v.blk.%d.%s", l, s) }
		// Old converters stored ffn_up and ffn_down under each other's
		// names; llama.cpp tells them by ffn_down's row length, and so do we.
		up, down := n("ffn_up"), n("ffn_down")
		if ff != d && f.rowLength(down+".weight") == d {
			up, down = down, up
		}
		e.Blocks = append(e.Blocks, encoderBlock{
			LN1: norm(n("ln1")), LN2: norm(n("ln2")),
			Q: lin(n("attn_q"), d, d), K: lin(n("attn_k"), d, d), V: lin(n("attn_v"), d, d), O: lin(n("attn_out"), d, d),
			Up: lin(up, d, ff), Down: lin(down, ff, d),
		})
	}
	e.PostLN = norm("v.post_ln")
	return e
}

// forward builds the encoder over pixels (float32 [3][S][S]) with the
// patches in the given order (order[i] is the row-major grid index of the
// i-th patch) and returns the states after the final norm, F32 [D, n].
// Attention sees every patch and nothing else depends on their order, so a
// projector may ask for any order that makes its own work simple.
// kCache and vCache are F32 [head_dim, heads, n] scratch for attention,
// shared by the blocks, which run one after another.
func (e *encoder) forward(g *compute.Graph, pixels []float32, order []int32, kCache, vCache *compute.Tensor) *compute.Tensor {
	c := e.cfg
	n, hd := len(order), c.HeadDim()
	x := g.Float32s(unfold(pixels, c, order), compute.Shape{c.PatchSize * c.PatchSize * 3, n})
	x = g.Add(g.MulMat(e.PatchW, x), e.PatchB)
	x = g.Add(x, g.GetRows(e.Position, g.Int32s(order))) // [D, n]
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	positions := g.Int32s(pos)
	att := compute.AttentionParams{Scale: float32(1 / math.Sqrt(float64(hd))), NonCausal: true}
	for i := range e.Blocks {
		b := &e.Blocks[i]
		h := b.LN1.forward(g, x, c.Eps)
		q := g.Reshape(b.Q.forward(g, h), compute.Shape{hd, c.HeadCount, n})
		k := g.Reshape(b.K.forward(g, h), compute.Shape{hd, c.HeadCount, n})
		v := g.Reshape(b.V.forward(g, h), compute.Shape{hd, c.HeadCount, n})
		x = g.Add(x, b.O.forward(g, g.Attention(q, k, v, kCache, vCache, positions, att)))
		h = b.LN2.forward(g, x, c.Eps)
		x = g.Add(x, b.Down.forward(g, g.GELU(b.Up.forward(g, h))))
	}
	return e.PostLN.forward(g, x, c.Eps)
}

// unfold lays the patches out as rows of (channel, y, x) values, in order:
// the convolution's input as a matrix [P*P*3, n].
func unfold(pixels []float32, c *Config, order []int32) []float32 {
	s, ps, grid := c.ImageSize, c.PatchSize, c.Grid()
	row := ps * ps * 3
	out := make([]float32, row*len(order))
	for i, p := range order {
		py, px := int(p)/grid, int(p)%grid
		dst := out[i*row:]
		for ch := 0; ch < 3; ch++ {
			for ky := 0; ky < ps; ky++ {
				src := pixels[ch*s*s+(py*ps+ky)*s+px*ps:]
				copy(dst[(ch*ps+ky)*ps:(ch*ps+ky+1)*ps], src[:ps])
			}
		}
	}
	return out
}
