package ref

import (
	"slices"
	"testing"
)

// TestConformance runs the oracle on every reference of ../shared/models,
// of every family, teacher-forced one token at a time, and compares each
// row of logits with llama.cpp's within the MANIFEST tolerances.
func TestConformance(t *testing.T) {
	models := append(slices.Clone(ConformanceModels), FamilyModels...)
	CheckModels(t, models, func(t *testing.T, c Case) []float32 {
		tr := openTransformer(t, c.ModelPath)
		if tr.Config.VocabSize != c.NVocab {
			t.Fatalf("vocabulary %d, reference has %d", tr.Config.VocabSize, c.NVocab)
		}
		return run(t, tr, c.Tokens)
	})
}
