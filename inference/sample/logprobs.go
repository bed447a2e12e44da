package sample

import "math"

// MaxTopLogprobs is the most alternatives Logprobs reports (OpenAI's limit).
const MaxTopLogprobs = 20

// TokenLogprob is a token and its natural-log probability.
type TokenLogprob struct {
	ID      int32
	Logprob float32
}

// Logprobs returns the log-probability of token id and the top most likely
// tokens (best first, equal ones by lowest id; at most MaxTopLogprobs) under
// the distribution this sampler chooses from: the softmax of logits after
// the penalties, before truncation and temperature. Under greedy decoding
// the chosen token is therefore the first of the top ones. logits are what
// Sample was given (after any constraint masked them); Logprobs reuses a
// buffer of its own, so call it after Sample and before the next Accept.
func (s *Sampler) Logprobs(logits []float32, id int32, top int) (float32, []TokenLogprob) {
	if len(logits) == 0 || id < 0 || int(id) >= len(logits) {
		return float32(math.Inf(-1)), nil
	}
	c := s.penalised(s.lpCands[:0], logits)
	s.lpCands = c
	best := math.Inf(-1)
	for i := range c {
		best = max(best, c[i].logit)
	}
	var sum float64
	for i := range c {
		sum += math.Exp(c[i].logit - best)
	}
	norm := best + math.Log(sum) // log of the softmax's denominator
	lp := func(i int) float32 { return float32(c[i].logit - norm) }
	top = min(max(top, 0), MaxTopLogprobs, len(c))
	// The top few by insertion: top is small and the vocabulary large.
	out := make([]TokenLogprob, 0, top)
	for i := range c {
		if top == 0 || (len(out) == top && c[i].logit <= c[out[top-1].ID].logit) {
			continue
		}
		j := len(out)
		if j < top {
			out = append(out, TokenLogprob{})
		} else {
			j--
		}
		for ; j > 0 && c[out[j-1].ID].logit < c[i].logit; j-- {
			out[j] = out[j-1]
		}
		out[j] = TokenLogprob{ID: c[i].id}
	}
	for k := range out {
		out[k].Logprob = lp(int(out[k].ID))
	}
	return lp(int(id)), out
}
