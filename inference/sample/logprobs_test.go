package sample

import (
	"math"
	"testing"
)

// odd allows the odd token ids only.
type odd struct{}

func (odd) Allows(id int32) bool { return id%2 == 1 }

func TestLogprobs(t *testing.T) {
	logits := []float32{1, 3, float32(math.NaN()), 3, -2, 0.5}
	p := DefaultParams()
	p.Temperature = 0
	s := New(p)
	d := s.Logprobs(logits, nil, 4)
	id := s.Sample(logits)
	top := d.Top()
	if id != 1 || len(top) != 4 || top[0].ID != 1 || top[1].ID != 3 || top[2].ID != 0 || top[3].ID != 5 {
		t.Fatalf("sampled %d, top %v; want 1 first, then 3, 0, 5", id, top)
	}
	want := 3 - math.Log(math.Exp(1)+2*math.Exp(3)+math.Exp(-2)+math.Exp(0.5))
	if lp := d.Logprob(id); math.Abs(float64(lp)-want) > 1e-6 || lp != top[0].Logprob {
		t.Errorf("logprob %v, want %v (and the top one's %v)", lp, want, top[0].Logprob)
	}
	if lp := d.Logprob(2); !math.IsInf(float64(lp), -1) {
		t.Errorf("a NaN logit has logprob %v, want -Inf", lp)
	}
	// A constraint renormalises over what it allows.
	d = s.Logprobs(logits, odd{}, 20)
	want = 3 - math.Log(2*math.Exp(3)+math.Exp(0.5))
	if top := d.Top(); len(top) != 3 || top[2].ID != 5 || math.Abs(float64(top[0].Logprob)-want) > 1e-6 {
		t.Errorf("constrained top %v, want 1, 3, 5 with %v first", top, want)
	}
	// With a penalty on token 1 the greedy choice moves to 3, and so does
	// the top logprob.
	p.RepeatPenalty = 2
	s = New(p)
	s.Accept(1)
	d = s.Logprobs(logits, nil, 1)
	if id := s.Sample(logits); id != 3 || d.Top()[0].ID != 3 || d.Logprob(id) != d.Top()[0].Logprob {
		t.Errorf("penalised: sampled %d, top %v", id, d.Top())
	}
}
