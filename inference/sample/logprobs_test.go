package sample

import (
	"math"
	"testing"
)

func TestLogprobs(t *testing.T) {
	logits := []float32{1, 3, float32(math.NaN()), 3, -2, 0.5}
	p := DefaultParams()
	p.Temperature = 0
	s := New(p)
	id := s.Sample(logits)
	lp, top := s.Logprobs(logits, id, 4)
	if id != 1 || len(top) != 4 || top[0].ID != 1 || top[1].ID != 3 || top[2].ID != 0 || top[3].ID != 5 {
		t.Fatalf("sampled %d, top %v; want 1 first, then 3, 0, 5", id, top)
	}
	want := 3 - math.Log(math.Exp(1)+2*math.Exp(3)+math.Exp(-2)+math.Exp(0.5))
	if math.Abs(float64(lp)-want) > 1e-6 || lp != top[0].Logprob {
		t.Errorf("logprob %v, want %v (and the top one's %v)", lp, want, top[0].Logprob)
	}
	if nan, _ := s.Logprobs(logits, 2, 0); !math.IsInf(float64(nan), -1) {
		t.Errorf("a NaN logit has logprob %v, want -Inf", nan)
	}
	// With a penalty on token 1 the greedy choice moves to 3, and so does
	// the top logprob.
	p.RepeatPenalty = 2
	s = New(p)
	s.Accept(1)
	id = s.Sample(logits)
	if lp, top := s.Logprobs(logits, id, 1); id != 3 || top[0].ID != 3 || lp != top[0].Logprob {
		t.Errorf("penalised: sampled %d with %v, top %v", id, lp, top)
	}
	if _, top := s.Logprobs(logits, id, 99); len(top) != len(logits) {
		t.Errorf("%d alternatives of %d tokens", len(top), len(logits))
	}
}
