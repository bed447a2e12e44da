package inference_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/inference/internal/ref"
	"inferenceruntime/internal/testshared"
)

// kvLogits runs c's tokens with a cache of kvType: the first half as one
// prompt batch, the rest one decode step at a time, so that both ways of
// reading the cache (prompt blocks and single queries) are covered. It
// returns every row of logits.
func kvLogits(t *testing.T, c ref.Case, kvType string) []float32 {
	t.Helper()
	m, err := inference.Load(c.ModelPath, inference.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(inference.SessionOptions{KVType: kvType})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	half := len(c.Tokens) / 2
	out, err := s.Logits(context.Background(), c.Tokens[:half])
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range c.Tokens[half:] {
		row, err := s.Eval(context.Background(), []int32{tok})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row...)
	}
	return out
}

// TestQuantizedKVCache runs the conf-tiny models whose heads are 32 wide
// with Q8_0 and Q4_0 caches and compares them with the same model and an
// F32 cache. llama.cpp has no references for these cache types, so the
// bounds scale the MANIFEST's for an F16 cache (up to 1.6e-2 on the F32
// models) by the rounding each type adds to a cached value: F16 rounds to
// 2^-11 of the value (rms 2.8e-4 of a unit Gaussian), Q8_0 to a step of
// max/127 per block of 32 (the max of 32 unit Gaussians is about 2.1, so
// rms 4.8e-3: 17 times F16's), Q4_0 to a step of max/8 (rms 7.6e-2: 16
// times Q8_0's). That gives 0.27 and 4.3; measured on these models: Q8_0
// 0.09 to 0.15, Q4_0 1.5 to 2.0. Random weights have no margin to spare:
// the argmax must agree on rows whose top two logits (with the F32 cache)
// are half the bound apart or more, where such noise cannot reorder them.
func TestQuantizedKVCache(t *testing.T) {
	dir := testshared.Dir(t, "models")
	cases, err := ref.CasesOf(dir, []string{"conf-tiny/tiny-qwen3-f32", "conf-tiny/tiny-gemma3-f32", "conf-tiny/tiny-gemma-f32"})
	if err != nil {
		t.Fatal(err)
	}
	bounds := map[string]ref.Tolerance{
		"q8_0": {MaxAbs: 0.3, MinGap: 0.15},
		"q4_0": {MaxAbs: 4.3, MinGap: 2.15},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			base := kvLogits(t, c, "f32")
			if r, err := ref.Compare(base, mustReference(t, c), c.NVocab, c.Tol); err != nil || !r.OK(c.Tol) {
				t.Fatalf("the F32 cache against llama.cpp: %v %v", r, err)
			}
			for _, kv := range []string{"q8_0", "q4_0"} {
				got := kvLogits(t, c, kv)
				r, err := ref.Compare(got, base, c.NVocab, bounds[kv])
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s cache against f32: %s", kv, r)
				if !r.OK(bounds[kv]) || math.IsInf(r.MaxAbs, 0) {
					t.Errorf("%s cache outside its bound %+v: %s", kv, bounds[kv], r)
				}
			}
		})
	}
}

func mustReference(t *testing.T, c ref.Case) []float32 {
	t.Helper()
	want, err := c.Reference()
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// TestQuantizedKVHeadSize: a model whose heads are not a multiple of 32
// wide refuses a quantized cache by name, and keeps working with f16.
func TestQuantizedKVHeadSize(t *testing.T) {
	path := testshared.Dir(t, "models", "conf-tiny", "tiny-llama-f32.gguf") // head size 16
	m, err := inference.Load(path, inference.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, kv := range []string{"q8_0", "q4_0"} {
		_, err := m.NewSession(inference.SessionOptions{KVType: kv})
		if err == nil || !strings.Contains(err.Error(), "multiple of 32") || !strings.Contains(err.Error(), kv) {
			t.Errorf("%s cache with head size 16: %v", kv, err)
		}
	}
	if _, err := m.NewSession(inference.SessionOptions{KVType: "q5_1"}); err == nil || !strings.Contains(err.Error(), "q4_0") {
		t.Errorf("an unknown cache type: %v", err)
	}
	s, err := m.NewSession(inference.SessionOptions{KVType: "f16"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
