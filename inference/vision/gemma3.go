package vision

import (
	"fmt"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model"
)

func init() { registerProjector("gemma3", newGemma3) }

// gemma3 is Gemma 3's projector: the encoder's grid averaged over k x k
// blocks, an RMS norm with mm.soft_emb_norm, and a product with
// mm.input_projection into the text model's embedding space.
type gemma3 struct {
	k, side, tokens int             // pooling kernel, pooled grid side, side²
	eps             float32         // the encoder's epsilon
	norm            *compute.Tensor // [D]: used as stored (converters add Gemma's +1)
	proj            *compute.Tensor // [D, n_embd_text]: the file's matrix transposed
	order           []int32
	transposed      []byte // the bytes proj wraps, kept alive with the projector
}

func newGemma3(b *model.Binder, p *model.Placer, c *Config, f fileTensors) (projector, error) {
	k := c.ScaleFactor
	if k == 0 {
		k = 4 // real Gemma 3 files leave the key out
	}
	grid := c.Grid()
	if grid%k != 0 {
		return nil, fmt.Errorf("vision: gemma3: a %d-patch grid cannot be pooled in %dx%d blocks", grid, k, k)
	}
	m := &gemma3{k: k, side: grid / k, eps: c.Eps}
	m.tokens = m.side * m.side
	d := c.EmbeddingLength
	m.norm = p.Vector(b.Tensor("mm.soft_emb_norm.weight", d))
	// mm.input_projection is stored as {n_embd_text, D} and applied as x·W
	// (llama.cpp multiplies by its transpose); the product here wants rows
	// of length D, so the matrix is transposed once, in its own type.
	w := b.Tensor("mm.input_projection.weight", c.ProjectionDim, d)
	if w != nil {
		t, err := transpose(w)
		if err != nil {
			return nil, err
		}
		m.transposed = t.Data
		m.proj = p.Matrix(t, compute.OpMulMat)
	}
	// Patch i*T + t is the i-th patch (row-major inside the block) of
	// pooled cell t: each block's patches are then T rows apart, and the
	// average is a sum of k² contiguous slices.
	m.order = make([]int32, 0, grid*grid)
	for i := 0; i < k*k; i++ {
		iy, ix := i/k, i%k
		for t := 0; t < m.tokens; t++ {
			cy, cx := t/m.side, t%m.side
			m.order = append(m.order, int32((cy*k+iy)*grid+cx*k+ix))
		}
	}
	return m, nil
}

func (m *gemma3) Tokens() int         { return m.tokens }
func (m *gemma3) PatchOrder() []int32 { return m.order }

// Wrap is Gemma 3's image delimiters; with a Gemma 3 vocabulary each is one
// special token.
func (m *gemma3) Wrap() (string, string) { return "<start_of_image>", "<end_of_image>" }

// Forward pools, norms and projects the encoder states [D, n_patches]
// (in PatchOrder) to [n_embd_text, tokens]; token t is the pooled cell
// (t / side, t % side).
func (m *gemma3) Forward(g *compute.Graph, x *compute.Tensor) *compute.Tensor {
	sum := g.Rows(x, 0, m.tokens)
	for i := 1; i < m.k*m.k; i++ {
		sum = g.Add(sum, g.Rows(x, i*m.tokens, m.tokens))
	}
	pooled := g.Scale(sum, 1/float32(m.k*m.k))
	return g.MulMat(m.proj, g.Mul(g.RMSNorm(pooled, m.eps), m.norm))
}
