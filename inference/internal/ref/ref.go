// Package ref is a plain float32 forward pass of the LLaMA family (Llama 2,
// Llama 3, Qwen2), written to be read top to bottom like llama2.c's run.c.
// It is slow on purpose: one token at a time, every weight row dequantized
// when it is used, no SIMD, no threads. It is the oracle that every compute
// backend is tested against.
package ref

import (
	"fmt"
	"math"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/quant"
)

// Config is the shape of the transformer.
type Config struct {
	Dim       int     // n_embd: width of the residual stream
	HiddenDim int     // n_ff: hidden width of the MLP
	NLayers   int     // number of blocks
	NHeads    int     // query heads
	NKVHeads  int     // key/value heads; NHeads/NKVHeads query heads share one
	HeadDim   int     // width of one head
	VocabSize int     // rows of the embedding and output matrices
	SeqLen    int     // context length
	NormEps   float32 // RMSNorm epsilon
	RopeDim   int     // leading elements of each head that RoPE rotates
	RopeBase  float32 // theta
	RopeScale float32 // frequency scale (1 / linear scaling factor)
	RopeNeoX  bool    // rotate halves (x[i], x[i+RopeDim/2]) instead of adjacent pairs
}

// Weights are the model's matrices, still in their file encoding; each row
// is dequantized when it is used. Shapes are [rows][cols]: a matrix row is one
// output element's weights.
type Weights struct {
	TokenEmbd  *model.Tensor // [vocab][dim]
	RopeFreqs  *model.Tensor // [rope_dim/2] per-frequency divisors (Llama 3), or nil
	OutputNorm *model.Tensor // [dim]
	Output     *model.Tensor // [vocab][dim]; the same tensor as TokenEmbd when tied
	Layers     []Layer
}

// Layer holds one transformer block's weights.
type Layer struct {
	AttnNorm *model.Tensor // [dim]
	Wq       *model.Tensor // [n_heads*head_dim][dim]
	Wk       *model.Tensor // [n_kv_heads*head_dim][dim]
	Wv       *model.Tensor // [n_kv_heads*head_dim][dim]
	Bq       *model.Tensor // [n_heads*head_dim] or nil (Qwen2 has q/k/v biases)
	Bk       *model.Tensor // [n_kv_heads*head_dim] or nil
	Bv       *model.Tensor // [n_kv_heads*head_dim] or nil
	Wo       *model.Tensor // [dim][n_heads*head_dim]
	Bo       *model.Tensor // [dim] or nil
	FFNNorm  *model.Tensor // [dim]
	W1       *model.Tensor // [hidden][dim]  ffn_gate
	W3       *model.Tensor // [hidden][dim]  ffn_up
	W2       *model.Tensor // [dim][hidden]  ffn_down
}

// RunState is the scratch memory of a forward pass, allocated once.
type RunState struct {
	x      []float32   // [dim] activation at the current position
	xb     []float32   // [dim] normalized activation
	xb2    []float32   // [dim]
	q      []float32   // [n_heads*head_dim]
	k, v   []float32   // [n_kv_heads*head_dim]
	att    []float32   // [seq] attention scores of one head
	atto   []float32   // [n_heads*head_dim] attention output
	hb     []float32   // [hidden]
	hb2    []float32   // [hidden]
	row    []float32   // [max(dim, hidden)] one dequantized weight row
	logits []float32   // [vocab]
	keys   [][]float32 // [layer][pos*kv_dim]: grows by one position per step
	values [][]float32 // [layer][pos*kv_dim]
}

// Transformer is a loaded model with its run state.
type Transformer struct {
	Config  Config
	Weights Weights
	state   RunState
	pos     int // next position to be filled
}

