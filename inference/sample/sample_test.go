package sample

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// off is a configuration with every filter and penalty disabled.
func off(temp float32, seed uint64) Params {
	return Params{Temperature: temp, RepeatPenalty: 1, Seed: seed}
}

// softmaxOf is the reference distribution softmax(logits / temp).
func softmaxOf(logits []float32, temp float64) []float64 {
	p := make([]float64, len(logits))
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, float64(l)/temp)
	}
	sum := 0.0
	for i, l := range logits {
		p[i] = math.Exp(float64(l)/temp - m)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// frequencies draws n tokens and returns how often each id came out.
func frequencies(s *Sampler, logits []float32, n int) []float64 {
	f := make([]float64, len(logits))
	for range n {
		id := s.Sample(logits)
		if id < 0 || int(id) >= len(logits) {
			panic("sampled id out of range")
		}
		f[id]++
	}
	for i := range f {
		f[i] /= float64(n)
	}
	return f
}

// near checks every empirical frequency against the expected probability.
// With 20000 draws the standard error is at most 0.0036, so 0.015 is over
// four standard errors.
func near(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 0.015 {
			t.Errorf("%s: id %d drawn with frequency %.4f, want %.4f (all: %.4f vs %.4f)", what, i, got[i], want[i], got, want)
			return
		}
	}
}

var logits = []float32{1, 2, 3, 0.5, -1, 2.5}

func TestGreedy(t *testing.T) {
	for _, temp := range []float32{0, -1} {
		s := New(off(temp, 1))
		if id := s.Sample(logits); id != 2 {
			t.Errorf("temp %v: got %d, want argmax 2", temp, id)
		}
	}
	// Ties go to the lowest id, NaN never wins.
	s := New(off(0, 1))
	if id := s.Sample([]float32{float32(math.NaN()), 1, 5, 5, 2}); id != 2 {
		t.Errorf("tie: got %d, want 2", id)
	}
	if id := s.Sample(nil); id != -1 {
		t.Errorf("empty logits: got %d, want -1", id)
	}
}

func TestTemperatureDistribution(t *testing.T) {
	for _, temp := range []float32{1, 0.5, 2} {
		s := New(off(temp, 42))
		near(t, "temp", frequencies(s, logits, 20000), softmaxOf(logits, float64(temp)))
	}
}

func TestTopK(t *testing.T) {
	p := off(1, 7)
	p.TopK = 2
	s := New(p)
	got := frequencies(s, logits, 20000)
	// Only ids 2 (logit 3) and 5 (logit 2.5) survive, renormalised.
	full := softmaxOf(logits, 1)
	want := make([]float64, len(logits))
	want[2] = full[2] / (full[2] + full[5])
	want[5] = full[5] / (full[2] + full[5])
	near(t, "top-k", got, want)
	for id, f := range got {
		if id != 2 && id != 5 && f != 0 {
			t.Errorf("top-k 2 returned id %d", id)
		}
	}
}

func TestTopP(t *testing.T) {
	// Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.7 needs the first two
	// (0.5 < 0.7 <= 0.8).
	probs := []float64{0.5, 0.3, 0.15, 0.05}
	lg := make([]float32, len(probs))
	for i, q := range probs {
		lg[i] = float32(math.Log(q))
	}
	p := off(1, 3)
	p.TopP = 0.7
	near(t, "top-p 0.7", frequencies(New(p), lg, 20000), []float64{0.625, 0.375, 0, 0})
	p.TopP = 0.5 // reached exactly by the first token
	near(t, "top-p 0.5", frequencies(New(p), lg, 2000), []float64{1, 0, 0, 0})
	// Top-p is decided before temperature: at temperature 2 the same two
	// tokens survive, with flatter odds.
	p.TopP, p.Temperature = 0.7, 2
	a, b := math.Sqrt(0.5), math.Sqrt(0.3)
	near(t, "top-p then temperature", frequencies(New(p), lg, 20000), []float64{a / (a + b), b / (a + b), 0, 0})
}

func TestMinP(t *testing.T) {
	probs := []float64{0.5, 0.3, 0.15, 0.05}
	lg := make([]float32, len(probs))
	for i, q := range probs {
		lg[i] = float32(math.Log(q))
	}
	p := off(1, 5)
	p.MinP = 0.2 // floor 0.1: keeps 0.5, 0.3, 0.15
	near(t, "min-p", frequencies(New(p), lg, 20000), []float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0})
	p.MinP = 1 // only the best token
	near(t, "min-p 1", frequencies(New(p), lg, 1000), []float64{1, 0, 0, 0})
}

