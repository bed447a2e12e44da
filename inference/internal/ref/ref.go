// Package ref is a plain float32 forward pass of the decoder-only
// transformers llama.cpp calls llama, qwen2, qwen3, qwen3moe, phi3, gemma,
// gemma2 and gemma3, written to be read top to bottom like llama2.c's run.c.
// The families differ by a handful of switches in Config; Forward is one
// function for all of them. It is slow on purpose: one token at a time,
// every weight row dequantized when it is used, no SIMD, no threads. It is
// the oracle that every compute backend is tested against.
package ref

import (
	"fmt"
	"math"
	"slices"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/quant"
)

// Config is the shape of the transformer and the switches by which the
// families differ from Llama.
type Config struct {
	Arch      string  // general.architecture
	Dim       int     // n_embd: width of the residual stream
	HiddenDim int     // n_ff: hidden width of the MLP
	NLayers   int     // number of blocks
	NHeads    int     // query heads
	NKVHeads  int     // key/value heads; NHeads/NKVHeads query heads share one
	HeadDim   int     // width of one head
	VocabSize int     // rows of the embedding and output matrices
	SeqLen    int     // context length; also picks the LongRoPE factors
	NormEps   float32 // RMSNorm epsilon
	RopeDim   int     // leading elements of each head that RoPE rotates
	RopeBase  float32 // theta
	RopeScale float32 // frequency scale (1 / linear scaling factor)
	RopeNeoX  bool    // rotate halves (x[i], x[i+RopeDim/2]) instead of adjacent pairs

	EmbedScale  float32 // token embeddings are multiplied by this (Gemma: sqrt(Dim))
	FusedQKV    bool    // attn_qkv holds the q, k and v rows in one matrix (Phi-3)
	FusedGateUp bool    // ffn_up holds the gate rows, then the up rows (Phi-3)
	GELUGate    bool    // the MLP gate is GELU (tanh approximation) instead of SiLU (Gemma)
	QKNorm      bool    // per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3)
	PostNorms   bool    // RMSNorm of the attention and MLP outputs before the residual add (Gemma 2, 3)

	AttnScale    float32 // q·k is multiplied by this before the softmax
	AttnSoftcap  float32 // scores become c*tanh(s/c) when non-zero (Gemma 2)
	FinalSoftcap float32 // logits become c*tanh(l/c) when non-zero (Gemma 2)

	// Sliding-window attention: a query at position p of a local layer sees
	// the keys of positions p-SlidingWindow+1 .. p. Local layers also have
	// their own RoPE base and scale (Gemma 3).
	SlidingWindow  int
	LocalLayers    []bool // per layer
	RopeBaseLocal  float32
	RopeScaleLocal float32

	// LongRoPE (Phi-3): the short or long per-frequency factors are chosen
	// by SeqLen against RopeOrigCtx, and RoPE multiplies the rotated q and k
	// by RopeAttnFactor (so their scores by its square).
	RopeOrigCtx    int     // rope.scaling.original_context_length
	RopeAttnFactor float32 // rope.scaling.attn_factor

	// Mixture of experts (Qwen3-MoE): every layer's MLP is ExpertsUsed of
	// Experts MLPs of width ExpertHiddenDim, picked per token by a router.
	Experts, ExpertsUsed, ExpertHiddenDim int
}

// Weights are the model's matrices, still in their file encoding; each row
// is dequantized when it is used. Shapes are [rows][cols]: a matrix row is one
// output element's weights.
type Weights struct {
	TokenEmbd  *model.Tensor // [vocab][dim]
	RopeFreqs  *model.Tensor // [rope_dim/2] per-frequency divisors (Llama 3), or nil
	RopeLong   *model.Tensor // [rope_dim/2] LongRoPE divisors past RopeOrigCtx (Phi-3), or nil
	RopeShort  *model.Tensor // [rope_dim/2] LongRoPE divisors up to RopeOrigCtx, or nil
	OutputNorm *model.Tensor // [dim]
	Output     *model.Tensor // [vocab][dim]; the same tensor as TokenEmbd when tied
	Layers     []Layer
}