// New binds the weights of a llama or qwen2 GGUF file. The returned
// Transformer reads the file's mapping; keep f open while using it.
func New(f *gguf.File) (*Transformer, error) {
	mc, err := model.ReadConfig(f)
	if err != nil {
		return nil, err
	}
	if mc.Arch != "llama" && mc.Arch != "qwen2" {
		return nil, fmt.Errorf("ref: architecture %q is not supported", mc.Arch)
	}
	c := Config{
		Dim: mc.EmbeddingLength, HiddenDim: mc.FeedForwardLength, NLayers: mc.BlockCount,
		NHeads: mc.HeadCount, NKVHeads: mc.HeadCountKV, HeadDim: mc.HeadDim,
		VocabSize: mc.VocabSize, SeqLen: mc.ContextLength, NormEps: mc.RMSEpsilon,
		RopeDim: mc.RopeDim, RopeBase: mc.RopeBase, RopeScale: mc.RopeFreqScale,
		RopeNeoX: mc.RopeStyle == model.RopeNeoX,
	}
	qd, kvd := c.NHeads*c.HeadDim, c.NKVHeads*c.HeadDim
	b := model.NewBinder(f, mc)
	w := Weights{
		TokenEmbd:  b.Tensor("token_embd.weight", c.Dim, c.VocabSize),
		RopeFreqs:  b.Optional("rope_freqs.weight", c.RopeDim/2),
		OutputNorm: b.Tensor("output_norm.weight", c.Dim),
		Output:     b.Optional("output.weight", c.Dim, c.VocabSize),
	}
	if w.Output == nil {
		w.Output = w.TokenEmbd
	}
	bias := b.Optional
	if mc.Arch == "qwen2" {
		bias = b.Tensor
	}
	for l := range c.NLayers {
		n := func(s string) string { return model.BlockName(l, s) }
		w.Layers = append(w.Layers, Layer{
			AttnNorm: b.Tensor(n("attn_norm.weight"), c.Dim),
			Wq:       b.Tensor(n("attn_q.weight"), c.Dim, qd),
			Wk:       b.Tensor(n("attn_k.weight"), c.Dim, kvd),
			Wv:       b.Tensor(n("attn_v.weight"), c.Dim, kvd),
			Bq:       bias(n("attn_q.bias"), qd),
			Bk:       bias(n("attn_k.bias"), kvd),
			Bv:       bias(n("attn_v.bias"), kvd),
			Wo:       b.Tensor(n("attn_output.weight"), qd, c.Dim),
			Bo:       b.Optional(n("attn_output.bias"), c.Dim),
			FFNNorm:  b.Tensor(n("ffn_norm.weight"), c.Dim),
			W1:       b.Tensor(n("ffn_gate.weight"), c.Dim, c.HiddenDim),
			W3:       b.Tensor(n("ffn_up.weight"), c.Dim, c.HiddenDim),
			W2:       b.Tensor(n("ffn_down.weight"), c.HiddenDim, c.Dim),
		})
	}
	if err := b.Err(); err != nil {
		return nil, err
	}
	t := &Transformer{Config: c, Weights: w}
	s := &t.state
	s.x, s.xb, s.xb2 = make([]float32, c.Dim), make([]float32, c.Dim), make([]float32, c.Dim)
	s.q, s.atto = make([]float32, qd), make([]float32, qd)
	s.k, s.v = make([]float32, kvd), make([]float32, kvd)
	s.hb, s.hb2 = make([]float32, c.HiddenDim), make([]float32, c.HiddenDim)
	s.row = make([]float32, max(c.Dim, c.HiddenDim, qd))
	s.logits = make([]float32, c.VocabSize)
	s.keys, s.values = make([][]float32, c.NLayers), make([][]float32, c.NLayers)
	return t, nil
}

// Pos is the number of tokens fed so far.
func (t *Transformer) Pos() int { return t.pos }

// Forward feeds one token at the next position and returns the logits that
// predict the following one. The slice is reused by the next call.
func (t *Transformer) Forward(token int32) ([]float32, error) {
	c, w, s := &t.Config, &t.Weights, &t.state
	if token < 0 || int(token) >= c.VocabSize {
		return nil, fmt.Errorf("ref: token %d is outside the vocabulary of %d", token, c.VocabSize)
	}
	if t.pos >= c.SeqLen {
		return nil, fmt.Errorf("ref: position %d is past the context length %d", t.pos, c.SeqLen)
	}
	pos := t.pos
	kvMul := c.NHeads / c.NKVHeads
	hd := c.HeadDim

	// The token's embedding is the residual stream's starting point.
	if err := rowOf(w.TokenEmbd, int(token), s.x); err != nil {
		return nil, err
	}

	for l := range c.NLayers {
		lw := &w.Layers[l]

		// Attention: x += Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
		if err := rmsnorm(s.xb, s.x, lw.AttnNorm, c.NormEps, s.row); err != nil {
			return nil, err
		}
		for _, m := range []struct {
			out  []float32
			w, b *model.Tensor
		}{{s.q, lw.Wq, lw.Bq}, {s.k, lw.Wk, lw.Bk}, {s.v, lw.Wv, lw.Bv}} {
			if err := matmul(m.out, s.xb, m.w, s.row); err != nil {
				return nil, err
			}
			if err := addBias(m.out, m.b, s.row); err != nil {
				return nil, err
			}
		}
		for h := range c.NHeads {
			if err := t.rope(s.q[h*hd:(h+1)*hd], pos); err != nil {
				return nil, err
			}
		}
		for h := range c.NKVHeads {
			if err := t.rope(s.k[h*hd:(h+1)*hd], pos); err != nil {
				return nil, err
			}
		}
		s.keys[l] = append(s.keys[l], s.k...)
		s.values[l] = append(s.values[l], s.v...)

		scale := 1 / math.Sqrt(float64(hd))
		att := s.att[:0]
		for h := range c.NHeads {
			q := s.q[h*hd : (h+1)*hd]
			kvh := h / kvMul // grouped-query attention: this head's key/value head
			att = att[:0]
			for p := 0; p <= pos; p++ {
				k := s.keys[l][(p*c.NKVHeads+kvh)*hd:][:hd]
				att = append(att, float32(dot(q, k)*scale))
			}
			softmax(att)
			out := s.atto[h*hd : (h+1)*hd]
			clear(out)
			for p, a := range att {
				v := s.values[l][(p*c.NKVHeads+kvh)*hd:][:hd]
				for i := range out {
					out[i] += a * v[i]
				}
			}
		}
		s.att = att
		if err := matmul(s.xb2, s.atto, lw.Wo, s.row); err != nil {
			return nil, err
		}
		if err := addBias(s.xb2, lw.Bo, s.row); err != nil {
			return nil, err
		}
		for i := range s.x {
			s.x[i] += s.xb2[i]
		}

		// Feed-forward (SwiGLU): x += W2 · (silu(W1·norm(x)) * W3·norm(x))
		if err := rmsnorm(s.xb, s.x, lw.FFNNorm, c.NormEps, s.row); err != nil {
			return nil, err
		}
		if err := matmul(s.hb, s.xb, lw.W1, s.row); err != nil {
			return nil, err
		}
		if err := matmul(s.hb2, s.xb, lw.W3, s.row); err != nil {
			return nil, err
		}
		for i, g := range s.hb {
			s.hb[i] = g / (1 + float32(math.Exp(float64(-g)))) * s.hb2[i]
		}
		if err := matmul(s.xb2, s.hb, lw.W2, s.row); err != nil {
			return nil, err
		}
		for i := range s.x {
			s.x[i] += s.xb2[i]
		}
	}

	// Final norm and the classifier into logits.
	if err := rmsnorm(s.x, s.x, w.OutputNorm, c.NormEps, s.row); err != nil {
		return nil, err
	}
	if err := matmul(s.logits, s.x, w.Output, s.row); err != nil {
		return nil, err
	}
	t.pos++
	return s.logits, nil
}

