// Package synth writes random-weight GGUF models of real shapes (Llama 3.2
// 1B, Qwen2.5 0.5B, Qwen3 0.6B, Qwen3-30B-A3B, Gemma 2 2B, Gemma 3 1B,
// Phi-3.5 mini, Phi-4-mini, and tiny ones of each family for tests) in any
// weight type the quant package can produce, with a working
// SentencePiece-style vocabulary of the right size. Each file has the
// tensors and metadata keys llama.cpp's converter writes for its
// architecture. They exercise the engine, the memory budget and the
// benchmarks without downloading anything; their output is gibberish.
//
// A Plan lists the metadata and tensors before anything is written, so tests
// can break it on purpose (drop a tensor, change a key) to check validation.
package synth

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/quant"
)

// Shape is the architecture of a synthetic model.
type Shape struct {
	Name     string
	Arch     string // general.architecture: llama, qwen2, qwen3, qwen3moe, gemma2, gemma3, phi3
	Embd     int
	Layers   int
	Heads    int
	KVHeads  int
	HeadDim  int // per-head size; 0 = Embd/Heads (Gemma and Qwen3 differ)
	FF       int
	Vocab    int
	Context  int
	RopeBase float32
	Eps      float32
	Tied     bool // no output.weight: the embedding doubles as the classifier
	QKVBias  bool // q/k/v biases (qwen2)
	Llama3   bool // rope_freqs.weight with Llama 3's long-context factors
	QKNorm   bool // per-head RMS norms of q and k: attn_q_norm, attn_k_norm (qwen3, gemma3)
	// PostNorms adds post_attention_norm and post_ffw_norm (gemma2, gemma3).
	PostNorms bool
	// Fused stores q, k and v as one attn_qkv, and the gate and up
	// projections as one ffn_up of 2*FF rows (phi3).
	Fused bool
	// RopeDims is rope.dimension_count where only part of a head rotates
	// (Phi-4-mini); 0 = the whole head.
	RopeDims int
	// Mixture of experts (qwen3moe): Experts of ExpertFF rows, ExpertsUsed
	// per token, chosen by ffn_gate_inp.
	Experts, ExpertsUsed, ExpertFF int
	SlidingWindow                  int     // attention.sliding_window (gemma2, gemma3, phi3)
	AttnSoftcap, FinalSoftcap      float32 // logit soft-capping (gemma2)
	// OrigContext is rope.scaling.original_context_length (phi3); with
	// LongRope the file has rope_factors_long/short and the attention factor.
	OrigContext int
	LongRope    bool
}

// headDim is the per-head size.
func (s Shape) headDim() int {
	if s.HeadDim > 0 {
		return s.HeadDim
	}
	return s.Embd / s.Heads
}

// ropeDims is the number of rotated dimensions of a head.
func (s Shape) ropeDims() int {
	if s.RopeDims > 0 {
		return s.RopeDims
	}
	return s.headDim()
}

