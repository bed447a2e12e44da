package ref

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/quant"
)

// tinyFile describes a synthetic GGUF: its metadata under "<arch>." and
// random F32 tensors of the given shapes (ggml order).
type tinyFile struct {
	arch    string
	keys    map[string]any
	tensors map[string][]uint64
}

// tinyDense is the shape of the synthetic models: small, but with grouped
// query attention and more than one layer.
const (
	tinyDim, tinyHeads, tinyKVHeads, tinyFF, tinyLayers, tinyVocab = 32, 4, 2, 48, 2, 40
)

func (tf tinyFile) write(t *testing.T, seed uint64) string {
	t.Helper()
	w := gguf.NewWriter()
	set := func(k string, v any) {
		if err := w.SetKV(k, v); err != nil {
			t.Fatal(err)
		}
	}
	set("general.architecture", tf.arch)
	base := map[string]any{
		"embedding_length": uint32(tinyDim), "block_count": uint32(tinyLayers), "feed_forward_length": uint32(tinyFF),
		"attention.head_count": uint32(tinyHeads), "attention.head_count_kv": uint32(tinyKVHeads),
		"context_length": uint32(2048), "attention.layer_norm_rms_epsilon": float32(1e-5),
	}
	for k, v := range tf.keys {
		base[k] = v
	}
	keys := make([]string, 0, len(base))
	for k := range base {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		set(tf.arch+"."+k, base[k])
	}
	tokens := make([]string, tinyVocab)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("t%d", i)
	}
	set("tokenizer.ggml.tokens", tokens)

	rng := rand.New(rand.NewPCG(seed, 1))
	names := make([]string, 0, len(tf.tensors))
	for n := range tf.tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		dims := tf.tensors[n]
		count := 1
		for _, d := range dims {
			count *= int(d)
		}
		data := make([]byte, 0, 4*count)
		for range count {
			v := float32(rng.NormFloat64() / math.Sqrt(float64(dims[0])))
			if len(dims) == 1 {
				v = 1 + 0.1*float32(rng.NormFloat64()) // norm weights, rope factors
			}
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		if err := w.AddTensor(n, quant.F32, dims, data); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), tf.arch+".gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyPhi3 is a Phi-3 file with LongRoPE: rope factors and attention
// factor as the converter writes them for a 128k model trained at 4k.
func tinyPhi3(attnFactor float32) tinyFile {
	hd := uint64(tinyDim / tinyHeads)
	tf := tinyFile{arch: "phi3", keys: map[string]any{
		"context_length": uint32(131072), "rope.scaling.original_context_length": uint32(4096),
		"rope.scaling.attn_factor": attnFactor, "rope.dimension_count": uint32(hd),
	}, tensors: map[string][]uint64{
		"token_embd.weight": {tinyDim, tinyVocab}, "output_norm.weight": {tinyDim}, "output.weight": {tinyDim, tinyVocab},
		"rope_factors_long.weight": {hd / 2}, "rope_factors_short.weight": {hd / 2},
	}}
	for l := range tinyLayers {
		for n, dims := range map[string][]uint64{
			"attn_norm.weight": {tinyDim}, "attn_qkv.weight": {tinyDim, tinyDim + 2*tinyKVHeads*hd},
			"attn_output.weight": {tinyDim, tinyDim}, "ffn_norm.weight": {tinyDim},
			"ffn_up.weight": {tinyDim, 2 * tinyFF}, "ffn_down.weight": {tinyFF, tinyDim},
		} {
			tf.tensors[model.BlockName(l, n)] = dims
		}
	}
	return tf
}

