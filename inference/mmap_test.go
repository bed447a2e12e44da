package inference_test

import (
	"context"
	"slices"
	"testing"

	"inferenceruntime/inference"
	"inferenceruntime/internal/testshared"
)

// TestLoadNoMmapMlock: a model read into memory (use_mmap=false) and one
// with its pages locked (use_mlock) give the mapped model's logits bit for
// bit; packing takes its copies from either source alike.
func TestLoadNoMmapMlock(t *testing.T) {
	path := testshared.Dir(t, "models", "conf-tiny", "tiny-llama-Q4_0.gguf")
	logits := func(o inference.Options) []float32 {
		m, err := inference.Load(path, o)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if w := m.Info().Warning; w != "" {
			t.Logf("%+v: %s", o, w) // a sandbox that allows no locked memory
		}
		s, err := m.NewSession(inference.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.Logits(context.Background(), []int32{1, 15, 300, 27, 99})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := logits(inference.Options{Threads: 2})
	for _, o := range []inference.Options{{Threads: 2, NoMmap: true}, {Threads: 2, Mlock: true}, {Threads: 2, NoMmap: true, Mlock: true}} {
		if got := logits(o); !slices.Equal(got, want) {
			t.Errorf("%+v: the logits differ from the mapped model's", o)
		}
	}
}