// Shapes are the named shapes.
var Shapes = []Shape{
	{Name: "tiny", Arch: "llama", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, FF: 128, Vocab: 384,
		Context: 512, RopeBase: 10000, Eps: 1e-5},
	{Name: "tiny-qwen2", Arch: "qwen2", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, FF: 128, Vocab: 384,
		Context: 512, RopeBase: 1e6, Eps: 1e-6, Tied: true, QKVBias: true},
	{Name: "llama-1b", Arch: "llama", Embd: 2048, Layers: 16, Heads: 32, KVHeads: 8, FF: 8192, Vocab: 128256,
		Context: 131072, RopeBase: 500000, Eps: 1e-5, Tied: true, Llama3: true},
	{Name: "qwen2-0.5b", Arch: "qwen2", Embd: 896, Layers: 24, Heads: 14, KVHeads: 2, FF: 4864, Vocab: 151936,
		Context: 32768, RopeBase: 1e6, Eps: 1e-6, Tied: true, QKVBias: true},

	// Small ones of each newer family, for tests: head sizes other than
	// Embd/Heads, a few experts, a short window.
	{Name: "tiny-qwen3", Arch: "qwen3", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 32, FF: 128, Vocab: 384,
		Context: 512, RopeBase: 1e6, Eps: 1e-6, Tied: true, QKNorm: true},
	{Name: "tiny-qwen3moe", Arch: "qwen3moe", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 32, FF: 192, Vocab: 384,
		Context: 512, RopeBase: 1e6, Eps: 1e-6, QKNorm: true, Experts: 8, ExpertsUsed: 2, ExpertFF: 32},
	{Name: "tiny-gemma2", Arch: "gemma2", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 32, FF: 128, Vocab: 384,
		Context: 512, RopeBase: 10000, Eps: 1e-6, Tied: true, PostNorms: true, SlidingWindow: 16, AttnSoftcap: 50, FinalSoftcap: 30},
	{Name: "tiny-gemma3", Arch: "gemma3", Embd: 64, Layers: 7, Heads: 4, KVHeads: 1, HeadDim: 32, FF: 128, Vocab: 384,
		Context: 512, RopeBase: 1e6, Eps: 1e-6, Tied: true, QKNorm: true, PostNorms: true, SlidingWindow: 16},
	{Name: "tiny-phi3", Arch: "phi3", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, FF: 128, Vocab: 384,
		Context: 512, OrigContext: 128, RopeBase: 10000, Eps: 1e-5, Fused: true, RopeDims: 12, SlidingWindow: 512, LongRope: true},

	// Real shapes of the newer families (from their config.json files).
	{Name: "qwen3-0.6b", Arch: "qwen3", Embd: 1024, Layers: 28, Heads: 16, KVHeads: 8, HeadDim: 128, FF: 3072, Vocab: 151936,
		Context: 40960, RopeBase: 1e6, Eps: 1e-6, Tied: true, QKNorm: true},
	{Name: "qwen3moe-30b-a3b", Arch: "qwen3moe", Embd: 2048, Layers: 48, Heads: 32, KVHeads: 4, HeadDim: 128, FF: 6144, Vocab: 151936,
		Context: 40960, RopeBase: 1e6, Eps: 1e-6, QKNorm: true, Experts: 128, ExpertsUsed: 8, ExpertFF: 768},
	// The dense model a token of qwen3moe-30b-a3b costs: its 8 experts of
	// 768 as one MLP of 6144, for comparing decode speed at equal active
	// bytes.
	{Name: "qwen3-a3b-dense", Arch: "qwen3", Embd: 2048, Layers: 48, Heads: 32, KVHeads: 4, HeadDim: 128, FF: 6144, Vocab: 151936,
		Context: 40960, RopeBase: 1e6, Eps: 1e-6, QKNorm: true},
	{Name: "gemma2-2b", Arch: "gemma2", Embd: 2304, Layers: 26, Heads: 8, KVHeads: 4, HeadDim: 256, FF: 9216, Vocab: 256000,
		Context: 8192, RopeBase: 10000, Eps: 1e-6, Tied: true, PostNorms: true, SlidingWindow: 4096, AttnSoftcap: 50, FinalSoftcap: 30},
	{Name: "gemma3-1b", Arch: "gemma3", Embd: 1152, Layers: 26, Heads: 4, KVHeads: 1, HeadDim: 256, FF: 6912, Vocab: 262144,
		Context: 32768, RopeBase: 1e6, Eps: 1e-6, Tied: true, QKNorm: true, PostNorms: true, SlidingWindow: 512},
	{Name: "phi3.5-mini", Arch: "phi3", Embd: 3072, Layers: 32, Heads: 32, KVHeads: 32, FF: 8192, Vocab: 32064,
		Context: 131072, OrigContext: 4096, RopeBase: 10000, Eps: 1e-5, Fused: true, SlidingWindow: 262144, LongRope: true},
	{Name: "phi4-mini", Arch: "phi3", Embd: 3072, Layers: 32, Heads: 24, KVHeads: 8, FF: 8192, Vocab: 200064,
		Context: 131072, OrigContext: 4096, RopeBase: 10000, Eps: 1e-5, Tied: true, Fused: true, RopeDims: 96,
		SlidingWindow: 262144, LongRope: true},
}