func openTransformer(t *testing.T, path string) *Transformer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tr, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func run(t *testing.T, tr *Transformer, tokens []int32) []float32 {
	t.Helper()
	var out []float32
	for _, tok := range tokens {
		logits, err := tr.Forward(tok)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, logits...)
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestLongRoPE checks Phi-3's LongRoPE: the long factors are used when the
// context is longer than rope.scaling.original_context_length, the short
// ones otherwise, and rope.scaling.attn_factor scales the rotated q and k.
// With constant factors f and attention factor a, RoPE is plain RoPE with
// positions divided by f and the scores multiplied by a², which gives an
// independent way to compute the same logits.
func TestLongRoPE(t *testing.T) {
	const long, short, attn = 2.5, 1.25, float32(1.19)
	hd := tinyDim / tinyHeads
	path := tinyPhi3(attn).write(t, 7)
	tokens := []int32{1, 5, 9, 2, 33, 17, 4, 4, 28, 11, 39, 0}

	// The file's factors are random; make them constant for the comparison.
	withFactors := func(seqLen int) *Transformer {
		tr := openTransformer(t, path)
		tr.Weights.RopeLong = constTensor("rope_factors_long.weight", hd/2, long)
		tr.Weights.RopeShort = constTensor("rope_factors_short.weight", hd/2, short)
		tr.Config.SeqLen = seqLen
		return tr
	}
	plain := func(factor float32) *Transformer {
		tr := openTransformer(t, path)
		tr.Weights.RopeLong, tr.Weights.RopeShort = nil, nil
		tr.Config.RopeScale = 1 / factor
		tr.Config.RopeAttnFactor = 1
		tr.Config.AttnScale *= attn * attn
		return tr
	}

	tr := openTransformer(t, path)
	if c := tr.Config; c.RopeOrigCtx != 4096 || c.SeqLen != 131072 || c.RopeAttnFactor != attn || !c.FusedQKV || !c.FusedGateUp {
		t.Fatalf("config %+v: want original context 4096, context 131072, attn_factor %g, fused qkv and gate/up", c, attn)
	}
	longLogits := run(t, withFactors(131072), tokens)
	shortLogits := run(t, withFactors(4096), tokens)
	if d := maxAbsDiff(longLogits, run(t, plain(long), tokens)); d > 1e-4 {
		t.Errorf("context 131072 > 4096: differs from RoPE with positions / %g and scores x %g² by %g", long, attn, d)
	}
	if d := maxAbsDiff(shortLogits, run(t, plain(short), tokens)); d > 1e-4 {
		t.Errorf("context 4096 (not above the original): differs from RoPE with positions / %g and scores x %g² by %g", short, attn, d)
	}
	if d := maxAbsDiff(longLogits, shortLogits); d < 1e-2 {
		t.Errorf("long and short factors give the same logits (max diff %g): the test cannot tell them apart", d)
	}
	if d := maxAbsDiff(shortLogits, run(t, withFactors(4096+1), tokens)); d < 1e-2 {
		t.Errorf("a context one past the original still uses the short factors")
	}
}

// TestRopeFactors checks RoPE against its formula with per-frequency
// factors of different values, in the NeoX layout, with an attention factor.
func TestRopeFactors(t *testing.T) {
	c := Config{RopeDim: 8, HeadDim: 8, RopeBase: 10000, RopeScale: 1, RopeNeoX: true, RopeAttnFactor: 1.5}
	tr := &Transformer{Config: c}
	tr.state.factors = []float32{1, 2, 4, 8}
	head := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	want := slices.Clone(head)
	const pos = 37
	for i := range 4 {
		theta := pos * math.Pow(10000, -2*float64(i)/8) / float64(tr.state.factors[i])
		x0, x1 := float64(head[i]), float64(head[i+4])
		want[i] = float32(1.5 * (x0*math.Cos(theta) - x1*math.Sin(theta)))
		want[i+4] = float32(1.5 * (x0*math.Sin(theta) + x1*math.Cos(theta)))
	}
	tr.rope(head, pos, false)
	if d := maxAbsDiff(head, want); d > 1e-6 {
		t.Errorf("rope = %v, want %v", head, want)
	}
}

func constTensor(name string, n int, v float32) *model.Tensor {
	data := make([]byte, 0, 4*n)
	for range n {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	return &model.Tensor{Name: name, Type: quant.F32, Shape: []int{n}, Data: data}
}

// TestFamilyKeys checks the family switches read from metadata alone,
// against what llama.cpp does with the same keys (and without them).
func TestFamilyKeys(t *testing.T) {
	type want struct {
		local                 []bool
		window                int
		attnScale             float64
		attnCap, finalCap     float32
		baseLocal, scaleLocal float32
		base, scale           float32
	}
	invSqrt := func(n int) float64 { return 1 / math.Sqrt(float64(n)) }
	hd := tinyDim / tinyHeads
	cases := []struct {
		name string
		arch string
		keys map[string]any
		want want
	}{
		{"gemma2 defaults: window 4096 on even layers, softcaps 50 and 30", "gemma2", nil,
			want{[]bool{true, false}, 4096, invSqrt(hd), 50, 30, 10000, 1, 10000, 1}},
		{"gemma2 keys", "gemma2", map[string]any{"attention.sliding_window": uint32(16),
			"attn_logit_softcapping": float32(20), "final_logit_softcapping": float32(10)},
			want{[]bool{true, false}, 16, invSqrt(hd), 20, 10, 10000, 1, 10000, 1}},
		{"gemma2 27B (46 layers): scale by n_embd/n_head", "gemma2", map[string]any{"block_count": uint32(46), "attention.key_length": uint32(16), "attention.value_length": uint32(16)},
			want{nil, 4096, invSqrt(tinyDim / tinyHeads), 50, 30, 10000, 1, 10000, 1}},
		{"gemma3 without a window: all global, no softcap", "gemma3", map[string]any{"rope.freq_base": float32(1e6)},
			want{[]bool{false, false}, 0, invSqrt(hd), 0, 0, 1e6, 1, 1e6, 1}},
		{"gemma3 window, default pattern 6 and local base 1e4; linear scaling only on global layers", "gemma3",
			map[string]any{"block_count": uint32(7), "attention.sliding_window": uint32(512), "rope.freq_base": float32(1e6),
				"rope.scaling.type": "linear", "rope.scaling.factor": float32(8)},
			want{[]bool{true, true, true, true, true, false, true}, 512, invSqrt(hd), 0, 0, 10000, 1, 1e6, 0.125}},
		{"gemma3 pattern and local base keys", "gemma3", map[string]any{"attention.sliding_window": uint32(12),
			"attention.sliding_window_pattern": uint32(2), "rope.freq_base_swa": float32(5e4), "final_logit_softcapping": float32(30)},
			want{[]bool{true, false}, 12, invSqrt(hd), 0, 30, 5e4, 1, 10000, 1}},
		{"gemma3 27B (62 layers): scale by n_embd/n_head", "gemma3", map[string]any{"block_count": uint32(62),
			"attention.key_length": uint32(16), "attention.value_length": uint32(16)},
			want{nil, 0, invSqrt(tinyDim / tinyHeads), 0, 0, 10000, 1, 10000, 1}},
		{"gemma: 1/sqrt(head_dim) even at 46 layers", "gemma", map[string]any{"block_count": uint32(46),
			"attention.key_length": uint32(16), "attention.value_length": uint32(16)},
			want{nil, 0, invSqrt(16), 0, 0, 10000, 1, 10000, 1}},
		{"phi3 ignores its sliding window, as llama.cpp does", "phi3", map[string]any{"attention.sliding_window": uint32(2047)},
			want{[]bool{false, false}, 0, invSqrt(hd), 0, 0, 10000, 1, 10000, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := gguf.Open(tinyFile{arch: tc.arch, keys: tc.keys}.write(t, 1))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			mc, err := model.ReadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			c := Config{Arch: mc.Arch, Dim: mc.EmbeddingLength, NLayers: mc.BlockCount, NHeads: mc.HeadCount,
				HeadDim: mc.HeadDim, SeqLen: mc.ContextLength, RopeBase: mc.RopeBase, RopeScale: mc.RopeFreqScale}
			if err := familyConfig(&c, f, &mc); err != nil {
				t.Fatal(err)
			}
			w := tc.want
			got := want{c.LocalLayers, c.SlidingWindow, float64(c.AttnScale), c.AttnSoftcap, c.FinalSoftcap,
				c.RopeBaseLocal, c.RopeScaleLocal, c.RopeBase, c.RopeScale}
			if w.local == nil {
				got.local = nil // many layers: checked by the other cases
			}
			if !slices.Equal(got.local, w.local) || got.window != w.window || math.Abs(got.attnScale-w.attnScale) > 1e-7 ||
				got.attnCap != w.attnCap || got.finalCap != w.finalCap || got.baseLocal != w.baseLocal ||
				got.scaleLocal != w.scaleLocal || got.base != w.base || got.scale != w.scale {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
		})
	}
}
