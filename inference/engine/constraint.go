package engine

import (
	"fmt"

	"inferenceruntime/inference/sample"
)

// Constraint restricts the tokens a generation may produce (a grammar:
// see package grammar). The engine tells it the token budget before each
// choice, so that it can insist on finishing in time.
type Constraint interface {
	sample.Constraint
	// SetBudget says that at most n more tokens may be generated, the next
	// one included.
	SetBudget(n int)
	// Accept advances past the chosen token.
	Accept(id int32) error
}

// pick chooses the next token: freely, or among those req.Constraint
// allows. generated is the number of tokens generated so far.
func (s *Sequence) pick(sampler *sample.Sampler, logits []float32, req Request, generated int) (int32, error) {
	c := req.Constraint
	if c == nil {
		return sampler.Sample(logits), nil
	}
	// The loop stops once the cache is full; the token sampled then is
	// the last, so one more than the room left fits.
	budget := s.ContextLength() - s.Len() + 1
	if req.MaxTokens > 0 {
		budget = min(budget, req.MaxTokens-generated)
	}
	c.SetBudget(budget)
	id := sampler.SampleConstrained(logits, c)
	if id < 0 {
		return -1, fmt.Errorf("engine: constrained output: no token can continue it within the %d tokens left (the grammar cannot be satisfied)", budget)
	}
	if err := c.Accept(id); err != nil {
		return -1, fmt.Errorf("engine: constrained output: %w", err)
	}
	return id, nil
}
