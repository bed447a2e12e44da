// Package sample picks the next token from a model's logits.
//
// A Sampler runs a fixed chain, the same order as llama.cpp's default chain:
//
//  1. penalties   repetition, frequency and presence penalties over the
//     last RepeatLastN accepted tokens
//  2. top-k       keep the TopK highest logits
//  3. top-p       keep the smallest set of tokens whose probability reaches TopP
//  4. min-p       drop tokens less likely than MinP times the most likely one
//  5. temperature divide the logits by Temperature
//  6. sample      draw from the softmax with a seeded generator
//
// Penalties come first because they change which tokens are likely at all.
// The truncations (top-k, top-p, min-p) see the model's own distribution, so
// "top 95%" means the same thing at every temperature; temperature then only
// reshapes the probabilities among the survivors. That is llama.cpp's
// behaviour, so the same settings give the same kind of text in both.
//
// Temperature <= 0 means greedy decoding: the highest (penalised) logit wins,
// and ties go to the lowest id. The generator is PCG seeded from Seed, so a
// sampler with the same Params and the same accepted history draws the same
// tokens on every run and platform.
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Params configures a Sampler. The zero value of a filter turns it off:
// TopK 0, TopP 0 or >= 1, MinP 0. Penalties are off at RepeatPenalty 1 (or
// 0), FrequencyPenalty 0 and PresencePenalty 0.
type Params struct {
	Temperature      float32 // <= 0: greedy
	TopP             float32 // nucleus mass to keep, in (0, 1)
	MinP             float32 // relative probability floor, in (0, 1]
	TopK             int     // number of candidates to keep
	RepeatPenalty    float32 // > 1 discourages repeats: positive logits divided, negative multiplied
	FrequencyPenalty float32 // subtracted once per earlier occurrence
	PresencePenalty  float32 // subtracted once if the token occurred at all
	RepeatLastN      int     // how many recent tokens the penalties look at; -1: all, 0: none
	Seed             uint64  // seeds the random generator
}

// Validate reports parameters no sampler can use: a number that is NaN or
// infinite (a NaN temperature turns every logit into NaN), a negative
// repetition penalty (it would raise repeated tokens) or a penalty window
// below -1. Values merely outside the usual ranges are allowed; they only
// switch a filter off or make it keep one token.
func (p Params) Validate() error {
	for _, f := range []struct {
		name string
		v    float32
	}{
		{"temperature", p.Temperature}, {"top_p", p.TopP}, {"min_p", p.MinP},
		{"repeat_penalty", p.RepeatPenalty}, {"frequency_penalty", p.FrequencyPenalty},
		{"presence_penalty", p.PresencePenalty},
	} {
		if math.IsNaN(float64(f.v)) || math.IsInf(float64(f.v), 0) {
			return fmt.Errorf("%s %v is not a finite number", f.name, f.v)
		}
	}
	if p.RepeatPenalty < 0 {
		return fmt.Errorf("repeat_penalty %v is negative (1 is off)", p.RepeatPenalty)
	}
	if p.RepeatLastN < -1 {
		return fmt.Errorf("repeat_last_n %d is below -1 (-1 means all tokens)", p.RepeatLastN)
	}
	return nil
}

// DefaultParams are llama.cpp's defaults: temperature 0.8, top-k 40,
// top-p 0.95, min-p 0.05, penalties off over a window of 64 tokens.
func DefaultParams() Params {
	return Params{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1,
		RepeatLastN:   64,
	}
}

// Sampler draws tokens from logits. It is not safe for concurrent use.
type Sampler struct {
	p       Params
	rng     *rand.Rand
	history []int32 // accepted tokens, at most RepeatLastN of them when that is >= 0
	cands   []candidate
	lpCands []candidate // Logprobs' own, so that it leaves Sample's alone
	lpOrder []candidate
}

type candidate struct {
	id    int32
	logit float64
	p     float64
}

// New returns a sampler for p.
func New(p Params) *Sampler {
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9E3779B97F4A7C15))}
}

// Params returns the sampler's settings.
func (s *Sampler) Params() Params { return s.p }

// Accept records a token that became part of the sequence (prompt tokens
// included, if they should count for the penalties).
func (s *Sampler) Accept(id int32) {
	n := s.p.RepeatLastN
	if n == 0 {
		return
	}
	s.history = append(s.history, id)
	if n > 0 && len(s.history) > n {
		s.history = append(s.history[:0], s.history[len(s.history)-n:]...)
	}
}

// Reset forgets the accepted tokens and reseeds the generator.
func (s *Sampler) Reset() {
	s.history = s.history[:0]
	s.rng = rand.New(rand.NewPCG(s.p.Seed, s.p.Seed^0x9E3779B97F4A7C15))
}

