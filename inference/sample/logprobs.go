package sample

import (
	"cmp"
	"math"
	"slices"
)

// MaxTopLogprobs is the most alternatives Logprobs reports (OpenAI's limit).
const MaxTopLogprobs = 20

// logprobCut is the logit gap below the best allowed token past which
// Logprobs stops checking a constraint: such a token's share is below e^-40.
const logprobCut = 40

// Allower says whether a token may come next (a grammar constraint).
type Allower interface {
	Allows(id int32) bool
}

// TokenLogprob is a token and its natural-log probability.
type TokenLogprob struct {
	ID      int32
	Logprob float32
}

// Distribution is the distribution a sampler chooses one token from: the
// softmax of the logits after the penalties, before truncation and
// temperature, over the tokens a constraint allows. Under greedy decoding
// the chosen token is its most likely one.
type Distribution struct {
	cands []candidate // by id, penalised
	norm  float64     // log of the softmax's denominator
	top   []TokenLogprob
}

// Logprobs returns the distribution of the next token given logits (as
// Sample or SampleConstrained gets them) and c (nil: no constraint), with
// its top most likely tokens (best first, equal ones by lowest id; at most
// MaxTopLogprobs). Call it before the constraint advances; the result is
// valid until the next call. With a constraint, tokens are checked in
// order of likelihood until they fall e^-40 below the best allowed one,
// which leaves out nothing that counts.
func (s *Sampler) Logprobs(logits []float32, c Allower, top int) *Distribution {
	cands := s.penalised(s.lpCands[:0], logits)
	s.lpCands = cands
	order := append(s.lpOrder[:0], cands...)
	s.lpOrder = order
	slices.SortStableFunc(order, func(a, b candidate) int { return cmp.Compare(b.logit, a.logit) })
	d := &Distribution{cands: cands}
	top = min(max(top, 0), MaxTopLogprobs)
	best, sum := math.Inf(-1), 0.0
	for _, x := range order {
		if math.IsInf(x.logit, -1) || x.logit < best-logprobCut {
			break
		}
		if c != nil && !c.Allows(x.id) {
			continue
		}
		if math.IsInf(best, -1) {
			best = x.logit
		}
		sum += math.Exp(x.logit - best)
		if len(d.top) < top {
			d.top = append(d.top, TokenLogprob{ID: x.id})
		}
	}
	d.norm = best + math.Log(sum)
	for i := range d.top {
		d.top[i].Logprob = d.Logprob(d.top[i].ID)
	}
	return d
}

// Logprob is id's log-probability (-Inf for a token outside the vocabulary
// or below the constraint's cut).
func (d *Distribution) Logprob(id int32) float32 {
	if d == nil || id < 0 || int(id) >= len(d.cands) || math.IsInf(d.norm, 0) || math.IsNaN(d.norm) {
		return float32(math.Inf(-1))
	}
	return float32(d.cands[id].logit - d.norm)
}

// Top is the most likely tokens, best first.
func (d *Distribution) Top() []TokenLogprob {
	if d == nil {
		return nil
	}
	return d.top
}