// ShapeByName finds a named shape.
func ShapeByName(name string) (Shape, bool) {
	for _, s := range Shapes {
		if s.Name == name {
			return s, true
		}
	}
	return Shape{}, false
}

// ShapeNames lists the shape names.
func ShapeNames() []string {
	var n []string
	for _, s := range Shapes {
		n = append(n, s.Name)
	}
	return n
}

// KV is one metadata entry of a plan.
type KV struct {
	Key   string
	Value any
}

// Tensor is one planned tensor: its data is generated when written.
type Tensor struct {
	Name  string
	Type  quant.Type
	Dims  []uint64 // ggml order
	kind  kind
	fanIn int
}

type kind int

const (
	matrix    kind = iota // uniform with variance 1/fan_in
	norm                  // 1 + small noise
	bias                  // small noise
	ropeFreqs             // Llama 3 factors
	ropeLong              // LongRoPE factors past the original context (phi3)
	ropeShort             // LongRoPE factors within it
)

// Plan is a model about to be written.
type Plan struct {
	Shape   Shape
	KV      []KV
	Tensors []Tensor
}

// Mixes are the weight-type names accepted besides plain types: llama.cpp's
// Q4_K_M recipe, simplified (attn_v, ffn_down, the experts' ffn_down_exps
// and the embedding in Q6_K, a fused attn_qkv in Q5_K, the rest Q4_K;
// routers and norms stay F32).
var Mixes = []string{"Q4_K_M"}

// NewPlan plans a model of shape s whose matrices have the named type (a
// quant type name such as "Q4_0", or a mix such as "Q4_K_M"). Matrices whose
// rows do not fit the type's blocks fall back to Q8_0, then F16.
func NewPlan(s Shape, typeName string) (*Plan, error) {
	pick, err := typePicker(typeName)
	if err != nil {
		return nil, err
	}
	ftype, err := fileType(typeName)
	if err != nil {
		return nil, err
	}
	p := &Plan{Shape: s}
	hd := s.headDim()
	p.KV, err = archKVs(s, typeName, ftype)
	if err != nil {
		return nil, err
	}
	p.KV = append(p.KV, vocabKVs(s.Vocab)...)

	// mat adds a weight matrix (or a stack of them: the experts) of rows of
	// cols, in ggml order {cols, rows, ...}.
	mat := func(name string, cols int, rest ...int) {
		t := fitType(pick(name), cols)
		dims := []uint64{uint64(cols)}
		for _, d := range rest {
			dims = append(dims, uint64(d))
		}
		p.Tensors = append(p.Tensors, Tensor{Name: name, Type: t, Dims: dims, kind: matrix, fanIn: cols})
	}
	// f32 adds a matrix llama.cpp never quantizes (the expert router).
	f32 := func(name string, cols, rows int) {
		p.Tensors = append(p.Tensors, Tensor{Name: name, Type: quant.F32, Dims: []uint64{uint64(cols), uint64(rows)}, kind: matrix, fanIn: cols})
	}
	vec := func(name string, n int, k kind) {
		p.Tensors = append(p.Tensors, Tensor{Name: name, Type: quant.F32, Dims: []uint64{uint64(n)}, kind: k})
	}
	mat("token_embd.weight", s.Embd, s.Vocab)
	vec("output_norm.weight", s.Embd, norm)
	if !s.Tied {
		mat("output.weight", s.Embd, s.Vocab)
	}
	if s.Llama3 {
		vec("rope_freqs.weight", hd/2, ropeFreqs)
	}
	if s.LongRope {
		vec("rope_factors_long.weight", s.ropeDims()/2, ropeLong)
		vec("rope_factors_short.weight", s.ropeDims()/2, ropeShort)
	}
	qd, kvd := s.Heads*hd, s.KVHeads*hd
	for l := range s.Layers {
		n := func(x string) string { return model.BlockName(l, x) }
		vec(n("attn_norm.weight"), s.Embd, norm)
		if s.Fused {
			mat(n("attn_qkv.weight"), s.Embd, qd+2*kvd)
		} else {
			mat(n("attn_q.weight"), s.Embd, qd)
			mat(n("attn_k.weight"), s.Embd, kvd)
			mat(n("attn_v.weight"), s.Embd, kvd)
		}
		if s.QKVBias {
			vec(n("attn_q.bias"), qd, bias)
			vec(n("attn_k.bias"), kvd, bias)
			vec(n("attn_v.bias"), kvd, bias)
		}
		if s.QKNorm {
			vec(n("attn_q_norm.weight"), hd, norm)
			vec(n("attn_k_norm.weight"), hd, norm)
		}
		mat(n("attn_output.weight"), qd, s.Embd)
		if s.PostNorms {
			vec(n("post_attention_norm.weight"), s.Embd, norm)
		}
		vec(n("ffn_norm.weight"), s.Embd, norm)
		switch {
		case s.Experts > 0:
			f32(n("ffn_gate_inp.weight"), s.Embd, s.Experts)
			mat(n("ffn_gate_exps.weight"), s.Embd, s.ExpertFF, s.Experts)
			mat(n("ffn_up_exps.weight"), s.Embd, s.ExpertFF, s.Experts)
			mat(n("ffn_down_exps.weight"), s.ExpertFF, s.Embd, s.Experts)
		case s.Fused:
			mat(n("ffn_up.weight"), s.Embd, 2*s.FF)
			mat(n("ffn_down.weight"), s.FF, s.Embd)
		default:
			mat(n("ffn_gate.weight"), s.Embd, s.FF)
			mat(n("ffn_up.weight"), s.Embd, s.FF)
			mat(n("ffn_down.weight"), s.FF, s.Embd)
		}
		if s.PostNorms {
			vec(n("post_ffw_norm.weight"), s.Embd, norm)
		}
	}
	return p, nil
}

