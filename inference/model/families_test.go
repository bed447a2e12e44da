package model_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/internal/ref"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/model/modeltest"
	"inferenceruntime/inference/quant"
	"inferenceruntime/internal/testshared"
)

// edit changes a GGUF file's metadata and tensors before it is written again.
type edit struct {
	kv      map[string]any    // set (nil value: delete)
	tensors map[string][]byte // set (nil: delete); new names are F32 vectors
	split   map[string][]part // replace a fused matrix by its parts
	renames map[string]string // tensor names
}

// part is a row range of a fused matrix, stored under its own name.
type part struct {
	name        string
	start, rows int
}

// testPath is a file of the shared models.
func testPath(t *testing.T, elem ...string) string {
	return filepath.Join(append([]string{testshared.Dir(t, "models")}, elem...)...)
}

// rewrite reads a shared model (a path relative to conf-tiny) and writes it
// again with e applied.
func rewrite(t *testing.T, file string, e edit) *gguf.File {
	t.Helper()
	src, err := gguf.Open(testPath(t, "conf-tiny", file))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w := gguf.NewWriter()
	for _, kv := range src.KV {
		if v, ok := e.kv[kv.Key]; ok && v == nil {
			continue
		}
		if err := w.SetKV(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range e.kv {
		if v != nil {
			if err := w.SetKV(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, ti := range src.Tensors {
		data, err := src.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		if parts, ok := e.split[ti.Name]; ok {
			rowBytes := len(data) / int(ti.Dims[1])
			for _, p := range parts {
				add(t, w, p.name, ti.Type, []uint64{ti.Dims[0], uint64(p.rows)}, data[p.start*rowBytes:(p.start+p.rows)*rowBytes])
			}
			continue
		}
		if v, ok := e.tensors[ti.Name]; ok {
			if v == nil {
				continue
			}
			data = v
		}
		name := ti.Name
		if n, ok := e.renames[name]; ok {
			name = n
		}
		add(t, w, name, ti.Type, ti.Dims, bytes.Clone(data))
	}
	for name, data := range e.tensors {
		if _, ok := src.Tensor(name); !ok && data != nil {
			add(t, w, name, quant.F32, []uint64{uint64(len(data) / 4)}, data)
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
	return f
}

func add(t *testing.T, w *gguf.Writer, name string, typ quant.Type, dims []uint64, data []byte) {
	t.Helper()
	if err := w.AddTensor(name, typ, dims, data); err != nil {
		t.Fatal(err)
	}
}

// f32s encodes values as little-endian float32.
func f32s(vals ...float32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// ramp is n factors from lo to hi, as LongRoPE's divisors grow with the
// wavelength.
func ramp(n int, lo, hi float32) []byte {
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*float32(i)/float32(n-1)
	}
	return f32s(v...)
}

// variantTokens are 40 tokens of the tok512 vocabulary: longer than every
// sliding window below, so that windows cut into the attention.
var variantTokens = func() []int32 {
	ids := []int32{1}
	for i := range int32(39) {
		ids = append(ids, 3+(i*37)%500)
	}
	return ids
}()

// TestFamilyVariants runs the conf-tiny models with the metadata and
// weights that real files of their families differ by — keys left out
// (llama.cpp's defaults), other windows, patterns, expert counts, split or
// fused matrices, LongRoPE — through the engine and through the float32
// oracle, and compares every row of logits.
func TestFamilyVariants(t *testing.T) {
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	const qd, kvd = 128, 64 // conf-tiny phi3: 8 heads and 4 kv heads of 16
	cases := []struct {
		name, file string
		e          edit
		same       bool // the engine on the unedited file must give the same logits, bit for bit
	}{
		{"mistral sliding window is ignored", "tiny-llama-f32.gguf", edit{kv: map[string]any{"llama.attention.sliding_window": uint32(4)}}, true},
		{"gemma2 defaults", "tiny-gemma2-f32.gguf", edit{kv: map[string]any{
			"gemma2.attention.sliding_window": nil, "gemma2.attn_logit_softcapping": nil, "gemma2.final_logit_softcapping": nil}}, false},
		{"gemma2 window 5", "tiny-gemma2-Q8_0.gguf", edit{kv: map[string]any{"gemma2.attention.sliding_window": uint32(5)}}, false},
		{"gemma3 default pattern", "tiny-gemma3-f32.gguf", edit{kv: map[string]any{"gemma3.attention.sliding_window_pattern": nil}}, false},
		{"gemma3 pattern 3, window 3", "tiny-gemma3-f32.gguf", edit{kv: map[string]any{"gemma3.attention.sliding_window_pattern": uint32(3), "gemma3.attention.sliding_window": uint32(3)}}, false},
		{"gemma3 default local base, linear scaling", "tiny-gemma3-f32.gguf", edit{kv: map[string]any{
			"gemma3.rope.freq_base_swa": nil, "gemma3.rope.scaling.type": "linear", "gemma3.rope.scaling.factor": float32(8)}}, false},
		{"gemma3 without a window", "tiny-gemma3-Q4_0.gguf", edit{kv: map[string]any{"gemma3.attention.sliding_window": nil}}, false},
		{"qwen3moe 3 of 8 experts", "tiny-qwen3moe-f32.gguf", edit{kv: map[string]any{"qwen3moe.expert_used_count": uint32(3)}}, false},
		{"qwen3moe 8 of 8 experts", "tiny-qwen3moe-Q4_0.gguf", edit{kv: map[string]any{"qwen3moe.expert_used_count": uint32(8)}}, false},
		{"phi3 long rope", "tiny-phi3-f32.gguf", edit{
			kv: map[string]any{"phi3.rope.scaling.original_context_length": uint32(1024), "phi3.rope.scaling.attn_factor": float32(1.19)},
			tensors: map[string][]byte{
				"rope_factors_long.weight":  ramp(8, 1, 40),
				"rope_factors_short.weight": ramp(8, 1, 1.5),
			}}, false},
		{"phi3 short rope", "tiny-phi3-f32.gguf", edit{
			kv: map[string]any{"phi3.rope.scaling.attn_factor": float32(1.19)},
			tensors: map[string][]byte{
				"rope_factors_long.weight":  ramp(8, 1, 40),
				"rope_factors_short.weight": ramp(8, 1, 1.5),
			}}, false},
		{"phi3 separate q, k, v", "tiny-phi3-Q8_0.gguf", edit{split: map[string][]part{
			"blk.0.attn_qkv.weight": {{"blk.0.attn_q.weight", 0, qd}, {"blk.0.attn_k.weight", qd, kvd}, {"blk.0.attn_v.weight", qd + kvd, kvd}},
			"blk.1.attn_qkv.weight": {{"blk.1.attn_q.weight", 0, qd}, {"blk.1.attn_k.weight", qd, kvd}, {"blk.1.attn_v.weight", qd + kvd, kvd}},
		}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := rewrite(t, c.file, c.e)
			m, err := model.Open(f, dev)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			got := modeltest.Forward(t, m, variantTokens, 7)
			if c.same {
				orig := rewrite(t, c.file, edit{})
				om, err := model.Open(orig, dev)
				if err != nil {
					t.Fatal(err)
				}
				defer om.Close()
				if want := modeltest.Forward(t, om, variantTokens, 7); !slices.Equal(got, want) {
					t.Error("the logits differ from the unedited file's")
				}
				return
			}

			oracle, err := ref.New(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []float32
			for _, tok := range variantTokens {
				row, err := oracle.Forward(tok)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, row...)
			}
			// Both run the same weights in float32: only the order of sums
			// differs (and the quantization of activations on quantized
			// files), far below what any of these variants moves.
			tol := ref.Tolerance{MaxAbs: 2e-3, MinGap: 1e-3}
			if ref.ToleranceFor(c.file).MaxAbs > 0.5 {
				tol = ref.Tolerance{MaxAbs: 0.5, MinGap: 0.25}
			}
			r, err := ref.Compare(got, want, m.Config().VocabSize, tol)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r)
			if !r.OK(tol) {
				t.Errorf("engine against the oracle: %v", r)
			}
		})
	}
}