func TestPenalties(t *testing.T) {
	base := []float32{2, -2, 1, 0.5, 3}
	p := Params{RepeatPenalty: 2, FrequencyPenalty: 0.25, PresencePenalty: 0.5, RepeatLastN: 3}
	s := New(p)
	for _, id := range []int32{4, 0, 1, 1} { // the window of 3 forgets the first 4
		s.Accept(id)
	}
	c := make([]candidate, len(base))
	for i, l := range base {
		c[i] = candidate{id: int32(i), logit: float64(l)}
	}
	s.applyPenalties(c)
	want := []float64{
		2/2.0 - 0.25 - 0.5,    // seen once, positive: divided
		-2*2.0 - 2*0.25 - 0.5, // seen twice, negative: multiplied
		1, 0.5, 3,             // not in the window
	}
	for i := range want {
		if math.Abs(c[i].logit-want[i]) > 1e-6 {
			t.Errorf("id %d: logit %v, want %v", i, c[i].logit, want[i])
		}
	}
	// The penalty changes the greedy choice: 3 (id 4) left the window, so
	// it still wins; penalise it and id 0 takes over.
	g := New(Params{RepeatPenalty: 10, RepeatLastN: 64})
	if id := g.Sample(base); id != 4 {
		t.Fatalf("greedy before penalty: %d", id)
	}
	g.Accept(4)
	if id := g.Sample(base); id != 0 {
		t.Errorf("greedy after penalising id 4: %d, want 0", id)
	}
	// RepeatLastN 0 disables the penalties.
	z := New(Params{RepeatPenalty: 10, RepeatLastN: 0})
	z.Accept(4)
	if id := z.Sample(base); id != 4 {
		t.Errorf("RepeatLastN 0 still penalised: %d", id)
	}
}

func TestSeeds(t *testing.T) {
	draw := func(seed uint64) []int32 {
		p := DefaultParams()
		p.Seed = seed
		s := New(p)
		var out []int32
		for range 200 {
			out = append(out, s.Sample(logits))
		}
		return out
	}
	a, b, c := draw(1), draw(1), draw(2)
	if !slices.Equal(a, b) {
		t.Error("same seed gave different sequences")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same 200 draws")
	}
	s := New(off(1, 9))
	first := s.Sample(logits)
	for range 50 {
		s.Sample(logits)
	}
	s.Reset()
	if s.Sample(logits) != first {
		t.Error("Reset did not restart the generator")
	}
}

func TestDefaultChain(t *testing.T) {
	// With llama.cpp's defaults a very unlikely token is never drawn
	// (min-p 0.05 and top-k 40), and the input is left untouched.
	lg := make([]float32, 100)
	for i := range lg {
		lg[i] = float32(-i) / 4
	}
	orig := slices.Clone(lg)
	s := New(DefaultParams())
	for range 5000 {
		// exp(-12/4) ≈ 0.0498 < 0.05 of the top: id 12 and above are cut.
		if id := s.Sample(lg); id >= 12 {
			t.Fatalf("drew id %d below the min-p floor", id)
		}
	}
	if !slices.Equal(lg, orig) {
		t.Error("Sample modified the logits")
	}
	// All logits -Inf: still a valid id.
	inf := []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}
	if id := New(off(1, 1)).Sample(inf); id != 0 {
		t.Errorf("all -Inf: got %d", id)
	}
	if id := New(off(1, 1)).Sample([]float32{0, float32(math.Inf(1))}); id != 1 {
		t.Errorf("+Inf logit: got %d", id)
	}
}

// TestValidate refuses parameters no sampler can use: a NaN temperature
// made every logit NaN and the "draw" returned token 0 over and over.
func TestValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	ok := []Params{{}, {Temperature: 0, TopP: 1, MinP: 1, TopK: 0, RepeatPenalty: 0, RepeatLastN: -1}, {Temperature: 100, PresencePenalty: -2}}
	for _, p := range ok {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		edit func(*Params)
	}{
		{"temperature", func(p *Params) { p.Temperature = nan }},
		{"temperature", func(p *Params) { p.Temperature = inf }},
		{"top_p", func(p *Params) { p.TopP = nan }},
		{"min_p", func(p *Params) { p.MinP = -inf }},
		{"repeat_penalty", func(p *Params) { p.RepeatPenalty = nan }},
		{"repeat_penalty", func(p *Params) { p.RepeatPenalty = -1 }},
		{"frequency_penalty", func(p *Params) { p.FrequencyPenalty = inf }},
		{"presence_penalty", func(p *Params) { p.PresencePenalty = nan }},
		{"repeat_last_n", func(p *Params) { p.RepeatLastN = -2 }},
	} {
		p := DefaultParams()
		tc.edit(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: %+v gave %v", tc.name, p, err)
		}
	}
}