// archKVs are the hyper-parameter keys llama.cpp's converter writes for the
// shape's architecture, with the values types it writes them in.
func archKVs(s Shape, typeName string, ftype uint32) ([]KV, error) {
	a := s.Arch
	kv := []KV{
		{"general.architecture", a},
		{"general.name", "synthetic " + s.Name + " " + typeName},
		{"general.file_type", ftype},
		{a + ".context_length", uint32(s.Context)},
		{a + ".embedding_length", uint32(s.Embd)},
		{a + ".block_count", uint32(s.Layers)},
		{a + ".feed_forward_length", uint32(s.FF)},
		{a + ".attention.head_count", uint32(s.Heads)},
		{a + ".attention.head_count_kv", uint32(s.KVHeads)},
	}
	add := func(key string, v any) { kv = append(kv, KV{a + "." + key, v}) }
	eps := func() { add("attention.layer_norm_rms_epsilon", s.Eps) }
	headSize := func() {
		add("attention.key_length", uint32(s.headDim()))
		add("attention.value_length", uint32(s.headDim()))
	}
	switch a {
	case "llama", "qwen2":
		add("rope.freq_base", s.RopeBase)
		add("rope.dimension_count", uint32(s.ropeDims()))
		eps()
	case "qwen3", "qwen3moe":
		// head_dim is in their config.json, so the converter writes it.
		add("rope.freq_base", s.RopeBase)
		eps()
		if a == "qwen3moe" {
			add("expert_count", uint32(s.Experts))
			add("expert_used_count", uint32(s.ExpertsUsed))
		}
		headSize()
		if a == "qwen3moe" {
			add("expert_feed_forward_length", uint32(s.ExpertFF))
		}
	case "gemma2":
		// No RoPE base: llama.cpp uses its default, 10000.
		eps()
		headSize()
		add("attn_logit_softcapping", s.AttnSoftcap)
		add("final_logit_softcapping", s.FinalSoftcap)
		add("attention.sliding_window", uint32(s.SlidingWindow))
	case "gemma3":
		// The base of the global layers only: llama.cpp fixes the local
		// (sliding-window) layers' base at 10000 and their pattern at
		// five local layers to one global.
		eps()
		headSize()
		add("rope.freq_base", s.RopeBase)
		add("attention.sliding_window", uint32(s.SlidingWindow))
	case "phi3":
		add("rope.scaling.original_context_length", uint32(s.OrigContext))
		eps()
		add("rope.dimension_count", uint32(s.ropeDims()))
		add("rope.freq_base", s.RopeBase)
		add("attention.sliding_window", uint32(s.SlidingWindow))
		if s.LongRope {
			add("rope.scaling.attn_factor", longRopeAttnFactor(s.Context, s.OrigContext))
		}
	default:
		return nil, fmt.Errorf("synth: no metadata recipe for architecture %q", a)
	}
	return kv, nil
}

