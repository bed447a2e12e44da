package synth

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/quant"
	"inferenceruntime/inference/tokenizer"
)

// TestVocab checks that the synthetic vocabulary is a working tokenizer:
// any text round-trips, letters merge into longer pieces, and the vocab has
// exactly the shape's size.
func TestVocab(t *testing.T) {
	for _, n := range []int{384, 5000} {
		w := gguf.NewWriter()
		for _, kv := range vocabKVs(n) {
			if err := w.SetKV(kv.Key, kv.Value); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokenizer.FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != n {
			t.Fatalf("vocab %d, want %d", tok.VocabSize(), n)
		}
		for _, text := range []string{"the quick brown fox", "Ünïcödé ✓ 日本", "x\ny\tz"} {
			ids, err := tok.Encode(text, true, false)
			if err != nil {
				t.Fatal(err)
			}
			if ids[0] != 1 {
				t.Errorf("%q: no BOS in %v", text, ids)
			}
			if got := tok.Decode(ids[1:]); got != text {
				t.Errorf("vocab %d: %q round-trips to %q (%v)", n, text, got, ids)
			}
		}
		if ids, _ := tok.Encode("the", false, false); n >= 5000 && len(ids) != 1 {
			t.Errorf("vocab %d: \"the\" took %d tokens %v, want one merged piece", n, len(ids), ids)
		}
	}
}

// TestTypes checks the per-tensor type choice and fallbacks.
func TestTypes(t *testing.T) {
	s, _ := ShapeByName("qwen2-0.5b")
	p, err := NewPlan(s, "Q4_0")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Tensor("blk.0.attn_q.weight").Type; got != quant.Q4_0 {
		t.Errorf("attn_q %s, want Q4_0", got)
	}
	if got := p.Tensor("blk.0.attn_q.bias").Type; got != quant.F32 {
		t.Errorf("bias %s, want F32", got)
	}
	if _, err := NewPlan(s, "Q9_9"); err == nil {
		t.Error("unknown type accepted")
	}
	if got := fitType(quant.Q4_K, 896); got != quant.Q8_0 {
		t.Errorf("Q4_K on 896 columns falls back to %s, want Q8_0", got)
	}
	l, _ := ShapeByName("llama-1b")
	if p, err := NewPlan(l, "F16"); err != nil || p.Tensor("output.weight") != nil || p.Tensor("rope_freqs.weight") == nil {
		t.Errorf("llama-1b: tied with rope_freqs expected (%v)", err)
	}
}

// TestWriteFileStreams checks that the two-pass file writer produces the
// same bytes as the in-memory Writer.
func TestWriteFileStreams(t *testing.T) {
	s, _ := ShapeByName("tiny-qwen2")
	p, err := NewPlan(s, "Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := p.WriteFile(path, 3); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Bytes(3)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("streamed file (%d bytes) differs from the in-memory one (%d bytes)", len(got), len(want))
	}
}

// TestFileType checks that general.file_type names the weight type asked
// for, as llama.cpp labels its own files (plain K-quants are the _S mixes),
// so other tools do not report a quantized model as "all F32".
func TestFileType(t *testing.T) {
	s, _ := ShapeByName("tiny")
	for _, tc := range []struct{ typ, want string }{
		{"F32", "F32"}, {"F16", "F16"}, {"BF16", "BF16"}, {"Q8_0", "Q8_0"}, {"Q4_0", "Q4_0"},
		{"Q4_1", "Q4_1"}, {"Q5_0", "Q5_0"}, {"Q5_1", "Q5_1"}, {"Q2_K", "Q2_K"}, {"Q3_K", "Q3_K_S"},
		{"Q4_K", "Q4_K_S"}, {"Q5_K", "Q5_K_S"}, {"Q6_K", "Q6_K"}, {"Q4_K_M", "Q4_K_M"},
	} {
		p, err := NewPlan(s, tc.typ)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		b, err := p.Bytes(1)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		f, err := gguf.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		v, ok := f.Get("general.file_type")
		if !ok || v.Type != gguf.Uint32 {
			t.Fatalf("%s: general.file_type missing or not uint32 (%v)", tc.typ, v)
		}
		if got := gguf.Summarize(f).FileType; got != tc.want {
			t.Errorf("%s: file type %s, want %s", tc.typ, got, tc.want)
		}
	}
}

// planKeys returns the plan's metadata keys under the architecture prefix,
// without it, and the tensors by name.
func planKeys(p *Plan) (map[string]any, map[string]Tensor) {
	keys := map[string]any{}
	for _, kv := range p.KV {
		if k, ok := strings.CutPrefix(kv.Key, p.Shape.Arch+"."); ok {
			keys[k] = kv.Value
		}
	}
	tensors := map[string]Tensor{}
	for _, t := range p.Tensors {
		tensors[t.Name] = t
	}
	return keys, tensors
}

// TestNewFamilies checks the real shapes of the newer families against
// llama.cpp's converter: exactly the hyper-parameter keys it writes, the
// tensor names and ggml shapes its loader asks for, and the parameter
// counts their config.json files give.
func TestNewFamilies(t *testing.T) {
	common := []string{"context_length", "embedding_length", "block_count", "feed_forward_length",
		"attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon"}
	for _, tc := range []struct {
		shape  string
		keys   []string         // besides common
		values map[string]any   // some key values
		dims   map[string][]int // tensor shapes (ggml order); nil = must be absent
		params int64            // all weights but the LongRoPE factors; 0 = unchecked
	}{
		{shape: "qwen3-0.6b", keys: []string{"rope.freq_base", "attention.key_length", "attention.value_length"},
			values: map[string]any{"attention.key_length": uint32(128), "context_length": uint32(40960)},
			dims: map[string][]int{
				"blk.0.attn_q.weight": {1024, 2048}, "blk.0.attn_k.weight": {1024, 1024}, "blk.0.attn_v.weight": {1024, 1024},
				"blk.0.attn_output.weight": {2048, 1024}, "blk.27.attn_q_norm.weight": {128}, "blk.27.attn_k_norm.weight": {128},
				"blk.0.ffn_gate.weight": {1024, 3072}, "blk.0.ffn_down.weight": {3072, 1024},
				"output.weight": nil, "blk.0.attn_q.bias": nil},
			params: 596_049_920},
		{shape: "qwen3moe-30b-a3b", keys: []string{"rope.freq_base", "attention.key_length", "attention.value_length",
			"expert_count", "expert_used_count", "expert_feed_forward_length"},
			values: map[string]any{"expert_count": uint32(128), "expert_used_count": uint32(8), "expert_feed_forward_length": uint32(768)},
			dims: map[string][]int{
				"blk.47.ffn_gate_inp.weight": {2048, 128}, "blk.47.ffn_gate_exps.weight": {2048, 768, 128},
				"blk.47.ffn_up_exps.weight": {2048, 768, 128}, "blk.47.ffn_down_exps.weight": {768, 2048, 128},
				"blk.0.attn_q.weight": {2048, 4096}, "blk.0.attn_k.weight": {2048, 512}, "blk.0.attn_q_norm.weight": {128},
				"output.weight": {2048, 151936}, "blk.0.ffn_gate.weight": nil, "blk.0.ffn_up.weight": nil},
			params: 30_532_122_624},
		{shape: "gemma3-1b", keys: []string{"rope.freq_base", "attention.key_length", "attention.value_length", "attention.sliding_window"},
			values: map[string]any{"attention.sliding_window": uint32(512), "rope.freq_base": float32(1e6), "attention.key_length": uint32(256)},
			dims: map[string][]int{
				"blk.0.attn_q.weight": {1152, 1024}, "blk.0.attn_k.weight": {1152, 256}, "blk.0.attn_output.weight": {1024, 1152},
				"blk.0.attn_q_norm.weight": {256}, "blk.0.attn_k_norm.weight": {256}, "blk.25.post_attention_norm.weight": {1152},
				"blk.25.post_ffw_norm.weight": {1152}, "blk.0.ffn_gate.weight": {1152, 6912}, "output.weight": nil},
			params: 999_885_952},
		{shape: "gemma2-2b", keys: []string{"attention.key_length", "attention.value_length", "attention.sliding_window",
			"attn_logit_softcapping", "final_logit_softcapping"},
			values: map[string]any{"attn_logit_softcapping": float32(50), "final_logit_softcapping": float32(30), "attention.sliding_window": uint32(4096)},
			dims: map[string][]int{
				"blk.0.attn_q.weight": {2304, 2048}, "blk.0.attn_k.weight": {2304, 1024}, "blk.0.post_attention_norm.weight": {2304},
				"blk.0.post_ffw_norm.weight": {2304}, "blk.0.attn_q_norm.weight": nil, "output.weight": nil},
			params: 2_614_341_888},
		{shape: "phi3.5-mini", keys: []string{"rope.freq_base", "rope.dimension_count", "rope.scaling.original_context_length",
			"attention.sliding_window", "rope.scaling.attn_factor"},
			values: map[string]any{"rope.dimension_count": uint32(96), "rope.scaling.original_context_length": uint32(4096),
				"attention.sliding_window": uint32(262144)},
			dims: map[string][]int{
				"blk.0.attn_qkv.weight": {3072, 9216}, "blk.0.ffn_up.weight": {3072, 16384}, "blk.0.ffn_down.weight": {8192, 3072},
				"rope_factors_long.weight": {48}, "rope_factors_short.weight": {48}, "output.weight": {3072, 32064},
				"blk.0.attn_q.weight": nil, "blk.0.ffn_gate.weight": nil},
			params: 3_821_079_552},
		{shape: "phi4-mini", keys: []string{"rope.freq_base", "rope.dimension_count", "rope.scaling.original_context_length",
			"attention.sliding_window", "rope.scaling.attn_factor"},
			values: map[string]any{"rope.dimension_count": uint32(96)},
			dims: map[string][]int{
				"blk.0.attn_qkv.weight": {3072, 5120}, "blk.0.attn_output.weight": {3072, 3072},
				"rope_factors_long.weight": {48}, "output.weight": nil},
			params: 3_836_021_760},
	} {
		t.Run(tc.shape, func(t *testing.T) {
			s, ok := ShapeByName(tc.shape)
			if !ok {
				t.Fatalf("no shape %s", tc.shape)
			}
			p, err := NewPlan(s, "Q8_0")
			if err != nil {
				t.Fatal(err)
			}
			keys, tensors := planKeys(p)
			want := append(slices.Clone(common), tc.keys...)
			var got []string
			for k := range keys {
				got = append(got, k)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("keys %v\nwant %v", got, want)
			}
			for k, v := range tc.values {
				if keys[k] != v {
					t.Errorf("%s = %v (%T), want %v (%T)", k, keys[k], keys[k], v, v)
				}
			}
			for name, dims := range tc.dims {
				tt, ok := tensors[name]
				switch {
				case dims == nil && ok:
					t.Errorf("%s present", name)
				case dims != nil && !ok:
					t.Errorf("%s missing", name)
				case dims != nil && fmt.Sprint(tt.Dims) != fmt.Sprint(dims):
					t.Errorf("%s dims %v, want %v", name, tt.Dims, dims)
				}
			}
			var params int64
			for _, tt := range p.Tensors {
				if strings.HasPrefix(tt.Name, "rope_factors_") {
					continue
				}
				n := int64(1)
				for _, d := range tt.Dims {
					n *= int64(d)
				}
				params += n
			}
			if tc.params != 0 && params != tc.params {
				t.Errorf("%d parameters, want %d", params, tc.params)
			}
		})
	}
}

// TestLongRopeAttnFactor checks the LongRoPE attention scaling of
// Phi-3.5 mini's 128K context from a 4K original.
func TestLongRopeAttnFactor(t *testing.T) {
	if got := longRopeAttnFactor(131072, 4096); math.Abs(float64(got)-1.1902381) > 1e-6 {
		t.Errorf("attn factor %v, want 1.1902381", got)
	}
	if got := longRopeAttnFactor(4096, 4096); got != 1 {
		t.Errorf("no scaling: %v, want 1", got)
	}
}

// TestNewFamiliesWrite writes the tiny shape of each newer family in a
// plain and a mixed type and reads it back: the header parses, the
// summary names the architecture and heads, every tensor has its bytes,
// and the Q4_K_M mix keeps routers and norms in F32.
func TestNewFamiliesWrite(t *testing.T) {
	for _, name := range []string{"tiny-qwen3", "tiny-qwen3moe", "tiny-gemma2", "tiny-gemma3", "tiny-phi3"} {
		s, _ := ShapeByName(name)
		for _, typ := range []string{"Q8_0", "Q4_K_M", "F16"} {
			p, err := NewPlan(s, typ)
			if err != nil {
				t.Fatalf("%s %s: %v", name, typ, err)
			}
			b, err := p.Bytes(7)
			if err != nil {
				t.Fatalf("%s %s: %v", name, typ, err)
			}
			f, err := gguf.Parse(b)
			if err != nil {
				t.Fatalf("%s %s: %v", name, typ, err)
			}
			sum := gguf.Summarize(f)
			if sum.Architecture != s.Arch || int(sum.Heads) != s.Heads || int(sum.HeadsKV) != s.KVHeads ||
				int(sum.Layers) != s.Layers || sum.TensorCount != len(p.Tensors) || sum.VocabSize != s.Vocab {
				t.Errorf("%s %s: summary %+v", name, typ, sum)
			}
			for _, tt := range f.Tensors {
				if (strings.HasSuffix(tt.Name, "norm.weight") || strings.HasSuffix(tt.Name, "ffn_gate_inp.weight") ||
					strings.HasPrefix(tt.Name, "rope_factors_")) && tt.Type != quant.F32 {
					t.Errorf("%s %s: %s is %s, want F32", name, typ, tt.Name, tt.Type)
				}
			}
		}
	}
	s, _ := ShapeByName("qwen3moe-30b-a3b")
	p, err := NewPlan(s, "Q4_K_M")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]quant.Type{
		"blk.0.ffn_down_exps.weight": quant.Q6_K, "blk.0.ffn_gate_exps.weight": quant.Q4_K,
		"blk.0.ffn_up_exps.weight": quant.Q4_K, "blk.0.ffn_gate_inp.weight": quant.F32,
	} {
		if got := p.Tensor(name).Type; got != want {
			t.Errorf("Q4_K_M %s: %s, want %s", name, got, want)
		}
	}
}
