package ref

import (
	"testing"

	"inferenceruntime/inference/gguf"
)

// TestConformance runs the oracle on every llama/qwen2 reference of
// ../shared/models, teacher-forced, and compares each row of logits with
// llama.cpp's within the MANIFEST tolerances.
func TestConformance(t *testing.T) {
	dir := SharedModels()
	if dir == "" {
		t.Skip("../shared/models is not present; conformance needs the reference models")
	}
	cases, err := Cases(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			f, err := gguf.Open(c.ModelPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tr, err := New(f)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Config.VocabSize != c.NVocab {
				t.Fatalf("vocabulary %d, reference has %d", tr.Config.VocabSize, c.NVocab)
			}
			got := make([]float32, 0, len(c.Tokens)*c.NVocab)
			for _, tok := range c.Tokens {
				logits, err := tr.Forward(tok)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, logits...)
			}
			want, err := c.Reference()
			if err != nil {
				t.Fatal(err)
			}
			r, err := Compare(got, want, c.NVocab, c.Tol)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", c.Name, r)
			if !r.OK(c.Tol) {
				t.Errorf("%s outside tolerance (max %.3g, argmax on gap >= %.3g): %s", c.Name, c.Tol.MaxAbs, c.Tol.MinGap, r)
			}
		})
	}
}
