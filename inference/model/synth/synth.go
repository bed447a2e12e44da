// Package synth writes random-weight GGUF models of real shapes (Llama 3.2
// 1B, Qwen2.5 0.5B, and a tiny one for tests) in any weight type the quant
// package can produce, with a working SentencePiece-style vocabulary of the
// right size. They exercise the engine, the memory budget and the
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
	Arch     string // "llama" or "qwen2"
	Embd     int
	Layers   int
	Heads    int
	KVHeads  int
	FF       int
	Vocab    int
	Context  int
	RopeBase float32
	Eps      float32
	Tied     bool // no output.weight: the embedding doubles as the classifier
	QKVBias  bool // q/k/v biases (qwen2)
	Llama3   bool // rope_freqs.weight with Llama 3's long-context factors
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
)

// Plan is a model about to be written.
type Plan struct {
	Shape   Shape
	KV      []KV
	Tensors []Tensor
}

// Mixes are the weight-type names accepted besides plain types: llama.cpp's
// Q4_K_M recipe, simplified (attn_v, ffn_down and the embedding in Q6_K,
// the rest Q4_K).
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
	a := s.Arch
	hd := s.Embd / s.Heads
	p.KV = []KV{
		{"general.architecture", a},
		{"general.name", "synthetic " + s.Name + " " + typeName},
		{"general.file_type", ftype},
		{a + ".context_length", uint32(s.Context)},
		{a + ".embedding_length", uint32(s.Embd)},
		{a + ".block_count", uint32(s.Layers)},
		{a + ".feed_forward_length", uint32(s.FF)},
		{a + ".attention.head_count", uint32(s.Heads)},
		{a + ".attention.head_count_kv", uint32(s.KVHeads)},
		{a + ".rope.freq_base", s.RopeBase},
		{a + ".rope.dimension_count", uint32(hd)},
		{a + ".attention.layer_norm_rms_epsilon", s.Eps},
	}
	p.KV = append(p.KV, vocabKVs(s.Vocab)...)

	mat := func(name string, cols, rows int) {
		t := fitType(pick(name), cols)
		p.Tensors = append(p.Tensors, Tensor{Name: name, Type: t, Dims: []uint64{uint64(cols), uint64(rows)}, kind: matrix, fanIn: cols})
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
	qd, kvd := s.Heads*hd, s.KVHeads*hd
	for l := range s.Layers {
		n := func(x string) string { return model.BlockName(l, x) }
		vec(n("attn_norm.weight"), s.Embd, norm)
		mat(n("attn_q.weight"), s.Embd, qd)
		mat(n("attn_k.weight"), s.Embd, kvd)
		mat(n("attn_v.weight"), s.Embd, kvd)
		if s.QKVBias {
			vec(n("attn_q.bias"), qd, bias)
			vec(n("attn_k.bias"), kvd, bias)
			vec(n("attn_v.bias"), kvd, bias)
		}
		mat(n("attn_output.weight"), qd, s.Embd)
		vec(n("ffn_norm.weight"), s.Embd, norm)
		mat(n("ffn_gate.weight"), s.Embd, s.FF)
		mat(n("ffn_up.weight"), s.Embd, s.FF)
		mat(n("ffn_down.weight"), s.FF, s.Embd)
	}
	return p, nil
}

// typePicker maps a weight-type name to a per-tensor type choice.
func typePicker(name string) (func(tensor string) quant.Type, error) {
	if name == "Q4_K_M" {
		for _, t := range []quant.Type{quant.Q4_K, quant.Q6_K} {
			if !quant.CanQuantize(t) {
				return nil, fmt.Errorf("synth: %s needs %s, which cannot be quantized yet", name, t)
			}
		}
		return func(tensor string) quant.Type {
			if strings.HasSuffix(tensor, "attn_v.weight") || strings.HasSuffix(tensor, "ffn_down.weight") ||
				tensor == "token_embd.weight" || tensor == "output.weight" {
				return quant.Q6_K
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
		hd := g.shape.Embd / g.shape.Heads
		for i := range vals {
			vals[i] = llama3Factor(offset+i, hd, float64(g.shape.RopeBase))
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