// longRopeAttnFactor is the attention scaling of LongRoPE that the
// converter writes: sqrt(1 + ln(scale)/ln(original context)).
func longRopeAttnFactor(ctx, orig int) float32 {
	scale := float64(ctx) / float64(orig)
	if scale <= 1 {
		return 1
	}
	return float32(math.Sqrt(1 + math.Log(scale)/math.Log(float64(orig))))
}

// typePicker maps a weight-type name to a per-tensor type choice.
func typePicker(name string) (func(tensor string) quant.Type, error) {
	if name == "Q4_K_M" {
		for _, t := range []quant.Type{quant.Q4_K, quant.Q6_K} {
			if !quant.CanQuantize(t) {
				return nil, fmt.Errorf("synth: %s needs %s, which cannot be quantized yet", name, t)
			}
		}
		qkv := quant.Q4_K
		if quant.CanQuantize(quant.Q5_K) {
			qkv = quant.Q5_K
		}
		return func(tensor string) quant.Type {
			switch {
			case strings.HasSuffix(tensor, "attn_v.weight") || strings.HasSuffix(tensor, "ffn_down.weight") ||
				strings.HasSuffix(tensor, "ffn_down_exps.weight") || tensor == "token_embd.weight" || tensor == "output.weight":
				return quant.Q6_K
			case strings.HasSuffix(tensor, "attn_qkv.weight"):
				return qkv
			}
			return quant.Q4_K
		}, nil
	}
	t, ok := quant.ParseType(name)
	if !ok {
		return nil, fmt.Errorf("synth: unknown type %q", name)
	}
	if !quant.CanQuantize(t) || t == quant.Q8_1 || t == quant.Q8_K {
		return nil, fmt.Errorf("synth: cannot write %s weights", t)
	}
	return func(string) quant.Type { return t }, nil
}

// fileType is the general.file_type llama.cpp would write for weights of
// the named type; a plain K-quant is labelled as its small (_S) mix, whose
// matrices all have that type. Like llama.cpp, the label names the type
// asked for even where some rows fall back to another type.
func fileType(typeName string) (uint32, error) {
	label := typeName
	switch typeName {
	case "Q3_K", "Q4_K", "Q5_K":
		label += "_S"
	}
	id, ok := gguf.FileTypeID(label)
	if !ok {
		return 0, fmt.Errorf("synth: no GGUF file type for %s weights", typeName)
	}
	return uint32(id), nil
}

// fitType falls back to a type whose blocks divide the row length.
func fitType(t quant.Type, cols int) quant.Type {
	for _, c := range []quant.Type{t, quant.Q8_0, quant.F16} {
		if cols%c.BlockSize() == 0 && quant.CanQuantize(c) {
			return c
		}
	}
	return quant.F32
}

// Set adds or replaces a metadata key.
func (p *Plan) Set(key string, v any) {
	for i := range p.KV {
		if p.KV[i].Key == key {
			p.KV[i].Value = v
			return
		}
	}
	p.KV = append(p.KV, KV{key, v})
}

// Delete removes a metadata key.
func (p *Plan) Delete(key string) {
	p.KV = slices.DeleteFunc(p.KV, func(kv KV) bool { return kv.Key == key })
}

// Remove drops a tensor.
func (p *Plan) Remove(name string) {
	p.Tensors = slices.DeleteFunc(p.Tensors, func(t Tensor) bool { return t.Name == name })
}

// Tensor returns the planned tensor name, or nil.
func (p *Plan) Tensor(name string) *Tensor {
	for i := range p.Tensors {
		if p.Tensors[i].Name == name {
			return &p.Tensors[i]
		}
	}
	return nil
}

