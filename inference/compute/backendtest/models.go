package backendtest

import (
	"context"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/inference/internal/ref"
)

// Models runs reference models of ../shared/models (ref.ConformanceModels
// when models is nil) on the named backend, teacher-forced as one batch, and
// checks every row of logits against llama.cpp's within the MANIFEST's
// tolerances.
func Models(t *testing.T, backend string, kvType string, models []string) {
	if models == nil {
		models = ref.ConformanceModels
	}
	ref.CheckModels(t, models, func(t *testing.T, c ref.Case) []float32 {
		m, err := inference.Load(c.ModelPath, inference.Options{Backend: backend})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s, err := m.NewSession(inference.SessionOptions{KVType: kvType})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got, err := s.Logits(context.Background(), c.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		return got
	})
}
