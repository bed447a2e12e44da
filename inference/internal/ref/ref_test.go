package ref

import (
	"slices"
	"testing"

	"inferenceruntime/inference/gguf"
)

// TestConformance runs the oracle on every reference of ../shared/models,
// of every family, teacher-forced one token at a time, and compares each
// row of logits with llama.cpp's within the MANIFEST tolerances.
func TestConformance(t *testing.T) {
	models := append(slices.Clone(ConformanceModels), FamilyModels...)
	CheckModels(t, models, func(t *testing.T, c Case) []float32 {
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
		var got []float32
		for _, tok := range c.Tokens {
			logits, err := tr.Forward(tok)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, logits...)
		}
		return got
	})
}
