package sample

import "math"

// Constraint limits which tokens may come next (a grammar, say).
type Constraint interface {
	// Quick is a cheap necessary condition: false means Allows is false.
	Quick(id int32) bool
	// Allows reports whether id may come next.
	Allows(id int32) bool
}

// negligible is the logit gap, after temperature, past which a token's
// share of the probability is below e^-40: the walk of candidates stops
// there instead of checking the rest of the vocabulary.
const negligible = 40

// SampleConstrained picks a token the constraint allows, as if the
// disallowed ones had been removed before the chain ran (llama.cpp's
// grammar sampler), without checking the whole vocabulary each step:
// candidates are visited in probability order and only as many are checked
// as the chain can keep (the best one when greedy, TopK, those above the
// MinP floor). It returns -1 when no token is allowed.
func (s *Sampler) SampleConstrained(logits []float32, c Constraint) int32 {
	if len(logits) == 0 {
		return -1
	}
	cands := s.penalised(s.cands[:0], logits)
	s.cands = cands
	if s.p.Temperature <= 0 {
		// The favourite usually fits; the full order is needed only when not.
		if id := argmax(cands); c.Quick(id) && c.Allows(id) {
			return id
		}
	}
	quick := cands[:0]
	for _, x := range cands {
		if c.Quick(x.id) && !math.IsInf(x.logit, -1) {
			quick = append(quick, x)
		}
	}
	sortDesc(quick)
	kept := quick[:0] // overwrites entries already visited
	floor := math.Inf(-1)
	temp := float64(max(s.p.Temperature, 1e-6))
	for _, x := range quick {
		if len(kept) > 0 && (x.logit < floor || (kept[0].logit-x.logit)/temp > negligible) {
			break
		}
		if !c.Allows(x.id) {
			continue
		}
		kept = append(kept, x)
		if s.p.Temperature <= 0 || s.p.TopK > 0 && len(kept) == s.p.TopK {
			break
		}
		if len(kept) == 1 && s.p.MinP > 0 {
			floor = x.logit + math.Log(float64(s.p.MinP))
		}
	}
	if len(kept) == 0 {
		return -1
	}
	if s.p.Temperature <= 0 {
		return kept[0].id
	}
	kept = topP(kept, s.p.TopP)
	kept = minP(kept, s.p.MinP)
	for i := range kept {
		kept[i].logit /= temp
	}
	return s.draw(kept)
}