// Sample picks a token from logits (one per vocabulary entry; the slice is
// not modified). It returns -1 only when logits is empty. NaN logits count
// as impossible.
func (s *Sampler) Sample(logits []float32) int32 {
	if len(logits) == 0 {
		return -1
	}
	c := s.penalised(s.cands[:0], logits)
	s.cands = c
	if s.p.Temperature <= 0 {
		return argmax(c)
	}
	c = topK(c, s.p.TopK)
	c = topP(c, s.p.TopP)
	c = minP(c, s.p.MinP)
	for i := range c {
		c[i].logit /= float64(s.p.Temperature)
	}
	return s.draw(c)
}

// penalised fills c with logits, NaN as impossible and +Inf as the largest
// float (so that the softmax stays finite), then applies the penalties.
func (s *Sampler) penalised(c []candidate, logits []float32) []candidate {
	for i, l := range logits {
		x := float64(l)
		switch {
		case l != l:
			x = math.Inf(-1)
		case math.IsInf(x, 1):
			x = math.MaxFloat32
		}
		c = append(c, candidate{id: int32(i), logit: x})
	}
	s.applyPenalties(c)
	return c
}

// applyPenalties changes the logits of recently accepted tokens, as
// llama.cpp does: a positive logit is divided by RepeatPenalty and a negative
// one multiplied (so both move down), then count*FrequencyPenalty and
// PresencePenalty are subtracted.
func (s *Sampler) applyPenalties(c []candidate) {
	rep := s.p.RepeatPenalty
	if rep == 0 {
		rep = 1
	}
	if len(s.history) == 0 || (rep == 1 && s.p.FrequencyPenalty == 0 && s.p.PresencePenalty == 0) {
		return
	}
	counts := make(map[int32]int, len(s.history))
	for _, id := range s.history {
		counts[id]++
	}
	for id, n := range counts {
		if id < 0 || int(id) >= len(c) {
			continue
		}
		l := float32(c[id].logit) // c is still indexed by id here; float32 as in llama.cpp
		if l <= 0 {
			l *= rep
		} else {
			l /= rep
		}
		c[id].logit = float64(l - float32(n)*s.p.FrequencyPenalty - s.p.PresencePenalty)
	}
}

// argmax returns the id of the highest logit, the lowest id on ties.
func argmax(c []candidate) int32 {
	best := 0
	for i := range c {
		if c[i].logit > c[best].logit {
			best = i
		}
	}
	return c[best].id
}

// sortDesc orders candidates by logit, highest first, lowest id on ties.
func sortDesc(c []candidate) {
	slices.SortFunc(c, func(a, b candidate) int {
		switch {
		case a.logit > b.logit:
			return -1
		case a.logit < b.logit:
			return 1
		}
		return int(a.id - b.id)
	})
}

// topK keeps the k best candidates, sorted. k <= 0 keeps all, sorted.
func topK(c []candidate, k int) []candidate {
	sortDesc(c)
	if k > 0 && k < len(c) {
		c = c[:k]
	}
	return c
}

// softmax fills p for sorted candidates.
func softmax(c []candidate) {
	maxL := c[0].logit
	sum := 0.0
	for i := range c {
		c[i].p = math.Exp(c[i].logit - maxL)
		sum += c[i].p
	}
	for i := range c {
		c[i].p /= sum
	}
}

// topP keeps the shortest prefix of sorted candidates whose probability
// reaches p (at least one).
func topP(c []candidate, p float32) []candidate {
	if p <= 0 || p >= 1 || len(c) == 0 || math.IsInf(c[0].logit, -1) {
		return c
	}
	softmax(c)
	cum := 0.0
	for i := range c {
		cum += c[i].p
		if cum >= float64(p) {
			return c[:i+1]
		}
	}
	return c
}

// minP drops sorted candidates whose probability is below p times the top
// one's, i.e. whose logit is below max + ln p.
func minP(c []candidate, p float32) []candidate {
	if p <= 0 || len(c) == 0 {
		return c
	}
	floor := c[0].logit + math.Log(float64(p))
	for i := range c {
		if c[i].logit < floor {
			return c[:max(i, 1)]
		}
	}
	return c
}

// draw samples from the softmax of the candidates.
func (s *Sampler) draw(c []candidate) int32 {
	if math.IsInf(c[0].logit, -1) {
		return argmax(c) // nothing is possible: fall back to the lowest id
	}
	softmax(c)
	r := s.rng.Float64()
	cum := 0.0
	for i := range c {
		cum += c[i].p
		if r < cum {
			return c[i].id
		}
	}
	return c[len(c)-1].id // rounding left r just above the total
}