// Layer holds one transformer block's weights. Fused matrices are bound as
// row ranges of the file's tensor, so every family fills the same fields.
type Layer struct {
	AttnNorm     *model.Tensor // [dim]
	Wq           *model.Tensor // [n_heads*head_dim][dim]
	Wk           *model.Tensor // [n_kv_heads*head_dim][dim]
	Wv           *model.Tensor // [n_kv_heads*head_dim][dim]
	Bq           *model.Tensor // [n_heads*head_dim] or nil (Qwen2 has q/k/v biases)
	Bk           *model.Tensor // [n_kv_heads*head_dim] or nil
	Bv           *model.Tensor // [n_kv_heads*head_dim] or nil
	QNorm        *model.Tensor // [head_dim] when QKNorm
	KNorm        *model.Tensor // [head_dim] when QKNorm
	Wo           *model.Tensor // [dim][n_heads*head_dim]
	Bo           *model.Tensor // [dim] or nil
	PostAttnNorm *model.Tensor // [dim] when PostNorms
	FFNNorm      *model.Tensor // [dim]
	MLP                        // the dense MLP, unless Router is set
	PostFFNNorm  *model.Tensor // [dim] when PostNorms
	Router       *model.Tensor // [experts][dim] when Experts > 0
	Experts      []MLP         // [experts], of width ExpertHiddenDim
}

// MLP is one gated feed-forward network: W2 · (act(W1·x) * W3·x).
type MLP struct {
	W1 *model.Tensor // [hidden][dim]  ffn_gate
	W3 *model.Tensor // [hidden][dim]  ffn_up
	W2 *model.Tensor // [dim][hidden]  ffn_down
}

// RunState is the scratch memory of a forward pass, allocated once.
type RunState struct {
	x         []float32   // [dim] activation at the current position
	xb        []float32   // [dim] normalized activation
	xb2       []float32   // [dim]
	moe       []float32   // [dim] sum of the chosen experts' outputs
	q         []float32   // [n_heads*head_dim]
	k, v      []float32   // [n_kv_heads*head_dim]
	att       []float32   // [seq] attention scores of one head
	atto      []float32   // [n_heads*head_dim] attention output
	hb        []float32   // [hidden]
	hb2       []float32   // [hidden]
	router    []float32   // [experts] router probabilities
	factors   []float32   // [rope_dim/2] RoPE frequency divisors, or nil
	factorBuf []float32   // [rope_dim/2] where factors are dequantized
	row       []float32   // one dequantized weight row (the widest)
	logits    []float32   // [vocab]
	keys      [][]float32 // [layer][pos*kv_dim]: grows by one position per step
	values    [][]float32 // [layer][pos*kv_dim]
}

// Transformer is a loaded model with its run state.
type Transformer struct {
	Config  Config
	Weights Weights
	state   RunState
	pos     int // next position to be filled
}

// New binds the weights of a GGUF file of one of the supported families.
// The returned Transformer reads the file's mapping; keep f open while
// using it.
func New(f *gguf.File) (*Transformer, error) {
	mc, err := model.ReadConfig(f)
	if err != nil {
		return nil, err
	}
	if !families[mc.Arch] {
		return nil, fmt.Errorf("ref: architecture %q is not supported", mc.Arch)
	}
	c := Config{
		Arch: mc.Arch, Dim: mc.EmbeddingLength, HiddenDim: mc.FeedForwardLength, NLayers: mc.BlockCount,
		NHeads: mc.HeadCount, NKVHeads: mc.HeadCountKV, HeadDim: mc.HeadDim,
		VocabSize: mc.VocabSize, SeqLen: mc.ContextLength, NormEps: mc.RMSEpsilon,
		RopeDim: mc.RopeDim, RopeBase: mc.RopeBase, RopeScale: mc.RopeFreqScale,
		RopeNeoX: ropeNeoX[mc.Arch],
	}
	if err := familyConfig(&c, f, &mc); err != nil {
		return nil, err
	}
	w, err := bind(f, &mc, &c)
	if err != nil {
		return nil, err
	}
	return newTransformer(c, w), nil
}

