package synth

import (
	"bytes"
	"os"
	"path/filepath"
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
