package engine

import (
	"context"
	"os"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model"
)

// BenchmarkDecodeStep times one decode step of a model file (IR_STEP_MODEL,
// default the tiny stories260K model of ../shared) at a fixed position:
// "forward" builds the step's graph only, "step" builds and computes it
// (on a tiny model mostly Go work: building, then the backend's
// preparation, which it reuses from the step before).
func BenchmarkDecodeStep(b *testing.B) {
	path := os.Getenv("IR_STEP_MODEL")
	if path == "" {
		path = "../../../shared/models/stories260K-f32.gguf"
	}
	m, dev := openFile(b, path)
	s, err := NewSequence(m, dev, SequenceOptions{Threads: 2, Context: 256})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	prompt := make([]int32, 32)
	for i := range prompt {
		prompt[i] = int32(1 + i)
	}
	if _, err := s.Eval(context.Background(), prompt, false); err != nil {
		b.Fatal(err)
	}
	n0 := s.Len()
	logits := make([]float32, m.Config().VocabSize)
	b.Run("forward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			g := compute.NewGraph()
			batch := model.Batch{Tokens: []int32{int32(2 + i%50)}, Positions: []int32{int32(n0)}, LastOnly: true}
			if _, err := m.Forward(g, batch, s.cache); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("step", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := s.step([]int32{int32(2 + i%50)}, logits, true); err != nil {
				b.Fatal(err)
			}
			s.Truncate(n0)
		}
	})
}