// bind looks up every weight c needs, checking its shape.
func bind(f *gguf.File, mc *model.Config, c *Config) (Weights, error) {
	qd, kvd := c.NHeads*c.HeadDim, c.NKVHeads*c.HeadDim
	b := model.NewBinder(f, *mc)
	w := Weights{
		TokenEmbd:  b.Tensor("token_embd.weight", c.Dim, c.VocabSize),
		RopeFreqs:  b.Optional("rope_freqs.weight", c.RopeDim/2),
		RopeLong:   b.Optional("rope_factors_long.weight", c.RopeDim/2),
		RopeShort:  b.Optional("rope_factors_short.weight", c.RopeDim/2),
		OutputNorm: b.Tensor("output_norm.weight", c.Dim),
		Output:     b.Optional("output.weight", c.Dim, c.VocabSize),
	}
	// Gemma and Gemma 2 always project with the embedding matrix, even if a
	// file carries an output matrix.
	if w.Output == nil || c.Arch == "gemma" || c.Arch == "gemma2" {
		w.Output = w.TokenEmbd
	}
	bias := b.Optional
	if c.Arch == "qwen2" {
		bias = b.Tensor
	}
	when := func(on bool, name string, shape ...int) *model.Tensor {
		if !on {
			return nil
		}
		return b.Tensor(name, shape...)
	}
	for l := range c.NLayers {
		n := func(s string) string { return model.BlockName(l, s) }
		lw := Layer{
			AttnNorm:     b.Tensor(n("attn_norm.weight"), c.Dim),
			QNorm:        when(c.QKNorm, n("attn_q_norm.weight"), c.HeadDim),
			KNorm:        when(c.QKNorm, n("attn_k_norm.weight"), c.HeadDim),
			Wo:           b.Tensor(n("attn_output.weight"), qd, c.Dim),
			Bo:           b.Optional(n("attn_output.bias"), c.Dim),
			PostAttnNorm: when(c.PostNorms, n("post_attention_norm.weight"), c.Dim),
			FFNNorm:      b.Tensor(n("ffn_norm.weight"), c.Dim),
			PostFFNNorm:  when(c.PostNorms, n("post_ffw_norm.weight"), c.Dim),
		}
		if c.FusedQKV {
			qkv := b.Tensor(n("attn_qkv.weight"), c.Dim, qd+2*kvd)
			lw.Wq, lw.Wk, lw.Wv = rows(qkv, 0, qd), rows(qkv, qd, kvd), rows(qkv, qd+kvd, kvd)
		} else {
			lw.Wq = b.Tensor(n("attn_q.weight"), c.Dim, qd)
			lw.Wk = b.Tensor(n("attn_k.weight"), c.Dim, kvd)
			lw.Wv = b.Tensor(n("attn_v.weight"), c.Dim, kvd)
			lw.Bq, lw.Bk, lw.Bv = bias(n("attn_q.bias"), qd), bias(n("attn_k.bias"), kvd), bias(n("attn_v.bias"), kvd)
		}
		switch {
		case c.Experts > 0:
			e, h := c.Experts, c.ExpertHiddenDim
			lw.Router = b.Tensor(n("ffn_gate_inp.weight"), c.Dim, e)
			gate := b.Tensor(n("ffn_gate_exps.weight"), c.Dim, h, e)
			up := b.Tensor(n("ffn_up_exps.weight"), c.Dim, h, e)
			down := b.Tensor(n("ffn_down_exps.weight"), h, c.Dim, e)
			for i := range e {
				lw.Experts = append(lw.Experts, MLP{W1: rows(gate, i*h, h), W3: rows(up, i*h, h), W2: rows(down, i*c.Dim, c.Dim)})
			}
		case c.FusedGateUp:
			gateUp := b.Tensor(n("ffn_up.weight"), c.Dim, 2*c.HiddenDim)
			lw.W1, lw.W3 = rows(gateUp, 0, c.HiddenDim), rows(gateUp, c.HiddenDim, c.HiddenDim)
			lw.W2 = b.Tensor(n("ffn_down.weight"), c.HiddenDim, c.Dim)
		default:
			lw.W1 = b.Tensor(n("ffn_gate.weight"), c.Dim, c.HiddenDim)
			lw.W3 = b.Tensor(n("ffn_up.weight"), c.Dim, c.HiddenDim)
			lw.W2 = b.Tensor(n("ffn_down.weight"), c.HiddenDim, c.Dim)
		}
		w.Layers = append(w.Layers, lw)
	}
	return w, b.Err()
}

// rows is the matrix of rows [from, from+n) of t (nil when t is), sharing
// its bytes.
func rows(t *model.Tensor, from, n int) *model.Tensor {
	if t == nil {
		return nil
	}
	rb := t.RowBytes()
	return &model.Tensor{
		Name: fmt.Sprintf("%s[%d:%d]", t.Name, from, from+n), Type: t.Type,
		Shape: []int{t.Cols(), n}, Data: t.Data[from*rb : (from+n)*rb],
	}
}