// rope rotates the leading RopeDim elements of one head by angles that grow
// with pos: pair i turns by pos * scale * base^(-2i/RopeDim) / factor[i].
func (t *Transformer) rope(head []float32, pos int) error {
	c := &t.Config
	half := c.RopeDim / 2
	var factors []float32
	if t.Weights.RopeFreqs != nil {
		factors = t.state.row[:half]
		if err := quant.Dequantize(t.Weights.RopeFreqs.Type, t.Weights.RopeFreqs.Data, factors); err != nil {
			return fmt.Errorf("ref: rope_freqs: %w", err)
		}
	}
	for i := range half {
		theta := float64(c.RopeScale) * float64(pos) * math.Pow(float64(c.RopeBase), -2*float64(i)/float64(c.RopeDim))
		if factors != nil {
			theta /= float64(factors[i])
		}
		sin, cos := math.Sincos(theta)
		a, b := 2*i, 2*i+1 // adjacent pairs
		if c.RopeNeoX {
			a, b = i, i+half // the two halves
		}
		x0, x1 := float64(head[a]), float64(head[b])
		head[a] = float32(x0*cos - x1*sin)
		head[b] = float32(x0*sin + x1*cos)
	}
	return nil
}

// rowOf dequantizes row i of w into dst.
func rowOf(w *model.Tensor, i int, dst []float32) error {
	if err := quant.Dequantize(w.Type, w.Row(i), dst[:w.Cols()]); err != nil {
		return fmt.Errorf("ref: %s row %d: %w", w.Name, i, err)
	}
	return nil
}

// matmul computes out = W · x one weight row at a time; row is scratch.
func matmul(out, x []float32, w *model.Tensor, row []float32) error {
	row = row[:w.Cols()]
	for i := range out {
		if err := rowOf(w, i, row); err != nil {
			return err
		}
		out[i] = float32(dot(row, x))
	}
	return nil
}

// addBias adds b (if any) to x.
func addBias(x []float32, b *model.Tensor, row []float32) error {
	if b == nil {
		return nil
	}
	if err := rowOf(b, 0, row); err != nil {
		return err
	}
	for i := range x {
		x[i] += row[i]
	}
	return nil
}

// rmsnorm writes x / sqrt(mean(x²) + eps) * weight into out (which may be x).
func rmsnorm(out, x []float32, weight *model.Tensor, eps float32, row []float32) error {
	if err := rowOf(weight, 0, row); err != nil {
		return err
	}
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i := range out {
		out[i] = x[i] * scale * row[i]
	}
	return nil
}

// dot is a float64-accumulated dot product.
func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// softmax normalizes x in place, subtracting the maximum for stability.
func softmax(x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		x[i] = float32(e)
		sum += e
	}
	for i := range x {
		x[i] = float32(float64(x[i]) / sum)
	}
}