// Writer turns the plan into an in-memory gguf Writer, weights drawn from
// seed: for small models (tests). WriteFile streams big ones.
func (p *Plan) Writer(seed uint64) (*gguf.Writer, error) {
	w := gguf.NewWriter()
	for _, kv := range p.KV {
		if err := w.SetKV(kv.Key, kv.Value); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	for i, t := range p.Tensors {
		gen := generator{t: t, seed: seed + uint64(i)*0x9e3779b97f4a7c15, shape: p.Shape}
		data, err := gen.bytes()
		if err == nil {
			err = w.AddTensor(t.Name, t.Type, t.Dims, data)
		}
		if err != nil {
			return nil, fmt.Errorf("synth: %s: %w", t.Name, err)
		}
	}
	return w, nil
}

// Bytes returns the whole file in memory (small models, tests).
func (p *Plan) Bytes(seed uint64) ([]byte, error) {
	w, err := p.Writer(seed)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes the model to path without holding its weights in
// memory: the header and zero-filled tensors are written first (the zeros
// come from one untouched allocation, which costs no resident memory), then
// each tensor is generated a batch of rows at a time into its place.
func (p *Plan) WriteFile(path string, seed uint64) error {
	if err := p.writeFile(path, seed); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func (p *Plan) writeFile(path string, seed uint64) error {
	w := gguf.NewWriter()
	for _, kv := range p.KV {
		if err := w.SetKV(kv.Key, kv.Value); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	sizes := make([]int64, len(p.Tensors))
	var largest int64
	for i, t := range p.Tensors {
		cols, rows := generator{t: t}.rows()
		rowBytes, err := t.Type.RowSize(int64(cols))
		if err != nil {
			return fmt.Errorf("synth: %s: %w", t.Name, err)
		}
		sizes[i] = rowBytes * int64(rows)
		largest = max(largest, sizes[i])
	}
	zeros := make([]byte, largest)
	for i, t := range p.Tensors {
		if err := w.AddTensor(t.Name, t.Type, t.Dims, zeros[:sizes[i]]); err != nil {
			return fmt.Errorf("synth: %s: %w", t.Name, err)
		}
	}
	if err := w.WriteFile(path); err != nil {
		return err
	}
	zeros = nil

	// Learn where each tensor landed, then fill it in.
	layout, err := gguf.Open(path)
	if err != nil {
		return fmt.Errorf("synth: reading back %s: %w", path, err)
	}
	infos := layout.Tensors
	dataOffset := layout.DataOffset
	layout.Close()
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	for i, t := range p.Tensors {
		if infos[i].Name != t.Name {
			fh.Close()
			return fmt.Errorf("synth: tensor %d is %s in the file, %s in the plan", i, infos[i].Name, t.Name)
		}
		out := &offsetWriter{f: fh, off: dataOffset + int64(infos[i].Offset)}
		gen := generator{t: t, seed: seed + uint64(i)*0x9e3779b97f4a7c15, shape: p.Shape}
		if err := gen.write(out); err != nil {
			fh.Close()
			return fmt.Errorf("synth: %s: %w", t.Name, err)
		}
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// offsetWriter writes sequentially from a file offset.
type offsetWriter struct {
	f   *os.File
	off int64
}

func (w *offsetWriter) Write(b []byte) (int, error) {
	n, err := w.f.WriteAt(b, w.off)
	w.off += int64(n)
	return n, err
}

// generator produces one tensor's bytes, a row at a time.
type generator struct {
	t     Tensor
	seed  uint64
	shape Shape
}

func (g generator) rows() (cols, rows int) {
	cols, rows = int(g.t.Dims[0]), 1
	for _, d := range g.t.Dims[1:] {
		rows *= int(d)
	}
	return cols, rows
}

// write streams the tensor to out.
func (g generator) write(out io.Writer) error {
	return g.each(func(b []byte) error { _, err := out.Write(b); return err })
}

// bytes returns the whole tensor (small models only).
func (g generator) bytes() ([]byte, error) {
	var data []byte
	err := g.each(func(b []byte) error { data = append(data, b...); return nil })
	return data, err
}

// each encodes the tensor in batches of rows and hands each to fn.
func (g generator) each(fn func([]byte) error) error {
	cols, rows := g.rows()
	rng := rand.New(rand.NewPCG(g.seed, g.seed^0x5851f42d4c957f2d))
	const batchElems = 1 << 20
	perBatch := max(1, batchElems/cols)
	src := make([]float32, perBatch*cols)
	for r := 0; r < rows; r += perBatch {
		n := min(perBatch, rows-r)
		vals := src[:n*cols]
		g.fill(vals, r*cols, rng)
		enc, err := quant.Quantize(g.t.Type, vals)
		if err != nil {
			return err
		}
		if err := fn(enc); err != nil {
			return err
		}
	}
	return nil
}

// fill writes the values starting at element offset.
func (g generator) fill(vals []float32, offset int, rng *rand.Rand) {
	switch g.t.kind {
	case matrix:
		a := float32(math.Sqrt(3 / float64(g.t.fanIn))) // uniform(-a, a) has variance 1/fan_in
		for i := range vals {
			vals[i] = (2*rng.Float32() - 1) * a
		}
	case norm:
		for i := range vals {
			vals[i] = 1 + 0.1*(2*rng.Float32()-1)
		}
	case bias:
		for i := range vals {
			vals[i] = 0.1 * (2*rng.Float32() - 1)
		}
	case ropeFreqs:
		hd := g.shape.headDim()
		for i := range vals {
			vals[i] = llama3Factor(offset+i, hd, float64(g.shape.RopeBase))
		}
	case ropeLong, ropeShort:
		n := max(1, int(g.t.Dims[0])-1)
		for i := range vals {
			x := float64(offset+i) / float64(n)
			if g.t.kind == ropeLong {
				// Slow the long wavelengths most, as Phi's published factors do.
				vals[i] = float32(1 + 31*x*x)
			} else {
				vals[i] = float32(1 + 0.1*x)
			}
		}
	}
}

// llama3Factor is Llama 3.1's long-context divisor of frequency i: long
// wavelengths are slowed 32×, short ones kept, and the band between blended.
func llama3Factor(i, dims int, base float64) float32 {
	const factor, low, high, origCtx = 32.0, 1.0, 4.0, 8192.0
	freq := math.Pow(base, -2*float64(i)/float64(dims))
	wavelen := 2 * math.Pi / freq
	switch {
	case wavelen < origCtx/high:
		return 1
	case wavelen > origCtx/low:
		return factor
	}
	smooth := (origCtx/wavelen - low) / (high - low)
	return float32(1 / ((1-smooth)/factor + smooth))
}

// vocabKVs is a SentencePiece ("llama") vocabulary of n tokens: <unk>,
// <s>, </s>, the 256 byte tokens, then letter strings with and without the
// word-start mark, shortest first, scored so that longer pieces merge.
func vocabKVs(n int) []KV {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3}
	for b := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6)
	}
	seen := map[string]bool{}
	add := func(s string) {
		if len(tokens) < n && !seen[s] {
			seen[s] = true
			tokens = append(tokens, s)
			types = append(types, 1)
		}
	}
	const letters = "etaoinshrdlcumwfgypbvkjxqz"
	for _, c := range "▁" + letters + strings.ToUpper(letters) + "0123456789.,!?'\"-:;()" {
		add(string(c))
	}
	level := []string{""}
	for len(tokens) < n {
		var next []string
		for _, p := range level {
			for _, c := range letters {
				next = append(next, p+string(c))
			}
		}
		for _, s := range next {
			add("▁" + s)
			add(s)
		}
		level = next
	}
	tokens = tokens[:n]
	types = types[:n]
	scores := make([]float32, n)
	for i := range scores {
		scores[i] = -float32(i)
	}
	return []KV{
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.pre", "default"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", uint32(1)},
		{"tokenizer.ggml.eos_token_id", uint32(2)},
		{"tokenizer.ggml.unknown_token_id", uint32(0)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
	}
}