// newTransformer allocates the run state for c.
func newTransformer(c Config, w Weights) *Transformer {
	qd, kvd := c.NHeads*c.HeadDim, c.NKVHeads*c.HeadDim
	hidden := max(c.HiddenDim, c.ExpertHiddenDim)
	t := &Transformer{Config: c, Weights: w}
	s := &t.state
	s.x, s.xb, s.xb2, s.moe = make([]float32, c.Dim), make([]float32, c.Dim), make([]float32, c.Dim), make([]float32, c.Dim)
	s.q, s.atto = make([]float32, qd), make([]float32, qd)
	s.k, s.v = make([]float32, kvd), make([]float32, kvd)
	s.hb, s.hb2 = make([]float32, hidden), make([]float32, hidden)
	s.router = make([]float32, c.Experts)
	s.factorBuf = make([]float32, c.RopeDim/2)
	s.row = make([]float32, max(c.Dim, hidden, qd, c.RopeDim))
	s.logits = make([]float32, c.VocabSize)
	s.keys, s.values = make([][]float32, c.NLayers), make([][]float32, c.NLayers)
	return t
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
	if err := t.loadRopeFactors(); err != nil {
		return nil, err
	}

	// The token's embedding is the residual stream's starting point.
	if err := rowOf(w.TokenEmbd, int(token), s.x); err != nil {
		return nil, err
	}
	for i := range s.x {
		s.x[i] *= c.EmbedScale
	}

	for l := range c.NLayers {
		lw := &w.Layers[l]
		local := l < len(c.LocalLayers) && c.LocalLayers[l] // sliding window, local RoPE

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
		for _, m := range []struct {
			heads []float32
			norm  *model.Tensor
		}{{s.q, lw.QNorm}, {s.k, lw.KNorm}} {
			for h := 0; h < len(m.heads); h += hd {
				head := m.heads[h : h+hd]
				if m.norm != nil {
					if err := rmsnorm(head, head, m.norm, c.NormEps, s.row); err != nil {
						return nil, err
					}
				}
				t.rope(head, pos, local)
			}
		}
		s.keys[l] = append(s.keys[l], s.k...)
		s.values[l] = append(s.values[l], s.v...)

		first := 0 // the oldest position this layer's query sees
		if local && c.SlidingWindow > 0 {
			first = max(0, pos-c.SlidingWindow+1)
		}
		att := s.att[:0]
		for h := range c.NHeads {
			q := s.q[h*hd : (h+1)*hd]
			kvh := h / kvMul // grouped-query attention: this head's key/value head
			att = att[:0]
			for p := first; p <= pos; p++ {
				k := s.keys[l][(p*c.NKVHeads+kvh)*hd:][:hd]
				score := dot(q, k) * float64(c.AttnScale)
				if c.AttnSoftcap != 0 {
					score = softcap(score, c.AttnSoftcap)
				}
				att = append(att, float32(score))
			}
			softmax(att)
			out := s.atto[h*hd : (h+1)*hd]
			clear(out)
			for i, a := range att {
				v := s.values[l][((first+i)*c.NKVHeads+kvh)*hd:][:hd]
				for j := range out {
					out[j] += a * v[j]
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
		if err := t.residual(s.xb2, lw.PostAttnNorm); err != nil {
			return nil, err
		}

		// Feed-forward: x += MLP(norm(x)), or the router-weighted sum of
		// the chosen experts' MLPs.
		if err := rmsnorm(s.xb, s.x, lw.FFNNorm, c.NormEps, s.row); err != nil {
			return nil, err
		}
		var err error
		if lw.Router != nil {
			err = t.moe(s.xb2, s.xb, lw)
		} else {
			err = t.mlp(s.xb2, s.xb, &lw.MLP)
		}
		if err != nil {
			return nil, err
		}
		if err := t.residual(s.xb2, lw.PostFFNNorm); err != nil {
			return nil, err
		}
	}

	// Final norm and the classifier into logits.
	if err := rmsnorm(s.x, s.x, w.OutputNorm, c.NormEps, s.row); err != nil {
		return nil, err
	}
	if err := matmul(s.logits, s.x, w.Output, s.row); err != nil {
		return nil, err
	}
	if c.FinalSoftcap != 0 {
		for i, v := range s.logits {
			s.logits[i] = float32(softcap(float64(v), c.FinalSoftcap))
		}
	}
	t.pos++
	return s.logits, nil
}

// residual adds a block's output y to the residual stream, normalized
// first when the family has a post-norm (postNorm non-nil).
func (t *Transformer) residual(y []float32, postNorm *model.Tensor) error {
	s := &t.state
	if postNorm != nil {
		if err := rmsnorm(y, y, postNorm, t.Config.NormEps, s.row); err != nil {
			return err
		}
	}
	for i := range s.x {
		s.x[i] += y[i]
	}
	return nil
}

// mlp computes out = W2 · (act(W1·x) * W3·x), act being SiLU or GELU.
func (t *Transformer) mlp(out, x []float32, m *MLP) error {
	s := &t.state
	n := m.W1.Rows()
	gate, up := s.hb[:n], s.hb2[:n]
	if err := matmul(gate, x, m.W1, s.row); err != nil {
		return err
	}
	if err := matmul(up, x, m.W3, s.row); err != nil {
		return err
	}
	for i, g := range gate {
		if t.Config.GELUGate {
			gate[i] = gelu(g) * up[i]
		} else {
			gate[i] = g / (1 + float32(math.Exp(float64(-g)))) * up[i]
		}
	}
	return matmul(out, gate, m.W2, s.row)
}

// moe routes x to the ExpertsUsed experts of highest router probability
// (softmax over all experts) and sums their MLP outputs weighted by those
// probabilities renormalized to sum 1.
func (t *Transformer) moe(out, x []float32, lw *Layer) error {
	c, s := &t.Config, &t.state
	if err := matmul(s.router, x, lw.Router, s.row); err != nil {
		return err
	}
	softmax(s.router)
	chosen := make([]int, 0, c.ExpertsUsed)
	var total float64
	for range c.ExpertsUsed {
		best := -1
		for e, p := range s.router {
			if !slices.Contains(chosen, e) && (best < 0 || p > s.router[best]) {
				best = e
			}
		}
		chosen = append(chosen, best)
		total += float64(s.router[best])
	}
	clear(s.moe)
	for _, e := range chosen {
		if err := t.mlp(out, x, &lw.Experts[e]); err != nil {
			return err
		}
		weight := float32(float64(s.router[e]) / total)
		for i, v := range out {
			s.moe[i] += weight * v
		}
	}
	copy(out, s.moe)
	return nil
}

// loadRopeFactors dequantizes the per-frequency divisors RoPE uses, if any:
// Llama 3's rope_freqs, else (LongRoPE) the long factors when the context is
// longer than the one the model was trained for, the short ones otherwise.
func (t *Transformer) loadRopeFactors() error {
	c, w, s := &t.Config, &t.Weights, &t.state
	f := w.RopeFreqs
	if f == nil {
		f = w.RopeShort
		if c.SeqLen > c.RopeOrigCtx {
			f = w.RopeLong
		}
	}
	if f == nil {
		s.factors = nil
		return nil
	}
	s.factors = s.factorBuf
	if err := quant.Dequantize(f.Type, f.Data, s.factors); err != nil {
		return fmt.Errorf("ref: %s: %w", f.Name, err)
	}
	return nil
}

// rope rotates the leading RopeDim elements of one head by angles that grow
// with pos: pair i turns by pos * scale * base^(-2i/RopeDim) / factor[i].
// The rotated elements are also multiplied by RopeAttnFactor. Local
// (sliding-window) layers use their own base and scale.
func (t *Transformer) rope(head []float32, pos int, local bool) {
	c := &t.Config
	base, scale := c.RopeBase, c.RopeScale
	if local {
		base, scale = c.RopeBaseLocal, c.RopeScaleLocal
	}
	half := c.RopeDim / 2
	m := float64(c.RopeAttnFactor)
	for i := range half {
		theta := float64(scale) * float64(pos) * math.Pow(float64(base), -2*float64(i)/float64(c.RopeDim))
		if t.state.factors != nil {
			theta /= float64(t.state.factors[i])
		}
		sin, cos := math.Sincos(theta)
		a, b := 2*i, 2*i+1 // adjacent pairs
		if c.RopeNeoX {
			a, b = i, i+half // the two halves
		}
		x0, x1 := float64(head[a]), float64(head[b])
		head[a] = float32(m * (x0*cos - x1*sin))
		head[b] = float32(m * (x0*sin + x1*cos))
	}
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

// softcap squashes x smoothly into (-c, c).
func softcap(x float64, c float32) float64 {
	return float64(c) * math.Tanh(x/float64(c))
}

// gelu is GELU in its tanh approximation, computed in float32.
func gelu(x float32) float32 {
	const sqrt2OverPi = 0.7978845608028654
	return 0.5 * x * (1 + float32(math.Tanh(float64(sqrt2OverPi*x*(1+0.044715*x*x)))))
}
