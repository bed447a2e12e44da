package engine

import (
	"context"
	"fmt"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/model"
)

// Hidden runs tokens through the model from position 0 as one batch and
// returns the final hidden states, n_embd floats per token. The cache is
// emptied first and again after: an encoder's tokens attend to each other
// in both directions, so an input is one graph and shares nothing with the
// next. Tokens that do not fit the context are an error; truncating them
// is the caller's choice.
func (s *Sequence) Hidden(ctx context.Context, tokens []int32) ([]float32, error) {
	cfg := s.m.Config()
	if len(tokens) == 0 {
		return nil, fmt.Errorf("engine: no tokens to embed")
	}
	if len(tokens) > s.cache.MaxLen() {
		return nil, fmt.Errorf("engine: %d tokens do not fit the context of %d", len(tokens), s.cache.MaxLen())
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= cfg.VocabSize {
			return nil, fmt.Errorf("engine: token %d at %d is outside the vocabulary of %d", t, i, cfg.VocabSize)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.Truncate(0)
	defer s.cache.Truncate(0)
	if err := s.cache.Reserve(len(tokens)); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	pos := make([]int32, len(tokens))
	for i := range pos {
		pos[i] = int32(i)
	}
	g := compute.NewGraph()
	hidden, err := model.Embed(s.m, g, model.Batch{Tokens: tokens, Positions: pos}, s.cache)
	if err != nil {
		return nil, fmt.Errorf("engine: building the graph: %w", err)
	}
	if err := s.be.Compute(g); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	out := make([]float32, hidden.Shape().Elements())
	if err := s.be.Read(hidden, out); err != nil {
		return nil, fmt.Errorf("engine: reading hidden states: %w", err)
	}
	return out, nil
}
